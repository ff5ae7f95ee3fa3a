"""Slack conversations as the state store keeps them: a thread is one, a DM or `/ask` one per
person there. Each keeps the visibility of where it started; any replica can answer its next
question from what is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.conversation.resolve import Turn
from assistant.conversation.session import Session
from assistant.engine import Engine
from assistant.llm.drafter import OnStage, OnToken
from bots import access
from bots.state import Job, State


def conversation_key(payload: dict[str, Any]) -> tuple[str, str]:
    """Whose conversation a question belongs to: its thread's, or (no thread: a DM, `/ask`) its
    asker's in that channel."""
    thread = payload.get("thread_ts")
    return payload["channel"], thread or f"user:{payload.get('user', '')}"


class Conversations:
    """Answers a question in its stored conversation and stores the turn."""

    def __init__(self, engine: Engine, state: State):
        self.engine = engine
        self.state = state

    def visible(self, channel: str, user: str, direct: bool) -> list[str] | None:
        """The spaces a question asked here may search (None: the one corpus, no spaces file)."""
        if not self.engine.named:
            return None
        return access.visible(self.engine.spaces, channel=channel, user=user, direct=direct)

    def visible_for(self, payload: dict[str, Any]) -> list[str] | None:
        """The spaces the payload's question may search, from where and by whom it was asked."""
        return self.visible(payload["channel"], payload.get("user", ""), payload.get("direct", False))

    def follows(self, channel: str, thread_ts: str) -> bool:
        """The bot answers in this thread."""
        return self.state.follows(channel, thread_ts)

    def converse(
        self,
        payload: dict[str, Any],
        on_token: OnToken | None = None,
        on_stage: OnStage | None = None,
        on_first: Callable[[], None] | None = None,
    ) -> tuple[Turn, list[str] | None]:
        """Answer the payload's question in its conversation, as stored (another replica may have
        answered its last turn); the conversation keeps the visibility of where it started.
        `on_first` runs before answering a conversation's first question.
        Call it holding the conversation's lock, and `finish` before letting go."""
        stored = self.state.conversation(*conversation_key(payload))
        session = Session(self.engine, stored[0] if stored else self.visible_for(payload))
        session.conversation.turns = [Turn.from_json(t) for t in stored[1]] if stored else []
        if on_first and not session.conversation.turns:
            on_first()
        return session.ask(payload["question"], on_token=on_token, on_stage=on_stage), session.spaces

    def finish(self, job: Job, turn: Turn | None = None, spaces: list[str] | None = None, key: str = "") -> None:
        """The question is answered (or answering failed): its turn joins the conversation and the
        answer is kept for the feedback buttons."""
        payload = job.payload
        answer = (key, {**turn.answer.to_json(), "spaces": spaces}) if turn and key else None
        self.state.finish(
            job.id,
            conversation=conversation_key(payload),
            spaces=spaces,
            turn=turn.to_json() if turn else None,
            answer=answer,
            channel=payload["channel"],
            user=payload.get("user", ""),
        )
