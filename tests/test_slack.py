"""The Slack bot: signed events in, real slack-sdk calls out to a loopback fake Web API.

Most tests hand signed requests to the Bolt app in-process (`app.dispatch(BoltRequest(...))`,
the same path the HTTP adapter takes after reading the request); the real HTTP server in a
subprocess is kept for what only it shows: the URL challenge, signature refusals over HTTP,
a mention and its retry end to end, and the start-up errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from data import ARTICLE, BECK, BUNDLED, HOMELAND, RESULTS, SCRIPT
from fake_slack import BOT_ID, BOT_USER, FakeSlack, click, message_text, thumbs_up
from processes import free_port, spawn, stop, wait_for_port

pytestmark = pytest.mark.slow

SECRET = "test-signing-secret"
NOTICE = "<!channel> The cafeteria closes at 3 pm on Fridays, <@U0ADMIN> says."
QUIET = 1.0  # seconds of watching for what must NOT happen (another post) before concluding it did not


@pytest.fixture(scope="module")
def slack(tmp_path_factory):
    with FakeSlack() as fake:
        yield fake


def make_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    shutil.copytree(BUNDLED, corpus)
    (corpus / "notices.md").write_text(f"# Notices\n\n{NOTICE}\n", encoding="utf-8")
    return corpus


class InProcessBot:
    """The Bolt app of `assistant slack`, built in this process; requests are dispatched to it directly."""

    def __init__(self, root: Path, slack: FakeSlack, embedder, state_url: str | None = None, **settings):
        from assistant.config import Settings
        from assistant.engine import Engine
        from bots.settings import ServeSettings
        from bots.slack.app import create_app
        from bots.slack.config import SlackSettings

        self.data = root / "data"
        engine = Engine(Settings(corpus=make_corpus(root), data_dir=self.data, **settings), embedder=embedder)
        engine.sync()
        self.app = create_app(
            engine,
            SlackSettings(api_url=slack.api_url, bot_token="xoxb-test", signing_secret=SECRET),
            ServeSettings(state_url=state_url),
        )

    def send(self, body: str, content_type="application/json", ts=None, secret=SECRET, headers=None):
        from slack_bolt.request import BoltRequest

        ts = int(time.time()) if ts is None else ts
        all_headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": str(ts),
            "x-slack-signature": sign(body, ts, secret),
            **{k.lower(): v for k, v in (headers or {}).items()},
        }
        started = time.monotonic()
        response = self.app.dispatch(BoltRequest(body=body, headers=all_headers))
        return response.status, response.body, time.monotonic() - started


class HttpBot:
    """`assistant slack --http` in a subprocess; requests go over real HTTP on loopback."""

    def __init__(self, url: str, data: Path):
        self.url, self.data = url, data

    def send(self, body: str, content_type="application/json", ts=None, secret=SECRET, headers=None):
        return send(self.url, body, content_type, ts, secret, headers)


@pytest.fixture(scope="module")
def bot(tmp_path_factory, slack, embedder):
    return InProcessBot(tmp_path_factory.mktemp("slack"), slack, embedder)


@pytest.fixture(scope="module")
def http_bot(tmp_path_factory, slack):
    with start_bot(tmp_path_factory.mktemp("slack-http"), slack) as bot:
        yield bot


@contextlib.contextmanager
def start_bot(root, slack, **extra_env):
    """`assistant slack --http` on a free port against the fake API, stopped when the block ends."""
    corpus = make_corpus(root)
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "ASSISTANT_DATA_DIR": str(root / "data"),
        "HF_HUB_OFFLINE": "1",
        **extra_env,
    }
    log = root / "bot.out"
    with open(log, "wb") as out:
        command = [str(SCRIPT), "slack", "--http", "--port", str(port), "--host", "127.0.0.1", "--corpus", str(corpus)]
        proc = spawn(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    try:  # stopped however the test using it ends
        wait_for_port(port, proc, "assistant slack --http", timeout=120, log=log)
        yield HttpBot(f"http://127.0.0.1:{port}/slack/events", root / "data")
    finally:
        stop(proc)


def sign(body: str, ts: int, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()


def send(url, body: str, content_type="application/json", ts=None, secret=SECRET, headers=None):
    ts = int(time.time()) if ts is None else ts
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(body, ts, secret),
            **(headers or {}),
        },
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), time.monotonic() - started


_counter = iter(range(100, 10_000))


def event(kind="app_mention", text=f"<@{BOT_USER}> {BECK}", channel="C1", **extra) -> tuple[str, dict]:
    n = next(_counter)
    ts = f"1700000{n}.000100"
    ev = {"type": kind, "user": "U1", "text": text, "ts": ts, "channel": channel, "event_ts": ts, **extra}
    body = {
        "token": "t",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event": ev,
        "event_id": f"Ev{n}",
        "event_time": n,
        "authorizations": [{"user_id": BOT_USER, "is_bot": True, "team_id": "T1"}],
    }
    return json.dumps(body), ev


def test_url_verification_answers_the_challenge(http_bot):
    status, body, _ = http_bot.send(json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}))
    assert status == 200 and "abc123" in body


@pytest.mark.parametrize("case", ["wrong secret", "stale timestamp"])
def test_bad_or_stale_signature_is_refused(http_bot, slack, case):
    body, _ = event(channel="CSIG")
    if case == "wrong secret":
        status, _, _ = http_bot.send(body, secret="not-the-secret")
    else:
        status, _, _ = http_bot.send(body, ts=int(time.time()) - 600)
    assert status == 401
    time.sleep(QUIET)
    assert slack.posts("CSIG") == []


def test_mention_gets_one_threaded_cited_answer_and_a_retry_gets_none(http_bot, slack):
    body, ev = event(channel="C1")
    status, _, _ = http_bot.send(body)
    assert status == 200
    posts = slack.wait_for(lambda: slack.posts("C1"))
    assert len(posts) == 1
    post = posts[0]
    assert post["thread_ts"] == ev["ts"]
    assert HOMELAND in message_text(post) and ARTICLE in message_text(post)
    status, _, _ = http_bot.send(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert status == 200
    time.sleep(QUIET)
    assert len(slack.posts("C1")) == 1
    added = [p for p in slack.posts(method="reactions.add") if p.get("channel") == "C1"]
    removed = [p for p in slack.posts(method="reactions.remove") if p.get("channel") == "C1"]
    assert len(added) == len(removed) == 1  # progress shown, then cleared


def test_mention_and_message_events_for_one_post_give_one_answer(bot, slack):
    body, ev = event(channel="CPAIR")
    n = next(_counter)
    twin = json.loads(body)
    twin["event"] = {**ev, "type": "message", "channel_type": "channel"}
    twin["event_id"] = f"Ev{n}"
    assert bot.send(body)[0] == 200
    assert bot.send(json.dumps(twin))[0] == 200
    slack.wait_for(lambda: slack.posts("CPAIR"))
    time.sleep(QUIET)
    assert len(slack.posts("CPAIR")) == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"user": BOT_USER, "bot_id": BOT_ID},  # the bot's own message
        {"bot_id": "B999", "subtype": "bot_message"},  # another bot
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
    ],
)
def test_bot_messages_and_edits_are_ignored(bot, slack, extra):
    channel = f"CIGN{next(_counter)}"
    body, _ = event("message", channel=channel, channel_type="im", **extra)
    assert bot.send(body)[0] == 200
    time.sleep(QUIET)
    assert slack.posts(channel) == []


def test_a_thread_follow_up_is_answered_with_the_threads_context(bot, slack):
    body, ev = event(channel="CTHREAD")
    bot.send(body)
    assert slack.wait_for(lambda: slack.posts("CTHREAD"))
    follow, _ = event(
        "message",
        text="Did the election change anything for his department?",
        channel="CTHREAD",
        thread_ts=ev["ts"],
        channel_type="channel",
    )
    assert bot.send(follow)[0] == 200
    posts = slack.wait_for(lambda: len(slack.posts("CTHREAD")) >= 2 and slack.posts("CTHREAD"))
    assert len(posts) == 2 and posts[1]["thread_ts"] == ev["ts"]
    assert RESULTS in message_text(posts[1])
    # A message in a thread the bot never answered is left alone.
    other, _ = event(
        "message", text="Anyone around?", channel="CTHREAD", thread_ts="1600000000.000001", channel_type="channel"
    )
    bot.send(other)
    time.sleep(QUIET)
    assert len(slack.posts("CTHREAD")) == 2


def test_a_direct_message_is_answered(bot, slack):
    body, _ = event("message", text=BECK, channel="DDM", channel_type="im")
    assert bot.send(body)[0] == 200
    posts = slack.wait_for(lambda: slack.posts("DDM"))
    assert len(posts) == 1 and HOMELAND in message_text(posts[0])


def test_slash_command_acks_at_once_then_answers(bot, slack):
    form = urlencode(
        {
            "command": "/ask",
            "text": BECK,
            "channel_id": "CCMD",
            "user_id": "U1",
            "team_id": "T1",
            "response_url": f"http://127.0.0.1:{slack.port}/respond/cmd1",
            "trigger_id": "1.2",
        }
    )
    status, body, _ = bot.send(form, content_type="application/x-www-form-urlencoded")
    assert status == 200 and "Looking up" in body  # the ack itself; the answer follows at the response URL
    responses = slack.wait_for(lambda: slack.posts(method="/respond/cmd1"))
    assert len(responses) == 1 and HOMELAND in message_text(responses[0])
    assert responses[0]["response_type"] == "in_channel"


def test_channel_pings_in_a_document_are_neutralised(bot, slack):
    body, _ = event(text=f"<@{BOT_USER}> When does the cafeteria close on Fridays?", channel="CPING")
    bot.send(body)
    posts = slack.wait_for(lambda: slack.posts("CPING"))
    shown = message_text(posts[0])
    assert "cafeteria closes at 3 pm" in shown
    assert "&lt;!channel&gt;" in shown and "&lt;@U0ADMIN&gt;" in shown
    assert "<!channel>" not in shown and "<@U0ADMIN>" not in shown


def test_a_429_is_retried_after_retry_after(bot, slack):
    slack.failures["chat.postMessage"] = [(429, {"Retry-After": "1"})]
    body, _ = event(channel="C429")
    bot.send(body)
    posts = slack.wait_for(lambda: slack.posts("C429"))
    attempts = [p for m, p in slack.calls if m == "chat.postMessage" and p.get("channel") == "C429"]
    assert len(posts) == 1 and [a["_status"] for a in attempts] == [429, 200]


def test_a_feedback_click_is_acked_and_listed_by_assistant_feedback(bot, slack):
    body, _ = event(channel="CFB")
    bot.send(body)
    post = slack.wait_for(lambda: slack.posts("CFB"))[0]
    body = click({**post, "_reply": {"ts": "1.1"}}, "CFB", "U42", thumbs_up(post))
    status, _, _ = bot.send(body, content_type="application/x-www-form-urlencoded")
    assert status == 200

    def listed() -> list[dict]:
        env = {**os.environ, "ASSISTANT_DATA_DIR": str(bot.data)}
        done = subprocess.run([str(SCRIPT), "feedback", "--json"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    records = slack.wait_for(lambda: [r for r in listed() if r["user"] == "U42"])
    assert len(records) == 1
    record = records[0]
    assert record["value"] == "up" and record["question"] == BECK and record["time"].endswith("Z")
    assert any(HOMELAND in c["quote"] for c in record["citations"])


def test_missing_tokens_are_one_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    proc = subprocess.run(
        [str(SCRIPT), "slack", "--http", "--corpus", str(BUNDLED)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("error: SLACK_BOT_TOKEN is not set")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_where_native_streaming_is_refused_the_draft_streams_into_a_placeholder_then_the_verified_answer(
    tmp_path, slack, embedder
):
    from assistant.config import LlmSettings

    from data import ACCEPTANCE
    from fake_llm import FakeLLM

    slack.refused["chat.startStream"] = "not_allowed_token_type"
    with FakeLLM() as llm:
        llm.replies[:] = [("text", ACCEPTANCE)]
        running = InProcessBot(tmp_path, slack, embedder, llm=LlmSettings(base_url=llm.base_url))
        body, ev = event(channel="CLLM")
        assert running.send(body)[0] == 200
        final = slack.wait_for(lambda: [p for p in slack.posts("CLLM", method="chat.update") if p.get("blocks")])
        posts = slack.posts("CLLM")
        assert len(posts) == 1 and posts[0]["thread_ts"] == ev["ts"]
        placeholder_ts = posts[0]["_reply"]["ts"]
        assert len(final) == 1 and final[0]["ts"] == placeholder_ts
        assert all(u["ts"] == placeholder_ts for u in slack.posts("CLLM", method="chat.update"))
        shown = message_text(final[0])
        assert "Chief Beck said the LAPD will not work with Homeland Security" in shown and HOMELAND in shown
        assert "Left out 1 sentence of the draft that the sources don't support." in shown
        assert "50,000" not in shown  # the fabricated claim is counted, never posted
        assert "[7]" not in shown
    del slack.refused["chat.startStream"]
    assert [p["_reply"]["error"] for p in slack.posts("CLLM", method="chat.startStream")] == ["not_allowed_token_type"]
