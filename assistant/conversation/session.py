"""A conversation session: every front end (chat, Slack, tests) asks through one.

One `ask` resolves a follow-up against the earlier turns, answers it, and records the
turn, so those steps are written once and behave the same everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from assistant.answering.draft import is_refusal
from assistant.conversation.resolve import Conversation, Turn, terms
from assistant.engine import Engine
from assistant.llm.drafter import LlmError, OnStage, OnToken
from assistant.trace import Rewrite


class Session:
    """One conversation over one engine: a terminal chat, a Slack thread, a DM."""

    def __init__(self, engine: Engine, spaces: Sequence[str] | None = None):
        self.engine = engine
        self.spaces = None if spaces is None else list(spaces)  # what this conversation may search
        self.conversation = Conversation()
        # Turns of one conversation are answered in order, even when asked from several threads.
        self._lock = threading.Lock()

    @property
    def last(self) -> Turn | None:
        """The latest recorded turn, if any."""
        return self.conversation.turns[-1] if self.conversation.turns else None

    def ask(
        self,
        question: str,
        *,
        on_token: OnToken | None = None,
        cancelled: threading.Event | None = None,
        on_stage: OnStage | None = None,
        k: int | None = None,
    ) -> Turn:
        """Resolve `question` against the conversation, answer it, and record the turn,
        unless `cancelled` was set meanwhile (the asker gave up, so it isn't part of the conversation)."""
        with self._lock:
            resolved = self.conversation.resolve(question)
            rewrite = self._rewrite(question) if self.engine.rewriter and self.conversation.turns else None
            if rewrite and rewrite.accepted:
                resolved = replace(resolved, rewrite=rewrite.text)
            answer = self.engine.answer(
                question,
                query=resolved.query,
                understood=resolved.understood,
                queries=(resolved.rewrite,) if resolved.rewrite else (),
                exclude=resolved.exclude,
                on_token=on_token,
                spaces=self.spaces,
                on_stage=on_stage,
                k=k,
            )
            if rewrite:
                answer = replace(answer, trace=replace(answer.trace, rewrite=rewrite))
            turn = Turn(resolved, answer)
            if cancelled is None or not cancelled.is_set():
                self.conversation.add(turn)
            return turn

    def fork(self) -> Session:
        """A session with this one's conversation so far, free of any answer still running here
        (a cancelled one finishes on its own and is not recorded)."""
        other = Session(self.engine, self.spaces)
        other.conversation.turns = list(self.conversation.turns)
        return other

    def _rewrite(self, question: str) -> Rewrite:
        """The LLM's standalone version of a follow-up, checked before it is used: what it
        said, whether it was accepted, and why not. A failure leaves the rules alone."""
        rewriter = self.engine.rewriter
        if rewriter is None:
            raise RuntimeError("_rewrite needs an LLM rewriter")
        history = [(t.resolved.question, t.answer.text) for t in self.conversation.turns]
        try:
            text = rewriter.rewrite(history, question)
        except LlmError as exc:
            return Rewrite("", False, str(exc))
        why = rewrite_problem(question, text, history)
        return Rewrite(text.strip(), not why, why)

    def reset(self) -> None:
        """Forget the conversation."""
        with self._lock:
            self.conversation.reset()


MAX_REWRITE_CHARS = 300


def rewrite_problem(question: str, rewrite: str, history: list[tuple[str, str]]) -> str:
    """Why a model's rewrite can't be used ("" if it can): it must be one short question that
    keeps to the conversation's words, not an answer, a refusal or an invention."""
    text = rewrite.strip()
    if not text:
        return "empty"
    if len(text) > MAX_REWRITE_CHARS or "\n" in text:
        return "not one short question"
    if is_refusal(text):
        return "a refusal, not a question"
    said = set(terms(question + " " + " ".join(f"{q} {a}" for q, a in history)))
    own = terms(text)
    if own and not any(t in said for t in own):
        return "shares no word with the conversation"
    return ""
