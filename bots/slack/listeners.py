"""Event handling: which Slack deliveries get an answer, exactly once, and where it goes."""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from assistant.conversation.resolve import Turn
from assistant.conversation.session import Session
from assistant.engine import Engine
from assistant.llm.drafter import OnStage, OnToken
from bots import access
from bots.slack.blocks import answer_message, draft_text, escape
from bots.slack.stream import Progress, finish_stream, quietly, start_stream, stop_stream
from bots.state import Job, State
from index.errors import Error, one_line
from index.text import short

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
EMOJI = re.compile(r":[a-z0-9_+'-]+:")  # Slack's :shortcodes:, which aren't words of a question
# Message subtypes that are a person saying something; edits, deletions, joins… are not.
ANSWERABLE_SUBTYPES = {None, "thread_broadcast", "file_share"}
STREAM_INTERVAL = 1.0  # seconds between chat.update calls while a draft streams
READING = "_Reading the documents…_"  # the placeholder a streamed answer is written into
STREAM_MARK = "stream:"  # a job's placeholder that is a natively streamed message
EXPIRE_EVERY = 600  # seconds between sweeps of old event keys and finished work
TITLE_CHARS = 80  # an assistant thread's title: its first question, shortened
GREETING = "Hi! Ask me anything about the documents; every answer quotes the passages it comes from."


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


