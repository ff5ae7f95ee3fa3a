"""How a reply shows itself while it is made: the assistant thread's status line (or a ⏳
reaction elsewhere), and Slack's native streaming of the verified answer.

A streamed message can only grow (`chat.stopStream` appends; it can't take text back), so
only the verified answer is streamed: while the model drafts and its citations are checked,
the status says so, and the draft itself is never shown.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.links import Linker
from assistant.types import Answer
from bots.slack.blocks import answer_markdown, answer_tail, stream_pieces

log = logging.getLogger(__name__)
PROGRESS_REACTION = "hourglass_flowing_sand"
STATUS = {
    "searching": "Searching the documents…",
    "writing": "Writing an answer…",
    "checking": "Checking citations…",
}


class Progress:
    """Shows that a question is being answered, and clears that when it is."""

    def __init__(self, client: Any, channel: str, thread_ts: str | None, message_ts: str | None, assistant: bool):
        self.client, self.channel, self.thread_ts, self.message_ts = client, channel, thread_ts, message_ts
        self.assistant = assistant and thread_ts is not None

    def start(self) -> None:
        if self.assistant:
            self.stage("searching")
        elif self.message_ts:
            quietly(self.client.reactions_add, channel=self.channel, timestamp=self.message_ts, name=PROGRESS_REACTION)

    def stage(self, stage: str) -> None:
        """The assistant thread's status line for this stage ("searching", "writing", "checking")."""
        if self.assistant:
            status = STATUS.get(stage, stage)
            quietly(
                self.client.assistant_threads_setStatus,
                channel_id=self.channel,
                thread_ts=self.thread_ts,
                status=status,
            )

    def done(self) -> None:
        if self.assistant:
            quietly(
                self.client.assistant_threads_setStatus, channel_id=self.channel, thread_ts=self.thread_ts, status=""
            )
        elif self.message_ts:
            quietly(
                self.client.reactions_remove, channel=self.channel, timestamp=self.message_ts, name=PROGRESS_REACTION
            )


def start_stream(client: Any, channel: str, thread_ts: str, team: str, user: str) -> str | None:
    """Open a natively streamed reply in the thread; None where the workspace won't (then the
    caller posts a placeholder and edits it, as before)."""
    from slack_sdk.errors import SlackApiError

    recipient = {"recipient_team_id": team, "recipient_user_id": user} if team and user else {}
    try:
        ts = client.chat_startStream(channel=channel, thread_ts=thread_ts, **recipient).get("ts")
    except SlackApiError as exc:
        log.info(
            "native streaming refused in %s (%s); editing a placeholder instead", channel, exc.response.get("error")
        )
        return None
    return str(ts) if ts else None


def finish_stream(client: Any, channel: str, ts: str, answer: Answer, feedback_value: str, link: Linker | None) -> None:
    """Stream the verified answer's text into the reply, then stop it with the sources, notes and
    feedback buttons under it."""
    pieces = stream_pieces(answer_markdown(answer))
    for piece in pieces[:-1]:
        client.chat_appendStream(channel=channel, ts=ts, markdown_text=piece)
    tail = answer_tail(answer, feedback_value, link, context_actions=True)
    client.chat_stopStream(channel=channel, ts=ts, markdown_text=pieces[-1], blocks=tail)


def stop_stream(client: Any, channel: str, ts: str, text: str) -> bool:
    """End a natively streamed reply with `text` (why answering failed); False if Slack won't."""
    try:
        client.chat_stopStream(channel=channel, ts=ts, markdown_text=text)
        return True
    except Exception as exc:  # noqa: BLE001 - the caller edits the message instead
        log.info("could not end the stream in %s: %s", channel, exc)
        return False


def quietly(call: Any, **kwargs: Any) -> None:
    """A call whose failure can only be logged (a progress mark, a last word, a record)."""
    try:
        call(**kwargs)
    except Exception as exc:  # noqa: BLE001 - nothing more can be done about it here
        log.info("%s failed: %s", getattr(call, "__name__", call), exc)
