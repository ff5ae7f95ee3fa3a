"""How an answer reaches the asker: posted once (extractive), streamed natively where Slack
allows it (only the verified answer: a stream can't take text back), or written into a
placeholder that shows the draft at most once a second; `/ask` answers at its response URL.
Whatever goes wrong, the asker gets a reply saying so and no progress marks stay behind."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from assistant.engine import Engine
from bots.slack.blocks import answer_message, draft_text, escape
from bots.slack.conversations import Conversations
from bots.slack.jobs import Jobs
from bots.slack.panel import set_title
from bots.slack.stream import Progress, finish_stream, quietly, start_stream, stop_stream
from bots.state import Job
from index.errors import one_line

log = logging.getLogger(__name__)
STREAM_INTERVAL = 1.0  # seconds between chat.update calls while a draft streams
READING = "_Reading the documents…_"  # the placeholder a streamed answer is written into
STREAM_MARK = "stream:"  # a job's placeholder that is a natively streamed message


class Pacer:
    """At most one message per `interval` seconds per channel, as Slack asks of bots."""

    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = interval
        self._clock, self._sleep = clock, sleep
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        """Block until this channel's next slot, and claim it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._last.get(channel, -self.interval) + self.interval)
            self._last[channel] = start
        if start > now:
            self._sleep(start - now)


class Delivery:
    """Answers a job where it was asked."""

    def __init__(self, engine: Engine, conversations: Conversations, jobs: Jobs):
        self.engine = engine
        self.conversations = conversations
        self.jobs = jobs
        self.pacer = Pacer()

    def reply(self, client: Any, job: Job) -> None:
        """Answer and post into the channel (in the thread if any), showing progress meanwhile."""
        p = job.payload
        channel, thread_ts = p["channel"], p.get("thread_ts")
        progress = Progress(client, channel, thread_ts, p.get("message_ts"), bool(p.get("assistant")))
        progress.start()
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        # A replica that died mid-answer may have posted a placeholder or opened a stream: use it.
        placeholder = (job.placeholder or "").removeprefix(STREAM_MARK) or None
        streamed = bool(job.placeholder and job.placeholder.startswith(STREAM_MARK))
        try:
            # An assistant thread is titled after its first question.
            title = partial(set_title, client, p) if p.get("assistant") else None
            key = secrets.token_hex(8)
            context_actions = bool(p.get("assistant"))  # Slack's own feedback buttons, in its AI app surfaces
            if not self.engine.generative and not placeholder:
                turn, visible = self.conversations.converse(p, on_stage=progress.stage, on_first=title)
                text, blocks = answer_message(turn.answer, key, self.engine.link, context_actions=context_actions)
                if not self.jobs.still_mine(job):
                    return
                self.pacer.wait(channel)
                client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False, **kwargs
                )
                self.conversations.finish(job, turn, visible, key)
                return
            # Generative. Natively streamed where Slack allows it: only the verified answer is
            # streamed (a stream can't take text back). Elsewhere a placeholder shows the draft
            # at most once a second, then the verified answer replaces it.
            if not placeholder and thread_ts:
                placeholder = start_stream(client, channel, thread_ts, p.get("team", ""), p.get("user", ""))
                streamed = placeholder is not None
            if not placeholder:
                self.pacer.wait(channel)
                placeholder = client.chat_postMessage(channel=channel, text=READING, **kwargs)["ts"]
            self.jobs.state.set_placeholder(job.id, (STREAM_MARK if streamed else "") + placeholder)
            ts = placeholder
            draft: list[str] = []
            last = [time.monotonic()]

            def on_token(token: str) -> None:
                draft.append(token)
                if not streamed and time.monotonic() - last[0] >= STREAM_INTERVAL:
                    last[0] = time.monotonic()
                    quietly(client.chat_update, channel=channel, ts=ts, text=draft_text("".join(draft)))

            turn, visible = self.conversations.converse(p, on_token, on_stage=progress.stage, on_first=title)
            if not self.jobs.still_mine(job):
                return

            def edit() -> None:
                text, blocks = answer_message(
                    turn.answer, key, self.engine.link, context_actions=streamed or context_actions
                )
                client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

            if streamed:
                try:
                    finish_stream(client, channel, ts, turn.answer, key, self.engine.link)
                except Exception as exc:  # noqa: BLE001 - the stream broke off: the answer goes in by an edit
                    log.warning("streaming the answer in %s failed (%s); editing it in", channel, exc)
                    edit()
            else:
                edit()
            self.conversations.finish(job, turn, visible, key)
        except Exception as exc:
            log.exception("answering in %s failed", channel)
            if not (streamed and placeholder and stop_stream(client, channel, placeholder, failure_text(exc))):
                self._apologise(client, channel, kwargs, placeholder, exc)
            quietly(self.conversations.finish, job=job)
        finally:
            progress.done()

    def respond(self, job: Job) -> None:
        """`/ask`: the answer goes to the command's response_url, for the whole channel to see."""
        from slack_sdk.webhook import WebhookClient

        try:
            key = secrets.token_hex(8)
            turn, visible = self.conversations.converse(job.payload)
            text, blocks = answer_message(turn.answer, key)
            if not self.jobs.still_mine(job):
                return
        except Exception as exc:
            log.exception("/ask failed")
            text, blocks, turn = failure_text(exc), [], None
        webhook = WebhookClient(job.payload["response_url"])
        try:
            webhook.send(text=text, blocks=blocks, response_type="in_channel", replace_original=False)
        finally:
            if turn is not None:
                self.conversations.finish(job, turn, visible, key)
            else:
                quietly(self.conversations.finish, job=job)

    def _apologise(
        self, client: Any, channel: str, kwargs: dict[str, Any], placeholder: str | None, exc: Exception
    ) -> None:
        """The one-line reason where the question was asked, in place of the placeholder if there is one."""
        text = failure_text(exc)
        try:
            if placeholder:
                client.chat_update(channel=channel, ts=placeholder, text=text, blocks=[])
            else:
                client.chat_postMessage(channel=channel, text=text, **kwargs)
        except Exception as again:  # noqa: BLE001 - Slack itself is failing; the log is all that is left
            log.warning("could not tell %s that answering failed: %s", channel, again)
            if placeholder:
                quietly(client.chat_delete, channel=channel, ts=placeholder)


def failure_text(exc: BaseException) -> str:
    """What the asker reads when answering failed."""
    return f":warning: I couldn't answer that: {escape(one_line(exc))}"