class KeyedLocks:
    """One lock per conversation, held while it answers, so its questions go in order; a lock
    lives only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[threading.Lock, int]] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: tuple[str, str]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class Responder:
    """Answers questions from Slack, several at once. Whatever must outlive this process, or be
    seen by the other replicas, is in the state store: which deliveries were handled, the questions
    not yet answered, each conversation's turns, and the answers behind the feedback buttons."""

    def __init__(self, engine: Engine, state: State, *, lease: float = 15.0, owner: str = ""):
        self.engine = engine
        self.state = state
        self.lease = lease
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.pacer = Pacer()
        self.conversations = KeyedLocks()
        self._held: set[str] = set()  # questions this replica has accepted or taken over and not finished
        self._held_lock = threading.Lock()

    # Accepting --------------------------------------------------------------------------------

    def accept(self, keys: list[str], payload: dict[str, Any], *, follow: bool = False) -> Job | None:
        """Record a question as this replica's pending work, with the keys that make it exactly
        once; None if another delivery of it was accepted before (here or on another replica)."""
        job = Job(keys[0], payload)
        # A thread is followed from now on, searching what may be seen where it started.
        conversation = _conversation(payload) if follow else None
        spaces = self.visible_for(payload) if follow else None
        self.hold(job.id)  # renewed from now on, though it may wait for a worker
        accepted = False
        try:
            accepted = self.state.accept(
                keys, job, owner=self.owner, lease=self.lease, conversation=conversation, spaces=spaces
            )
        finally:
            if not accepted:
                self._release(job.id)
        return job if accepted else None

    def knows_thread(self, channel: str, thread_ts: str) -> bool:
        return self.state.follows(channel, thread_ts)

    def visible(self, channel: str, user: str, direct: bool) -> list[str] | None:
        """The spaces a question asked here may search (None: the one corpus, no spaces file)."""
        if not self.engine.named:
            return None
        return access.visible(self.engine.spaces, channel=channel, user=user, direct=direct)

    def visible_for(self, payload: dict[str, Any]) -> list[str] | None:
        """The spaces the payload's question may search, from where and by whom it was asked."""
        return self.visible(payload["channel"], payload.get("user", ""), payload.get("direct", False))

    # Answering --------------------------------------------------------------------------------

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
        stored = self.state.conversation(*_conversation(payload))
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
            conversation=_conversation(payload),
            spaces=spaces,
            turn=turn.to_json() if turn else None,
            answer=answer,
            channel=payload["channel"],
            user=payload.get("user", ""),
        )

    def work(self, job: Job, client: Any) -> None:
        """Answer one accepted question where it was asked; the lease is renewed meanwhile."""
        self.hold(job.id)
        try:
            with self.conversations.hold(_conversation(job.payload)):
                if job.payload.get("response_url"):
                    self._respond(job)
                else:
                    self._reply(client, job)
        finally:
            self._release(job.id)

    def hold(self, job_id: str) -> None:
        """Renew this question's lease until it is finished here."""
        with self._held_lock:
            self._held.add(job_id)

    def _release(self, job_id: str) -> None:
        with self._held_lock:
            self._held.discard(job_id)

    def renew(self) -> None:
        """This replica is alive: extend the leases of what it holds."""
        with self._held_lock:
            held = list(self._held)
        if held:
            self.state.renew(self.owner, held, self.lease)

    def _reply(self, client: Any, job: Job) -> None:
        """Answer and post into the channel (in the thread if any), showing progress meanwhile.
        Whatever goes wrong, the asker gets a reply saying so and no progress marks stay behind."""
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
            title = partial(_set_title, client, p) if p.get("assistant") else None
            key = secrets.token_hex(8)
            context_actions = bool(p.get("assistant"))  # Slack's own feedback buttons, in its AI app surfaces
            if not self.engine.generative and not placeholder:
                turn, visible = self.converse(p, on_stage=progress.stage, on_first=title)
                text, blocks = answer_message(turn.answer, key, self.engine.link, context_actions=context_actions)
                if not self._still_mine(job):
                    return
                self.pacer.wait(channel)
                client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False, **kwargs
                )
                self.finish(job, turn, visible, key)
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
            self.state.set_placeholder(job.id, (STREAM_MARK if streamed else "") + placeholder)
            ts = placeholder
            draft: list[str] = []
            last = [time.monotonic()]

            def on_token(token: str) -> None:
                draft.append(token)
                if not streamed and time.monotonic() - last[0] >= STREAM_INTERVAL:
                    last[0] = time.monotonic()
                    quietly(client.chat_update, channel=channel, ts=ts, text=draft_text("".join(draft)))

            turn, visible = self.converse(p, on_token, on_stage=progress.stage, on_first=title)
            if not self._still_mine(job):
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
            self.finish(job, turn, visible, key)
        except Exception as exc:
            log.exception("answering in %s failed", channel)
            if not (streamed and placeholder and stop_stream(client, channel, placeholder, failure_text(exc))):
                self._apologise(client, channel, kwargs, placeholder, exc)
            quietly(self.finish, job=job)
        finally:
            progress.done()

    def _respond(self, job: Job) -> None:
        """`/ask`: the answer goes to the command's response_url, for the whole channel to see."""
        from slack_sdk.webhook import WebhookClient

        try:
            key = secrets.token_hex(8)
            turn, visible = self.converse(job.payload)
            text, blocks = answer_message(turn.answer, key)
            if not self._still_mine(job):
                return
        except Exception as exc:
            log.exception("/ask failed")
            text, blocks, turn = failure_text(exc), [], None
        webhook = WebhookClient(job.payload["response_url"])
        try:
            webhook.send(text=text, blocks=blocks, response_type="in_channel", replace_original=False)
        finally:
            if turn is not None:
                self.finish(job, turn, visible, key)
            else:
                quietly(self.finish, job=job)

    def _still_mine(self, job: Job) -> bool:
        """Before posting: nobody took this question over meanwhile (this replica seemed dead)."""
        if self.state.holds(job.id, self.owner):
            return True
        log.warning("%s was taken over by another replica; not posting this answer", job.id)
        return False

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

    def suggested_prompts(self, user: str) -> list[str]:
        """Questions to suggest when an assistant thread opens, for lack of configured ones: one
        per space this user may ask in a DM, else one per document (by its title)."""
        if self.engine.named:
            visible = self.visible("", user, direct=True) or []
            return [f"What do the {name} documents cover?" for name in visible][:4]
        titles = [_title_of(source) for source in sorted(self.engine.index.store.files())][:3]
        return [f"What is “{t}” about?" for t in titles if t]

    def record_feedback(self, key: str, value: str, user: str, message_text: str) -> None:
        """One click, in the state store beside the answer it is about."""
        self.state.record_feedback(key, value, user, message_text)


