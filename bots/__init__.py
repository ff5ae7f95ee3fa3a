"""Front ends that render an Answer: the terminal chat and the Slack app."""
