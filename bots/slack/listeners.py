"""Bolt wiring: which listener hears what, and where each hands over. Assistant threads,
mentions, messages (DMs and followed threads), /ask, feedback.

Each question is accepted (recorded as pending work, exactly once across replicas) in a
listener middleware, which runs before Slack gets its 200; the listener then answers it on
Bolt's worker threads. Every listener ends in a reply the person sees, even when the state
store is down."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from bots.slack.delivery import failure_text
from bots.slack.events import question_payload
from bots.slack.feedback import ACTION, clicked
from bots.slack.panel import GREETING, prompt_options
from bots.slack.responder import Responder
from bots.slack.stream import quietly
from index.errors import Error

log = logging.getLogger(__name__)


def register(app: Any, responder: Responder, prompts: Sequence[str] = ()) -> None:
    """Attach the listeners to the Bolt `app`."""
    from slack_bolt import Assistant, BoltResponse
    from slack_bolt.middleware.custom_middleware import CustomMiddleware

    def accepting(in_assistant_thread: bool) -> Callable[..., Any]:
        def accepted(body, event, context, client, next):
            try:
                found = question_payload(body, event, context, responder.conversations.follows, in_assistant_thread)
                job = responder.accept(*found, follow=found[1]["thread_ts"] is not None) if found else None
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
            set_suggested_prompts(prompts=prompt_options(suggested))

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

    @app.action(ACTION)
    def on_feedback(ack, body, action):
        ack()
        value, key = clicked(action)
        message = body.get("message", {})
        responder.record_feedback(key, value, body.get("user", {}).get("id", ""), message.get("text", ""))
