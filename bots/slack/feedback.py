"""The 👍 and 👎 under an answer: Slack's feedback buttons in its AI surfaces (value "up:KEY"),
or classic buttons elsewhere (action id "feedback_up", value KEY)."""

from __future__ import annotations

import re
from typing import Any

ACTION = re.compile(r"^feedback(_up|_down)?$")


def clicked(action: dict[str, Any]) -> tuple[str, str]:
    """(value, answer key) of a click on either kind of button."""
    if action["action_id"] == "feedback":
        value, _, key = action.get("value", "").partition(":")
        return value, key
    return action["action_id"].removeprefix("feedback_"), action.get("value", "")
