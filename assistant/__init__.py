"""The answer engine: cited answers over a corpus index, and the `assistant` command."""
