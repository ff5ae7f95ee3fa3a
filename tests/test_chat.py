"""`assistant chat` driven as a person would: in a real pseudo-terminal, and from a pipe."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from data import ARTICLE, BECK, HOMELAND, RESULTS, SCRIPT
from fake_llm import FakeLLM
from processes import wait_for

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")
PROMPT = "❯\x08"  # a fresh prompt: prompt_toolkit draws the space after it with a cursor move


def env_for(tmp_path):
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # pexpect doesn't answer cursor-position queries
        "TERM": "xterm-256color",
        "COLUMNS": "250",
        "LINES": "50",
    }


def chat_in_a_pipe(tmp_path, corpus, questions: str) -> subprocess.CompletedProcess:
    """`assistant chat` reading `questions` from a pipe; it must exit 0."""
    proc = subprocess.run(
        [str(SCRIPT), "chat", "--corpus", str(corpus)],
        input=questions,
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def plain(text: str) -> str:
    return " ".join(ANSI.sub("", text).split())


def spawn_chat(pexpect, tmp_path, corpus, env, timeout):
    """`assistant chat` in a 250-column pseudo-terminal."""
    return pexpect.spawn(
        str(SCRIPT),
        ["chat", "--corpus", str(corpus)],
        env=env,
        encoding="utf-8",
        dimensions=(50, 250),
        timeout=timeout,
        cwd=str(tmp_path),
    )


def chat_with_llm(pexpect, tmp_path, corpus, llm, *, llm_timeout: float, timeout: float):
    """`assistant chat` in a pseudo-terminal, drafting with the loopback LLM `llm`, on an ingested corpus."""
    env = {**env_for(tmp_path), "ASSISTANT_LLM_BASE_URL": llm.base_url, "ASSISTANT_LLM_TIMEOUT": str(llm_timeout)}
    subprocess.run([str(SCRIPT), "ingest", "--corpus", str(corpus)], env=env, check=True, capture_output=True)
    return spawn_chat(pexpect, tmp_path, corpus, env, timeout=timeout)


def test_ctrl_c_cancels_a_slow_answer_and_keeps_the_session(tmp_path, corpus):
    """Ctrl-C while the answer waits on a stalled LLM server: "cancelled", and the next question is answered."""
    pexpect = pytest.importorskip("pexpect")
    with FakeLLM(default=f"{HOMELAND} [1]") as llm:
        llm.replies.append(("hang", 30))
        # The cancelled draft gives up at the LLM timeout, so the next question needn't wait out the stall.
        child = chat_with_llm(pexpect, tmp_path, corpus, llm, llm_timeout=15, timeout=60)
        try:
            child.expect_exact(PROMPT)
            child.sendline("What did Mayor Garcetti say?")
            wait_for(lambda: llm.requests, "the chat's draft request to reach the LLM server")
            assert len(llm.requests) == 1  # the server is now holding the request
            child.sendintr()
            child.expect_exact("cancelled")
            child.expect_exact(PROMPT)
            child.sendline(BECK)
            child.expect_exact(PROMPT)
            assert HOMELAND in plain(child.before)
            child.sendeof()
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)


def test_chat_in_a_pseudo_terminal(tmp_path, corpus):
    pexpect = pytest.importorskip("pexpect")
    env = env_for(tmp_path)
    subprocess.run([str(SCRIPT), "ingest", "--corpus", str(corpus)], env=env, check=True, capture_output=True)
    child = spawn_chat(pexpect, tmp_path, corpus, env, timeout=120)
    try:
        child.expect(r"1 documents, \d+ chunks")
        child.expect_exact(PROMPT)

        child.sendline(BECK)
        child.expect_exact(PROMPT)
        first = plain(child.before)
        assert HOMELAND in first and f"{ARTICLE}:" in first and "[1]" in first

        child.sendline("Did the election change anything for his department?")
        child.expect_exact(PROMPT)
        follow = plain(child.before)
        assert "taking this as: Did the election change anything for Chief Beck's department?" in follow
        assert RESULTS in follow
        # The sentence is cited with its exact span (with the quotation that follows it, when
        # the reader quotes that too: one passage, one citation).
        n = re.search(r"\[(\d+)\] " + re.escape(f"{ARTICLE}:2407-") + r"(\d+)", follow)
        assert n and int(n.group(2)) >= 2552, follow
        assert (corpus / ARTICLE).read_text(encoding="utf-8")[2407:2552] == RESULTS
        span = f"{ARTICLE}:2407-{n.group(2)}"

        child.sendline("/sources")
        child.expect_exact(PROMPT)
        assert RESULTS in plain(child.before) and span in plain(child.before)

        child.sendline(f"/open {n.group(1)}")
        child.expect_exact(PROMPT)
        opened = plain(child.before)
        assert f">>{RESULTS}" in opened and "<<" in opened.split(RESULTS, 1)[1]

        child.sendline("/why")
        child.expect_exact(PROMPT)
        why = plain(child.before)
        assert "carried from earlier: Chief Beck" in why and "Retrieved passages" in why
        assert "[quoted]" in why and "[below the top 3]" in why

        child.sendline("/reset")
        child.expect_exact("Conversation cleared.")
        child.expect_exact(PROMPT)
        child.sendline("/sources")
        child.expect_exact("Nothing asked yet.")
        child.expect_exact(PROMPT)

        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_chat_reads_questions_from_a_pipe_as_plain_text(tmp_path, corpus):
    questions = (
        f"{BECK}\nDid the election change anything for his department?\n/sources\nWho won the 2020 World Series?\n"
    )
    proc = chat_in_a_pipe(tmp_path, corpus, questions)
    out = proc.stdout
    assert "\x1b" not in out  # no escape codes in a pipe
    assert out.splitlines()[0].startswith("1 documents, ")
    assert HOMELAND in out and RESULTS in out
    assert f"[1] {ARTICLE}:" in out
    assert "The documents don't cover this question" in out


SCROGGIN = "said Capt. Jeff Scroggin, a spokesman for the Sheriff’s Department"


def test_follow_ups_swap_the_subject_and_resolve_pronouns_to_who_was_quoted(tmp_path, corpus):
    """Pipe mode, no LLM: the rules alone."""
    questions = (
        f"{BECK}\nWhat about the sheriff?\n/reset\n"
        "What did the Sheriff's Department spokesman say?\nWhat is his name?\n"
    )
    proc = chat_in_a_pipe(tmp_path, corpus, questions)
    answers = proc.stdout.split("\n\n(taking this as: ")
    assert len(answers) == 3, proc.stdout
    sheriff = answers[1].split("\n\n")[:2]  # the line it was taken as with the answer, then its sources
    assert sheriff[0].startswith("What did the sheriff say about working with Homeland Security?)")
    said = "\n\n".join(
        sheriff
    )  # the quote now starts at its opening mark, so the preview may end before the attribution
    assert "Sheriff’s Department" in said and SCROGGIN in said
    assert HOMELAND not in said and "Los Angeles Police Chief Charlie Beck" not in said
    name = answers[2]
    assert name.startswith("What is Capt. Jeff Scroggin's name?)") and SCROGGIN in name
    assert "don't cover" not in name


def test_ctrl_c_stops_a_streaming_draft_and_the_next_question_starts_at_once(tmp_path, corpus):
    """Ctrl-C while the model is writing: nothing more of that draft appears, and the next answer
    doesn't wait for the cancelled one (which would take 40 s more to stream)."""
    pexpect = pytest.importorskip("pexpect")
    slow = " ".join(f"word{i}" for i in range(100))  # one word every 0.4 s
    with FakeLLM(default=f"{HOMELAND} [1]") as llm:
        llm.replies.append(("slow", (slow, 0.4)))
        child = chat_with_llm(pexpect, tmp_path, corpus, llm, llm_timeout=60, timeout=60)
        try:
            child.expect_exact(PROMPT)
            child.sendline("What did Mayor Garcetti say?")
            child.expect_exact("word3 ")
            child.sendintr()
            child.expect_exact("cancelled")
            child.expect_exact(PROMPT)
            child.sendline(BECK)
            child.expect_exact(PROMPT)
            after = plain(child.before)
            assert HOMELAND in after
            # The next answer didn't wait for the cancelled draft: that stream was never read to its end.
            assert llm.requests and 0 not in llm.completed
            time.sleep(2)  # must NOT happen: the cancelled stream would have written 5 more words by now
            child.sendline("/help")
            child.expect_exact(PROMPT)
            later = after + plain(child.before)
            assert not re.search(r"\bword(?:[1-9]\d)\b", later), later  # no word of the draft after the cancel
        finally:
            child.close(force=True)
