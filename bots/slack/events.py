"""Which Slack deliveries are questions for the bot: a mention, a DM (an assistant thread is
one), or a message in a thread the bot answers in; never a bot's own message or an edit."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from index.errors import Error

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
EMOJI = re.compile(r":[a-z0-9_+'-]+:")  # Slack's :shortcodes:, which aren't words of a question
# Message subtypes that are a person saying something; edits, deletions, joins… are not.
ANSWERABLE_SUBTYPES = {None, "thread_broadcast", "file_share"}


def question_payload(
    body: dict[str, Any],
    event: dict[str, Any],
    context: Any,
    follows: Callable[[str, str], bool],
    in_assistant_thread: bool = False,
) -> tuple[list[str], dict[str, Any]] | None:
    """The keys that make a delivery exactly once, and the question's payload; None if the
    event is not a question for the bot. `follows(channel, thread_ts)`: the bot answers there."""
    if from_a_bot(event, context):
        return None
    channel = event["channel"]
    direct = event.get("channel_type") == "im"
    thread_ts = event.get("thread_ts")
    if event["type"] == "message":
        if event.get("subtype") not in ANSWERABLE_SUBTYPES:
            return None
        mentions_me = context.bot_user_id and f"<@{context.bot_user_id}>" in event.get("text", "")
        if not (direct or mentions_me or (thread_ts and _follows(follows, channel, thread_ts))):
            return None
    if not direct:
        thread_ts = thread_ts or event["ts"]  # in a channel the answer starts (or stays in) a thread
    payload = {
        "question": question_of(event.get("text", "")),
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
    return keys, payload


def _follows(follows: Callable[[str, str], bool], channel: str, thread_ts: str) -> bool:
    """Whether the bot answers in this thread; when the store can't say, the message is left
    alone (it may not be for the bot, and every thread in the channel would get an apology)."""
    try:
        return follows(channel, thread_ts)
    except Error as exc:
        log.warning("can't tell whether a message in %s is a follow-up: %s", channel, exc)
        return False


def question_of(text: str) -> str:
    """A message's question: without the mention and without emoji shortcodes."""
    return EMOJI.sub(" ", MENTION.sub(" ", text)).strip()


def from_a_bot(event: dict[str, Any], context: Any) -> bool:
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or (context.bot_user_id and event.get("user") == context.bot_user_id)
    )
