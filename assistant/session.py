"""A conversation session: every front end (chat, Slack, tests) asks through one.

One `ask` resolves a follow-up against the earlier turns, answers it, and records the
turn, so those steps are written once and behave the same everywhere.
"""

from __future__ import annotations

import threading

from assistant.conversation import Conversation, Turn
from assistant.engine import Engine
from assistant.llm import OnToken


class Session:
    """One conversation over one engine: a terminal chat, a Slack thread, a DM."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.conversation = Conversation()
        # Turns of one conversation are answered in order, even when asked from several threads.
        self._lock = threading.Lock()

    @property
    def last(self) -> Turn | None:
        """The latest recorded turn, if any."""
        return self.conversation.turns[-1] if self.conversation.turns else None

    def ask(self, question: str, *, on_token: OnToken | None = None, cancelled: threading.Event | None = None) -> Turn:
        """Resolve `question` against the conversation, answer it, and record the turn,
        unless `cancelled` was set meanwhile (the asker gave up, so it isn't part of the conversation)."""
        with self._lock:
            resolved = self.conversation.resolve(question)
            answer = self.engine.answer(question, query=resolved.query, exclude=resolved.exclude, on_token=on_token)
            turn = Turn(resolved, answer)
            if cancelled is None or not cancelled.is_set():
                self.conversation.add(turn)
            return turn

    def reset(self) -> None:
        """Forget the conversation."""
        with self._lock:
            self.conversation.reset()
