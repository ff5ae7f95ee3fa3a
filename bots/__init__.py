"""Front ends that render an Answer: the `assistant` command, the terminal chat and the Slack app."""
