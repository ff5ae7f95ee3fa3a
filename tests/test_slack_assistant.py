"""Slack's conventions for AI apps: assistant threads (suggested prompts, status, title), native
streaming of the verified answer, links to the sources, feedback in a context actions block.
`assistant slack --http` in a subprocess against the loopback Slack fake, driven by the real
slack-sdk client inside it."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from test_slack import event, start_bot

from data import ACCEPTANCE, ARTICLE, BECK, BUNDLED, HOMELAND, SCRIPT
from fake_llm import FakeLLM
from fake_slack import BOT_USER, FakeSlack, click, message_text, streamed_text

pytestmark = pytest.mark.slow

DOCS = "https://docs.example/{source}"
LINK = f"https://docs.example/{ARTICLE}"
FABRICATED = "The LAPD has 50,000 officers"


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def bot(tmp_path_factory, slack):
    with start_bot(tmp_path_factory.mktemp("assistant"), slack, ASSISTANT_SOURCE_URL=DOCS) as bot:
        yield bot


def assistant_event(kind: str, channel: str, thread_ts: str, **extra) -> str:
    body = json.loads(event(channel=channel)[0])
    if kind == "assistant_thread_started":
        body["event"] = {
            "type": kind,
            "assistant_thread": {"user_id": "U1", "channel_id": channel, "thread_ts": thread_ts, "context": {}},
            "event_ts": thread_ts,
        }
    else:  # a person's message in the assistant thread (a DM thread)
        ts = f"{float(thread_ts) + 1:.6f}"
        body["event"] = {
            "type": "message",
            "channel": channel,
            "channel_type": "im",
            "user": "U1",
            "ts": ts,
            "thread_ts": thread_ts,
            "event_ts": ts,
            **extra,
        }
    return json.dumps(body)


def calls(slack: FakeSlack, method: str, channel: str, key: str = "channel") -> list[dict]:
    return [p for p in slack.posts(method=method) if p.get(key) == channel]


def test_an_assistant_thread_gets_prompts_then_a_status_a_title_and_one_cited_answer(bot, slack):
    channel, thread = "DASSIST", "1729999327.187299"
    assert bot.send(assistant_event("assistant_thread_started", channel, thread))[0] == 200
    prompts = slack.wait_for(lambda: calls(slack, "assistant.threads.setSuggestedPrompts", channel, "channel_id"))
    assert len(prompts) == 1 and prompts[0]["thread_ts"] == thread
    assert prompts[0]["prompts"] and all(p["message"] for p in prompts[0]["prompts"])
    greeting = slack.wait_for(lambda: slack.posts(channel))
    assert greeting and greeting[0]["thread_ts"] == thread

    assert bot.send(assistant_event("message", channel, thread, text=BECK))[0] == 200
    answers = slack.wait_for(lambda: slack.posts(channel)[1:])
    assert len(answers) == 1 and answers[0]["thread_ts"] == thread
    shown = message_text(answers[0])
    assert HOMELAND in shown and "*[1]*" in shown and f"<{LINK}|{ARTICLE}:" in shown
    statuses = slack.wait_for(lambda: calls(slack, "assistant.threads.setStatus", channel, "channel_id"))
    assert statuses[0]["status"] == "Searching the documents…" and statuses[0]["thread_ts"] == thread
    order = [m for m, p in slack.calls if p.get("channel_id", p.get("channel")) == channel]
    assert order.index("assistant.threads.setStatus") < order.index("chat.postMessage", 1)  # status, then answer
    cleared = slack.wait_for(
        lambda: [s for s in calls(slack, "assistant.threads.setStatus", channel, "channel_id") if s["status"] == ""]
    )
    assert cleared  # the status is cleared once the answer is posted
    titles = calls(slack, "assistant.threads.setTitle", channel, "channel_id")
    assert [t["title"] for t in titles] == [BECK]
    feedback = [b for b in answers[0]["blocks"] if b["type"] == "context_actions"]
    assert feedback and feedback[0]["elements"][0]["type"] == "feedback_buttons"
    assert not any(b["type"] == "actions" for b in answers[0]["blocks"])  # not both kinds of buttons


def test_a_click_on_slacks_feedback_buttons_is_recorded(bot, slack):
    channel, thread = "DFEED", "1729999400.000100"
    assert bot.send(assistant_event("message", channel, thread, text=BECK))[0] == 200
    answer = slack.wait_for(lambda: slack.posts(channel))[0]
    element = next(b for b in answer["blocks"] if b["type"] == "context_actions")["elements"][0]
    down = {"type": "feedback_buttons", "action_id": element["action_id"], "value": element["negative_button"]["value"]}
    assert bot.send(click(answer, channel, "UCLICK", down), "application/x-www-form-urlencoded")[0] == 200
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(bot.data)}

    def clicks():
        done = subprocess.run([str(SCRIPT), "feedback", "--json"], env=env, capture_output=True, text=True)
        return [r for r in map(json.loads, done.stdout.splitlines()) if r["user"] == "UCLICK"]

    records = slack.wait_for(clicks)
    assert len(records) == 1 and records[0]["value"] == "down" and records[0]["question"] == BECK
    assert any(HOMELAND in c["quote"] for c in records[0]["citations"])


def test_with_an_llm_only_the_verified_answer_is_streamed_natively(tmp_path, slack):
    with (
        FakeLLM(default=ACCEPTANCE) as llm,
        start_bot(tmp_path, slack, ASSISTANT_LLM_BASE_URL=llm.base_url, ASSISTANT_SOURCE_URL=DOCS) as running,
    ):
        body, ev = event(text=f"<@{BOT_USER}> {BECK}", channel="CSTREAM")
        assert running.send(body)[0] == 200
        stopped = slack.wait_for(lambda: calls(slack, "chat.stopStream", "CSTREAM"))
        assert len(stopped) == 1
        started = calls(slack, "chat.startStream", "CSTREAM")
        appended = calls(slack, "chat.appendStream", "CSTREAM")
        assert len(started) == 1 and started[0]["thread_ts"] == ev["ts"]
        assert started[0]["recipient_user_id"] == "U1" and started[0]["recipient_team_id"] == "T1"
        ts = started[0]["_reply"]["ts"]
        assert appended and all(a["ts"] == ts for a in appended) and stopped[0]["ts"] == ts

        streamed = "".join(streamed_text(c) for c in [*started, *appended, *stopped])
        final = streamed + json.dumps(stopped[0]["blocks"], ensure_ascii=False)
        assert "Chief Beck said the LAPD will not work with Homeland Security on deportation efforts." in streamed
        assert "**[1]**" in streamed
        assert (
            streamed_text(stopped[0]) and streamed_text(stopped[0]) in streamed
        )  # the stop carries the answer's last words
        assert FABRICATED not in final and "50,000" not in final and "[7]" not in final
        assert HOMELAND in final and LINK in final  # the citation, linked to its page, under the answer
        assert "Left out 1 sentence of the draft that the sources don't support." in final  # counted, not repeated
        assert slack.posts("CSTREAM") == []  # no placeholder: nothing else was posted
        assert not calls(slack, "chat.update", "CSTREAM")

        # In an assistant thread the status line follows the stages, then clears.
        thread = "1729999500.000100"
        assert running.send(assistant_event("message", "DSTREAM", thread, text=BECK))[0] == 200
        assert slack.wait_for(lambda: calls(slack, "chat.stopStream", "DSTREAM"))

        def statuses() -> list[str]:
            return [s["status"] for s in calls(slack, "assistant.threads.setStatus", "DSTREAM", "channel_id")]

        slack.wait_for(lambda: statuses()[-1:] == [""])
        assert statuses() == ["Searching the documents…", "Writing an answer…", "Checking citations…", ""]
        stopped = calls(slack, "chat.stopStream", "DSTREAM")[0]
        assert stopped["blocks"][-1]["type"] == "context_actions"


def test_the_terminal_shows_the_same_link(tmp_path):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_SOURCE_URL": DOCS}
    done = subprocess.run(
        [str(SCRIPT), "ask", BECK, "--corpus", str(BUNDLED)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"[1] {ARTICLE}:" in done.stdout and LINK in done.stdout
    bad = subprocess.run(
        [str(SCRIPT), "ask", BECK, "--corpus", str(BUNDLED)],
        env={**env, "ASSISTANT_SOURCE_URL": "https://docs.example/{path}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and bad.stderr.startswith(
        "error: bad setting ASSISTANT_SOURCE_URL=https://docs.example/{path}:"
    )
    assert "unknown placeholder {path}" in bad.stderr


def test_a_mention_in_a_channel_still_gets_classic_buttons_and_a_reaction(bot, slack):
    body, _ = event(channel="CCLASSIC")
    assert bot.send(body)[0] == 200
    post = slack.wait_for(lambda: slack.posts("CCLASSIC"))[0]
    assert any(b["type"] == "actions" for b in post["blocks"]) and f"<{LINK}|" in message_text(post)
    time.sleep(0.5)  # must NOT happen: another reaction added after the answer
    assert [p["name"] for p in slack.posts(method="reactions.add") if p.get("channel") == "CCLASSIC"] == [
        "hourglass_flowing_sand"
    ]