class Steward:
    """A replica's background duty: renew its leases, take over the questions of replicas that
    stopped renewing theirs (crashed, killed, cut off), and forget old event keys."""

    def __init__(self, responder: Responder, run: Callable[[Job], None], *, interval: float | None = None):
        self.responder = responder
        self.run = run
        self.interval = interval or responder.lease / 3
        self._stop = threading.Event()

    def start(self) -> Steward:
        threading.Thread(target=self._loop, name="steward", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        state, expired = self.responder.state, 0.0
        while True:
            try:
                self.responder.renew()
                while (job := state.claim(self.responder.owner, self.responder.lease)) is not None:
                    log.warning("taking over %s from a replica that stopped (attempt %d)", job.id, job.attempts)
                    self.run(job)
                if time.monotonic() - expired > EXPIRE_EVERY:
                    state.expire()
                    expired = time.monotonic()
            except Error as exc:  # the store is down: keep trying, answering goes on where it can
                log.warning("state store: %s", exc)
            if self._stop.wait(self.interval):
                return


def register(app: Any, responder: Responder, prompts: Sequence[str] = ()) -> None:
    """Attach the listeners: assistant threads, mentions, messages (DMs and followed threads),
    /ask, feedback.

    Each question is accepted (recorded as pending work, exactly once across replicas) in a
    listener middleware, which runs before Slack gets its 200; the listener then answers it on
    Bolt's worker threads."""
    from slack_bolt import Assistant, BoltResponse
    from slack_bolt.middleware.custom_middleware import CustomMiddleware

    def accepting(in_assistant_thread: bool) -> Callable[..., Any]:
        def accepted(body, event, context, client, next):
            try:
                job = _accept_event(responder, body, event, context, in_assistant_thread)
            except Error as exc:  # the state store is unreachable: say so where the question was asked
                log.exception("could not accept a question in %s", event.get("channel"))
                thread_ts = event.get("thread_ts") or (event["ts"] if event.get("channel_type") != "im" else None)
                thread = {"thread_ts": thread_ts} if thread_ts else {}
                quietly(client.chat_postMessage, channel=event["channel"], text=failure_text(exc), **thread)
                return BoltResponse(status=200, body="")
            if job is None:
                return BoltResponse(status=200, body="")  # not for us, or a delivery already handled
            context["job"] = job
            next()

        return accepted

    # The assistant side panel: a greeting with suggested prompts, then questions in its thread.
    assistant = Assistant()

    @assistant.thread_started
    def on_thread_started(body, event, say, set_suggested_prompts):
        if body.get("event_id") and not responder.state.accept([f"event:{body['event_id']}"]):
            return  # a retry: greeted already
        user = event.get("assistant_thread", {}).get("user_id", "")
        say(GREETING)
        suggested = list(prompts) or responder.suggested_prompts(user)
        if suggested:
            set_suggested_prompts(prompts=[{"title": short(q, 75), "message": q} for q in suggested[:4]])

    # Assistant listeners take a list of Middleware objects (its type hint says one callable).
    in_thread: Any = [CustomMiddleware(app_name="assistant", func=accepting(True))]

    @assistant.user_message(middleware=in_thread)
    def on_assistant_message(context, client):
        responder.work(context["job"], client)

    app.use(assistant)

    @app.event("app_mention", middleware=[accepting(False)])
    def on_mention(context, client):
        responder.work(context["job"], client)

    @app.event("message", middleware=[accepting(False)])
    def on_message(context, client):
        responder.work(context["job"], client)

    @app.command("/ask")
    def on_ask(ack, command, client):
        question = command.get("text", "").strip()
        if not question:
            ack("Ask a question about the documents, e.g. `/ask what is the leave policy?`")
            return
        channel, user = command["channel_id"], command.get("user_id", "")
        payload = {
            "question": question,
            "channel": channel,
            "user": user,
            "direct": command.get("channel_name") == "directmessage" or channel.startswith("D"),
            "response_url": command.get("response_url", ""),
        }
        try:
            job = responder.accept([f"command:{command.get('trigger_id') or secrets.token_hex(8)}"], payload)
        except Error as exc:  # the state store is unreachable: the asker reads why, at once
            log.exception("could not accept /ask in %s", channel)
            ack(failure_text(exc))
            return
        ack(f"Looking up: {question}")
        if job is not None:
            responder.work(job, client)

    @app.action(re.compile(r"^feedback(_up|_down)?$"))
    def on_feedback(ack, body, action):
        ack()
        if action["action_id"] == "feedback":  # Slack's feedback buttons: the value is "up:KEY" or "down:KEY"
            value, _, key = action.get("value", "").partition(":")
        else:
            value, key = action["action_id"].removeprefix("feedback_"), action.get("value", "")
        message = body.get("message", {})
        responder.record_feedback(key, value, body.get("user", {}).get("id", ""), message.get("text", ""))


def _accept_event(
    responder: Responder, body: dict[str, Any], event: dict[str, Any], context: Any, in_assistant_thread: bool = False
) -> Job | None:
    """The question in a mention, a DM (an assistant thread is one), or a message in a thread the
    bot answers in, accepted as pending work; None for anything else and for a delivery already accepted."""
    if _from_a_bot(event, context):
        return None
    channel = event["channel"]
    direct = event.get("channel_type") == "im"
    thread_ts = event.get("thread_ts")
    if event["type"] == "message":
        if event.get("subtype") not in ANSWERABLE_SUBTYPES:
            return None
        mentions_me = context.bot_user_id and f"<@{context.bot_user_id}>" in event.get("text", "")
        if not (direct or mentions_me or (thread_ts and _follows(responder, channel, thread_ts))):
            return None
    if not direct:
        thread_ts = thread_ts or event["ts"]  # in a channel the answer starts (or stays in) a thread
    payload = {
        "question": _question(event.get("text", "")),
        "channel": channel,
        "thread_ts": thread_ts,
        "message_ts": event["ts"],
        "user": event.get("user", ""),
        "team": body.get("team_id") or event.get("team", ""),
        "direct": direct,
        "assistant": in_assistant_thread,
    }
    # Retries carry the same event_id; a mention also arrives as a `message` event of its own.
    keys = [f"msg:{channel}:{event['ts']}"]
    if body.get("event_id"):
        keys.insert(0, f"event:{body['event_id']}")
    return responder.accept(keys, payload, follow=thread_ts is not None)


def _set_title(client: Any, payload: dict[str, Any]) -> None:
    title = short(payload["question"], TITLE_CHARS) or "Question"
    quietly(
        client.assistant_threads_setTitle, channel_id=payload["channel"], thread_ts=payload["thread_ts"], title=title
    )


def _title_of(source: str) -> str:
    """A file's name as a title: "leave-policy.md" → "Leave policy"."""
    stem = re.sub(r"[-_]+", " ", source.rsplit("/", 1)[-1].rsplit(".", 1)[0]).strip()
    return stem[:1].upper() + stem[1:]


def _follows(responder: Responder, channel: str, thread_ts: str) -> bool:
    """Whether the bot answers in this thread; when the store can't say, the message is left
    alone (it may not be for the bot, and every thread in the channel would get an apology)."""
    try:
        return responder.knows_thread(channel, thread_ts)
    except Error as exc:
        log.warning("can't tell whether a message in %s is a follow-up: %s", channel, exc)
        return False


def _conversation(payload: dict[str, Any]) -> tuple[str, str]:
    """Whose conversation a question belongs to: its thread's, or (no thread: a DM, `/ask`) its
    asker's in that channel."""
    thread = payload.get("thread_ts")
    return payload["channel"], thread or f"user:{payload.get('user', '')}"


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
