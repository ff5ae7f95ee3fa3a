"""Front ends that render an Answer: the `assistant` command, the terminal chat, the Slack app,
the HTTP API and MCP."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed


def version() -> str:
    """Our package's version, as `--version`, the API and MCP's serverInfo report it."""
    try:
        return _installed("cited-assistant")
    except PackageNotFoundError:
        return "unknown (not installed)"
