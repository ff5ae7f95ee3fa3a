"""A bot left running: it follows the folder and a shared store, answers several people at
once, and says so when it can't answer. `assistant slack --http` in a subprocess against the
loopback Slack Web API fake, driven by the real slack-sdk client inside it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_slack import event, start_bot

from data import BECK, BUNDLED, GOOD, HOMELAND, SCRIPT
from fake_llm import FakeLLM
from fake_slack import BOT_USER, FakeSlack, answers, message_text
from processes import ChromaServer, wait_for

pytestmark = pytest.mark.slow

FACT_FILE = "parking.md"
FACT = "Visitors to the station park in lot Q on Saturdays, the facilities office said."
FACT_QUESTION = "Where do visitors to the station park on Saturdays?"


def logged(bot, *words: str) -> None:
    """Wait until a line of the bot's log (its data dir's assistant.log) holds all of `words`."""

    def found() -> bool:
        log = bot.data / "assistant.log"
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        return any(all(w in line for w in words) for line in lines)

    wait_for(found, f"a line of the bot's log with {words}")


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def ask(bot, slack, question: str, channel: str) -> dict:
    """Mention the bot in `channel`; the reply that ends up there (posted, or the placeholder's last update)."""
    body, _ = event(text=f"<@{BOT_USER}> {question}", channel=channel)
    assert bot.send(body)[0] == 200
    posted = slack.wait_for(lambda: slack.posts(channel))
    assert posted, f"no reply in {channel}"
    return posted[-1]


def cites(post: dict, source: str) -> bool:
    return f"`{source}:" in message_text(post)


def test_a_running_bot_answers_from_a_file_saved_after_it_started_and_forgets_a_deleted_one(tmp_path, slack):
    with start_bot(tmp_path, slack) as bot:
        corpus = tmp_path / "corpus"
        (corpus / FACT_FILE).write_text(f"# Parking\n\n{FACT}\n", encoding="utf-8")
        logged(bot, "synced:", f"added=['{FACT_FILE}']")
        post = ask(bot, slack, FACT_QUESTION, "CNEW")
        assert cites(post, FACT_FILE) and "lot Q" in message_text(post)
        (corpus / FACT_FILE).unlink()
        logged(bot, "synced:", f"removed=['{FACT_FILE}']")
        post = ask(bot, slack, FACT_QUESTION, "CGONE")
        assert not cites(post, FACT_FILE) and "lot Q" not in message_text(post)


def test_two_processes_on_one_chroma_server_and_a_server_that_goes_away_and_comes_back(tmp_path, slack):
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        # A: the bot, not watching the folder; B: a one-shot ingest elsewhere, after a file was added.
        with start_bot(tmp_path / "a", slack, ASSISTANT_CHROMA_URL=server.url, ASSISTANT_WATCH="0") as bot:
            corpus = tmp_path / "a" / "corpus"
            (corpus / FACT_FILE).write_text(f"# Parking\n\n{FACT}\n", encoding="utf-8")
            env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "b"), "ASSISTANT_CHROMA_URL": server.url}
            ingest = subprocess.run(
                [str(SCRIPT), "ingest", "--json", "--corpus", str(corpus)], env=env, capture_output=True, text=True
            )
            assert ingest.returncode == 0 and FACT_FILE in json.loads(ingest.stdout)["added"], ingest.stderr
            logged(bot, "caught up with", "the shared index")
            post = ask(bot, slack, FACT_QUESTION, "CSHARED")
            assert cites(post, FACT_FILE)
            text = (corpus / FACT_FILE).read_text(encoding="utf-8")
            start, end = (int(x) for x in re.search(rf"`{FACT_FILE}:(\d+)-(\d+)`", message_text(post)).groups())
            assert text[start:end] == FACT and FACT in message_text(post)  # the quote is the file's text there

            server.stop()
            body, ev = event(text=f"<@{BOT_USER}> {BECK}", channel="CDOWN")
            assert bot.send(body)[0] == 200
            reply = wait_for(lambda: slack.posts("CDOWN"), "the bot's reply with its Chroma server down")
            assert "I couldn't answer that" in message_text(reply[-1]) and reply[-1]["thread_ts"] == ev["ts"]
            added = [p for p in slack.posts(method="reactions.add") if p.get("timestamp") == ev["ts"]]
            removed = wait_for(
                lambda ts=ev["ts"]: [p for p in slack.posts(method="reactions.remove") if p.get("timestamp") == ts],
                "the ⏳ reaction to be taken off",
            )
            assert len(added) == len(removed) == 1  # no ⏳ left behind

            server.start()
            post = ask(bot, slack, BECK, "CBACK")
            assert HOMELAND in message_text(post)
    finally:
        server.stop()


def test_six_people_asking_at_once_are_answered_side_by_side(tmp_path, slack):
    """Six mentions at once, with every draft held at the LLM server until the test lets go: each
    mention is acknowledged while the drafts are held (the answer never holds up Slack's 200), and
    as many drafts are in flight together as the bot has workers (4). The wall time, beside the
    one-at-a-time figure, is bench/side_by_side.py's to print."""
    with (
        FakeLLM(default=GOOD) as llm,
        start_bot(tmp_path, slack, ASSISTANT_LLM_BASE_URL=llm.base_url, ASSISTANT_LLM_TIMEOUT="120") as bot,
    ):
        llm.gate.clear()
        channels = [f"CPAR{i}" for i in range(6)]
        bodies = [event(text=f"<@{BOT_USER}> {BECK}", channel=c)[0] for c in channels]
        with ThreadPoolExecutor(6) as pool:
            statuses = [status for status, _, _ in pool.map(bot.send, bodies)]
        assert statuses == [200] * 6
        wait_for(lambda: llm.in_flight >= 4, "four drafts in flight at once at the LLM server")
        assert not any(answers(slack, c) for c in channels)  # all held at the LLM: nothing answered yet
        llm.gate.set()
        wait_for(lambda: all(answers(slack, c) for c in channels), "six answers")
        assert all(HOMELAND in message_text(answers(slack, c)[-1]) for c in channels)
        assert llm.most_in_flight == 4 and len(llm.requests) == 6


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
        replies = slack.wait_for(lambda: slack.posts(method=f"/respond/ask{n}"))
        assert replies, f"no answer to /ask {n}"
        return replies[-1]

    with start_bot(tmp_path, slack) as bot:
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
        post = slack.wait_for(lambda c=channel: slack.posts(c))
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
