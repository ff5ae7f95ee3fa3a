"""Event handling: which Slack deliveries get an answer, exactly once, and where it goes."""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant import spaces
from assistant.engine import Engine
from assistant.llm import OnToken
from assistant.session import Session
from assistant.types import Answer
from bots.slack.blocks import answer_message, draft_text, escape
from index.errors import one_line

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
EMOJI = re.compile(r":[a-z0-9_+'-]+:")  # Slack's :shortcodes:, which aren't words of a question
# Message subtypes that are a person saying something; edits, deletions, joins… are not.
ANSWERABLE_SUBTYPES = {None, "thread_broadcast", "file_share"}
PROGRESS_REACTION = "hourglass_flowing_sand"
STREAM_INTERVAL = 1.0  # seconds between chat.update calls while a draft streams


class Seen:
    """A bounded set of keys seen recently, for exactly-once handling of redelivered events."""

    def __init__(self, size: int = 10_000):
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        """True the first time `key` is offered, False ever after (while remembered)."""
        with self._lock:
            if key in self._keys:
                return False
            self._keys[key] = None
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)
            return True


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


class Responder:
    """Answers questions from Slack, several at once; each conversation (a thread, a DM, one
    person's `/ask` in a channel) keeps its own order in its session."""

    def __init__(self, engine: Engine, feedback_log: Path, threads: int = 1000):
        self.engine = engine
        self.feedback_log = feedback_log
        self.seen = Seen()
        self.pacer = Pacer()
        self._sessions: OrderedDict[tuple[str, str], Session] = OrderedDict()
        self._max_sessions = threads
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()  # feedback key -> what was answered
        self._lock = threading.Lock()  # guards the two maps above, never held while answering

    def knows_thread(self, channel: str, thread_ts: str) -> bool:
        return (channel, thread_ts) in self._sessions

    def visible(self, channel: str, user: str, direct: bool) -> list[str] | None:
        """The spaces a question asked here may search (None: the one corpus, no spaces file)."""
        if not self.engine.named:
            return None
        return spaces.visible(self.engine.spaces, channel=channel, user=user, direct=direct)

    def session(self, key: tuple[str, str], visible: list[str] | None = None) -> Session:
        """The conversation for `key`, most recently used last; the oldest are forgotten. It keeps
        the visibility of where it started, so a thread's follow-ups search what its channel may."""
        with self._lock:
            session = self._sessions.pop(key, None) or Session(self.engine, visible)
            self._sessions[key] = session
            while len(self._sessions) > self._max_sessions:
                self._sessions.popitem(last=False)
            return session

    def answer(
        self,
        question: str,
        channel: str,
        thread_ts: str | None,
        on_token: OnToken | None = None,
        *,
        user: str = "",
        direct: bool = False,
    ) -> tuple[Answer, str]:
        """Answer `question` in its conversation: the thread's, or (no thread) the user's in this
        channel, searching only the spaces visible there; returns the answer and its feedback key."""
        key = (channel, thread_ts) if thread_ts else (channel, f"user:{user}")
        visible = self.visible(channel, user, direct)
        session = self.session(key, visible)
        answer = session.ask(question, on_token=on_token).answer
        feedback_key = secrets.token_hex(8)
        with self._lock:
            self._answers[feedback_key] = {**answer.to_json(), "spaces": session.spaces}
            while len(self._answers) > 10_000:
                self._answers.popitem(last=False)
        return answer, feedback_key

    def reply(
        self,
        client: Any,
        question: str,
        channel: str,
        thread_ts: str | None,
        message_ts: str | None,
        user: str = "",
        direct: bool = False,
    ) -> None:
        """Answer and post into `channel` (in `thread_ts` if given), showing progress on the question.
        Whatever goes wrong, the asker gets a reply saying so and no progress marks stay behind."""
        if message_ts:
            _quietly(client.reactions_add, channel=channel, timestamp=message_ts, name=PROGRESS_REACTION)
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        placeholder: str | None = None
        try:
            if not self.engine.generative:
                answer, key = self.answer(question, channel, thread_ts, user=user, direct=direct)
                text, blocks = answer_message(answer, key)
                self.pacer.wait(channel)
                client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False, **kwargs
                )
                return
            # Generative: post a placeholder, stream the draft into it at most once a second,
            # then replace it with the verified answer.
            self.pacer.wait(channel)
            placeholder = client.chat_postMessage(channel=channel, text="_Reading the documents…_", **kwargs)["ts"]
            ts = placeholder
            draft: list[str] = []
            last = [time.monotonic()]

            def on_token(token: str) -> None:
                draft.append(token)
                if time.monotonic() - last[0] >= STREAM_INTERVAL:
                    last[0] = time.monotonic()
                    _quietly(client.chat_update, channel=channel, ts=ts, text=draft_text("".join(draft)))

            answer, key = self.answer(question, channel, thread_ts, on_token, user=user, direct=direct)
            text, blocks = answer_message(answer, key)
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except Exception as exc:
            log.exception("answering in %s failed", channel)
            self._apologise(client, channel, kwargs, placeholder, exc)
        finally:
            if message_ts:
                _quietly(client.reactions_remove, channel=channel, timestamp=message_ts, name=PROGRESS_REACTION)

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
                _quietly(client.chat_delete, channel=channel, ts=placeholder)

    def record_feedback(self, key: str, value: str, user: str, message_text: str) -> None:
        """Append one click to the feedback log (JSONL in the data directory)."""
        answered = self._answers.get(key, {})
        record = {
            "time": time.time(),
            "user": user,
            "value": value,
            "question": answered.get("question"),
            "answer": answered.get("answer", message_text),
            "citations": answered.get("citations", []),
            "spaces": answered.get("spaces"),
        }
        self.feedback_log.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.feedback_log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def register(app: Any, responder: Responder) -> None:
    """Attach the listeners: mentions, messages (DMs and followed threads), /ask, feedback."""

    @app.middleware
    def once_per_event(body, next, logger):
        # Retries (X-Slack-Retry-Num) carry the same event_id: answer 200 and do nothing.
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not responder.seen.first(f"event:{event_id}"):
            from slack_bolt import BoltResponse

            return BoltResponse(status=200, body="")
        return next()

    @app.event("app_mention")
    def on_mention(event, client, context):
        if _from_a_bot(event, context):
            return
        if not responder.seen.first(f"msg:{event['channel']}:{event['ts']}"):
            return  # the `message` event for the same post got here first
        question = _question(event.get("text", ""))
        thread_ts = event.get("thread_ts") or event["ts"]
        responder.reply(client, question, event["channel"], thread_ts, event["ts"], event.get("user", ""))

    @app.event("message")
    def on_message(event, client, context):
        if event.get("subtype") not in ANSWERABLE_SUBTYPES or _from_a_bot(event, context):
            return
        channel, thread_ts = event["channel"], event.get("thread_ts")
        direct = event.get("channel_type") == "im"
        followed = thread_ts is not None and responder.knows_thread(channel, thread_ts)
        mentions_me = context.bot_user_id and f"<@{context.bot_user_id}>" in event.get("text", "")
        if not (direct or followed or mentions_me):
            return
        if not responder.seen.first(f"msg:{channel}:{event['ts']}"):
            return
        question = _question(event.get("text", ""))
        if not direct:
            thread_ts = thread_ts or event["ts"]
        responder.reply(client, question, channel, thread_ts, event["ts"], event.get("user", ""), direct)

    @app.command("/ask")
    def on_ask(ack, command, respond):
        question = command.get("text", "").strip()
        if not question:
            ack("Ask a question about the documents, e.g. `/ask what is the leave policy?`")
            return
        ack(f"Looking up: {question}")
        try:
            channel = command["channel_id"]
            direct = command.get("channel_name") == "directmessage" or channel.startswith("D")
            answer, key = responder.answer(question, channel, None, user=command.get("user_id", ""), direct=direct)
            text, blocks = answer_message(answer, key)
        except Exception as exc:
            log.exception("/ask failed")
            text, blocks = failure_text(exc), []
        respond(text=text, blocks=blocks, response_type="in_channel", replace_original=False)

    @app.action(re.compile(r"^feedback_(up|down)$"))
    def on_feedback(ack, body, action):
        ack()
        value = "up" if action["action_id"] == "feedback_up" else "down"
        message = body.get("message", {})
        responder.record_feedback(
            action.get("value", ""), value, body.get("user", {}).get("id", ""), message.get("text", "")
        )


def _question(text: str) -> str:
    """A message's question: without the mention and without emoji shortcodes."""
    return EMOJI.sub(" ", MENTION.sub(" ", text)).strip()


def failure_text(exc: BaseException) -> str:
    """What the asker reads when answering failed."""
    return f":warning: I couldn't answer that: {escape(one_line(exc))}"


def _from_a_bot(event: dict[str, Any], context: Any) -> bool:
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or (context.bot_user_id and event.get("user") == context.bot_user_id)
    )


def _quietly(call: Callable[..., Any], **kwargs: Any) -> None:
    """Progress reactions are a nicety: a failure is logged, never shown."""
    try:
        call(**kwargs)
    except Exception as exc:  # noqa: BLE001 - progress reactions are a nicety
        log.info("progress reaction failed: %s", exc)
