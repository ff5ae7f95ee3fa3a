"""A bot left running: it follows the folder and a shared store, answers several people at
once, and says so when it can't answer. `assistant slack --http` in a subprocess against the
loopback Slack Web API fake, driven by the real slack-sdk client inside it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_slack import event, start_bot

from data import BECK, BUNDLED, GOOD, HOMELAND, SCRIPT
from fake_llm import FakeLLM
from fake_slack import BOT_USER, FakeSlack, answers, message_text

pytestmark = pytest.mark.slow

FACT_FILE = "parking.md"
FACT = "Visitors to the station park in lot Q on Saturdays, the facilities office said."
FACT_QUESTION = "Where do visitors to the station park on Saturdays?"
WAIT = 20  # seconds a change may take to be seen (the README promises well under this)


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def ask(bot, slack, question: str, channel: str) -> dict:
    """Mention the bot in `channel`; the reply that ends up there (posted, or the placeholder's last update)."""
    body, _ = event(text=f"<@{BOT_USER}> {question}", channel=channel)
    assert bot.send(body)[0] == 200
    posted = slack.wait_for(lambda: slack.posts(channel), timeout=60)
    assert posted, f"no reply in {channel}"
    return posted[-1]


def cites(post: dict, source: str) -> bool:
    return f"`{source}:" in message_text(post)


def test_a_running_bot_answers_from_a_file_saved_after_it_started_and_forgets_a_deleted_one(tmp_path, slack):
    for bot in start_bot(tmp_path, slack):
        corpus = tmp_path / "corpus"
        (corpus / FACT_FILE).write_text(f"# Parking\n\n{FACT}\n", encoding="utf-8")
        time.sleep(WAIT / 2)
        post = ask(bot, slack, FACT_QUESTION, "CNEW")
        assert cites(post, FACT_FILE) and "lot Q" in message_text(post)
        (corpus / FACT_FILE).unlink()
        time.sleep(WAIT / 2)
        post = ask(bot, slack, FACT_QUESTION, "CGONE")
        assert not cites(post, FACT_FILE) and "lot Q" not in message_text(post)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on loopback, stoppable and restartable on the same port and folder."""

    def __init__(self, path: Path):
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        chroma = str(Path(sys.executable).parent / "chroma")
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert time.monotonic() < deadline and self.proc.poll() is None, "chroma run did not start"
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def test_two_processes_on_one_chroma_server_and_a_server_that_goes_away_and_comes_back(tmp_path, slack):
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        # A: the bot, not watching the folder; B: a one-shot ingest elsewhere, after a file was added.
        for bot in start_bot(tmp_path / "a", slack, ASSISTANT_CHROMA_URL=server.url, ASSISTANT_WATCH="0"):
            corpus = tmp_path / "a" / "corpus"
            (corpus / FACT_FILE).write_text(f"# Parking\n\n{FACT}\n", encoding="utf-8")
            env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "b"), "ASSISTANT_CHROMA_URL": server.url}
            ingest = subprocess.run(
                [str(SCRIPT), "ingest", "--json", "--corpus", str(corpus)], env=env, capture_output=True, text=True
            )
            assert ingest.returncode == 0 and FACT_FILE in json.loads(ingest.stdout)["added"], ingest.stderr
            time.sleep(WAIT / 2)
            post = ask(bot, slack, FACT_QUESTION, "CSHARED")
            assert cites(post, FACT_FILE)
            text = (corpus / FACT_FILE).read_text(encoding="utf-8")
            start, end = (int(x) for x in re.search(rf"`{FACT_FILE}:(\d+)-(\d+)`", message_text(post)).groups())
            assert text[start:end] == FACT and FACT in message_text(post)  # the quote is the file's text there

            server.stop()
            body, ev = event(text=f"<@{BOT_USER}> {BECK}", channel="CDOWN")
            began = time.monotonic()
            assert bot.send(body)[0] == 200
            reply = slack.wait_for(lambda: slack.posts("CDOWN"), timeout=30)
            assert reply and time.monotonic() - began < 30
            assert "I couldn't answer that" in message_text(reply[-1]) and reply[-1]["thread_ts"] == ev["ts"]
            added = [p for p in slack.posts(method="reactions.add") if p.get("timestamp") == ev["ts"]]
            removed = slack.wait_for(
                lambda ts=ev["ts"]: [p for p in slack.posts(method="reactions.remove") if p.get("timestamp") == ts], 5
            )
            assert len(added) == len(removed) == 1  # no ⏳ left behind

            server.start()
            post = ask(bot, slack, BECK, "CBACK")
            assert HOMELAND in message_text(post)
    finally:
        server.stop()


def test_with_a_slow_llm_six_people_are_answered_side_by_side(tmp_path, slack):
    with FakeLLM(default=GOOD, delay=3.0) as llm:
        for bot in start_bot(tmp_path, slack, ASSISTANT_LLM_BASE_URL=llm.base_url, ASSISTANT_LLM_TIMEOUT="30"):
            channels = [f"CPAR{i}" for i in range(6)]
            bodies = [event(text=f"<@{BOT_USER}> {BECK}", channel=c)[0] for c in channels]
            began = time.monotonic()
            senders = [threading.Thread(target=bot.send, args=(b,)) for b in bodies]
            for t in senders:
                t.start()

            def done(channels=channels):
                return all(answers(slack, c) for c in channels)

            assert slack.wait_for(done, timeout=30)
            took = time.monotonic() - began
            assert took < 9, f"six answers took {took:.1f} s; one at a time would take 18 s"
            assert all(HOMELAND in message_text(answers(slack, c)[-1]) for c in channels)


def test_two_people_asking_in_one_channel_have_separate_conversations(tmp_path, slack):
    from urllib.parse import urlencode

    def slash(bot, user: str, text: str, n: int) -> dict:
        form = urlencode(
            {
                "command": "/ask",
                "text": text,
                "channel_id": "CASK",
                "user_id": user,
                "team_id": "T1",
                "response_url": f"http://127.0.0.1:{slack.port}/respond/ask{n}",
                "trigger_id": f"1.{n}",
            }
        )
        assert bot.send(form, content_type="application/x-www-form-urlencoded")[0] == 200
        replies = slack.wait_for(lambda: slack.posts(method=f"/respond/ask{n}"), timeout=30)
        assert replies, f"no answer to /ask {n}"
        return replies[-1]

    for bot in start_bot(tmp_path, slack):
        assert HOMELAND in message_text(slash(bot, "U1", BECK, 1))
        # U2's pronoun has nothing to point back to: U1's question is not U2's conversation.
        assert "Not in the documents" in message_text(slash(bot, "U2", "What else did he say?", 2))
        # U1's own follow-up is resolved against U1's question: more of Chief Beck's words.
        mine = message_text(slash(bot, "U1", "What else did he say?", 3))
        assert "Not in the documents" not in mine and HOMELAND not in mine


def test_a_mention_with_no_question_gets_a_hint(tmp_path, slack, embedder):
    from test_slack import InProcessBot

    bot = InProcessBot(tmp_path, slack, embedder)
    for channel, text in (("CEMPTY", f"<@{BOT_USER}>"), ("CEMOJI", f"<@{BOT_USER}> :wave: 👋")):
        body, _ = event(text=text, channel=channel)
        assert bot.send(body)[0] == 200
        post = slack.wait_for(lambda c=channel: slack.posts(c), timeout=10)
        assert post and "Ask me a question about the documents" in message_text(post[-1])


def test_bad_lines_in_a_batch_are_answered_with_an_error_and_the_rest_go_on(tmp_path):
    lines = [BECK.encode(), b"\xff\xfe x", b"\x00", b"a" * 100_000, b"Who is Daryl Gates?"]
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [str(SCRIPT), "ask", "--json", "-", "--corpus", str(BUNDLED)],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(answers) == 5
    assert answers[1]["error"] == "the line is not valid UTF-8"
    assert all("error" in a for a in answers[1:4]) and all(a["citations"] == [] for a in answers[1:4])
    assert any(HOMELAND in c["quote"] for c in answers[0]["citations"])
    assert any("Daryl Gates" in c["quote"] for c in answers[4]["citations"])
    usage = subprocess.run([str(SCRIPT), "ask", "--k", "0", "x"], capture_output=True, text=True, env=env)
    assert usage.returncode == 2 and "--k" in usage.stderr
    piped = subprocess.run(
        f"printf '{BECK}\\nWho is Daryl Gates?\\n' | '{SCRIPT}' ask - --corpus '{BUNDLED}' | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
    )
    assert piped.stdout.strip() and piped.stderr == ""  # a closed pipe ends it quietly
