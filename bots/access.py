"""Who may ask which space: the spaces file's `slack_channels` and `slack_users`, applied where
a question was asked, and `api_users` for the HTTP API and MCP. The engine searches only the
spaces a front end names."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.spaces import EVERYWHERE, Space


def visible(spaces: Sequence[Space], *, channel: str, user: str, direct: bool) -> list[str]:
    """Names of the spaces a Slack question may search: in a DM by its user, else in its channel."""
    return [s.name for s in spaces if (in_dm(s, user) if direct else in_channel(s, channel))]


def visible_to_api_user(spaces: Sequence[Space], user: str) -> list[str]:
    """Names of the spaces an HTTP API or MCP caller (a token's user) may search."""
    return [s.name for s in spaces if EVERYWHERE in s.api_users or user in s.api_users]


def in_channel(space: Space, channel: str) -> bool:
    return EVERYWHERE in space.slack_channels or channel in space.slack_channels


def in_dm(space: Space, user: str) -> bool:
    return EVERYWHERE in space.slack_channels or user in space.slack_users


def where(space: Space) -> str:
    """Where it may be asked, for `assistant spaces`."""
    if EVERYWHERE in space.slack_channels:
        return "everywhere"
    parts = [f"channels {', '.join(space.slack_channels)}"] if space.slack_channels else []
    parts += [f"DMs of {', '.join(space.slack_users)}"] if space.slack_users else []
    return "; ".join(parts) or "nowhere in Slack (command line only)"
