"""The Slack side of answering, put together: jobs (exactly once, leases), conversations (as
stored), delivery (posted, streamed, or at a response URL). Whatever must outlive this
process, or be seen by the other replicas, is in the state store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.conversation.resolve import Turn
from assistant.engine import Engine
from assistant.llm.drafter import OnStage, OnToken
from bots.slack.conversations import Conversations, conversation_key
from bots.slack.delivery import Delivery
from bots.slack.jobs import Jobs, KeyedLocks
from bots.slack.panel import suggested_prompts
from bots.state import Job, State


class Responder:
    """Answers questions from Slack, several at once; one conversation's questions in order."""

    def __init__(self, engine: Engine, state: State, *, lease: float = 15.0, owner: str = ""):
        self.engine = engine
        self.state = state
        self.jobs = Jobs(state, lease=lease, owner=owner)
        self.conversations = Conversations(engine, state)
        self.delivery = Delivery(engine, self.conversations, self.jobs)
        self.locks = KeyedLocks()

    def accept(self, keys: list[str], payload: dict[str, Any], *, follow: bool = False) -> Job | None:
        """The question as this replica's pending work, exactly once; a thread is followed from
        now on (`follow`), searching what may be seen where it started."""
        if not follow:
            return self.jobs.accept(keys, payload)
        return self.jobs.accept(
            keys, payload, conversation=conversation_key(payload), spaces=self.conversations.visible_for(payload)
        )

    def work(self, job: Job, client: Any) -> None:
        """Answer one accepted question where it was asked; the lease is renewed meanwhile."""
        self.jobs.hold(job.id)
        try:
            with self.locks.hold(conversation_key(job.payload)):
                if job.payload.get("response_url"):
                    self.delivery.respond(job)
                else:
                    self.delivery.reply(client, job)
        finally:
            self.jobs.release(job.id)

    def converse(
        self,
        payload: dict[str, Any],
        on_token: OnToken | None = None,
        on_stage: OnStage | None = None,
        on_first: Callable[[], None] | None = None,
    ) -> tuple[Turn, list[str] | None]:
        """See `Conversations.converse`."""
        return self.conversations.converse(payload, on_token, on_stage, on_first)

    def finish(self, job: Job, turn: Turn | None = None, spaces: list[str] | None = None, key: str = "") -> None:
        """See `Conversations.finish`."""
        self.conversations.finish(job, turn, spaces, key)

    def suggested_prompts(self, user: str) -> list[str]:
        return suggested_prompts(self.engine, user, self.conversations.visible)

    def record_feedback(self, key: str, value: str, user: str, message_text: str) -> None:
        """One click, in the state store beside the answer it is about."""
        self.state.record_feedback(key, value, user, message_text)
