"""Slack's assistant panel: a greeting with suggested prompts when a thread opens, and the
thread titled after its first question."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from assistant.engine import Engine
from bots.slack.stream import quietly
from index.text import short

TITLE_CHARS = 80  # an assistant thread's title: its first question, shortened
GREETING = "Hi! Ask me anything about the documents; every answer quotes the passages it comes from."


def suggested_prompts(engine: Engine, user: str, visible: Callable[[str, str, bool], list[str] | None]) -> list[str]:
    """Questions to suggest when an assistant thread opens, for lack of configured ones: one
    per space this user may ask in a DM, else one per document (by its title)."""
    if engine.named:
        spaces = visible("", user, True) or []
        return [f"What do the {name} documents cover?" for name in spaces][:4]
    titles = [title_of(source) for source in sorted(engine.index.store.files())][:3]
    return [f"What is “{t}” about?" for t in titles if t]


def prompt_options(questions: list[str]) -> list[dict[str, str]]:
    """Suggested prompts as `set_suggested_prompts` takes them (at most four)."""
    return [{"title": short(q, 75), "message": q} for q in questions[:4]]


def set_title(client: Any, payload: dict[str, Any]) -> None:
    title = short(payload["question"], TITLE_CHARS) or "Question"
    quietly(
        client.assistant_threads_setTitle, channel_id=payload["channel"], thread_ts=payload["thread_ts"], title=title
    )


def title_of(source: str) -> str:
    """A file's name as a title: "leave-policy.md" → "Leave policy"."""
    stem = re.sub(r"[-_]+", " ", source.rsplit("/", 1)[-1].rsplit(".", 1)[0]).strip()
    return stem[:1].upper() + stem[1:]
