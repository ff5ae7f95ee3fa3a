"""The real OpenAI-compatible client (llama-index's OpenAILike) against a loopback server that
speaks the protocol: a good answer, streaming, each way the server can fail, and the command
line and chat in LLM mode. Verification logic is tested in-process in test_engine_llm.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from data import ACCEPTANCE, ARTICLE, BECK, BUNDLED, GOOD, HOMELAND, SCRIPT
from fake_llm import FakeLLM

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm():
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder, llm):
    from assistant.config import LlmSettings, Settings
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("llm")
    shutil.copytree(BUNDLED, root / "corpus")
    e = Engine(
        Settings(corpus=root / "corpus", data_dir=root / "data", llm=LlmSettings(base_url=llm.base_url, timeout=2)),
        embedder=embedder,
    )
    e.sync()
    return e


def ask(engine, llm, *replies, question=BECK, **kw):
    llm.replies[:] = list(replies)
    return engine.answer(question, **kw)


def assert_exact(engine, answer):
    text = (engine.index.root / ARTICLE).read_text(encoding="utf-8")
    assert all(c.quote == text[c.start : c.end] for c in answer.citations)


def test_a_good_cited_answer_is_kept_with_the_supporting_sentence(engine, llm):
    answer = ask(engine, llm, ("text", GOOD))
    assert answer.mode == "llm" and not answer.abstained and answer.dropped == ()
    assert answer.text == "Chief Beck said the LAPD will not work with Homeland Security on deportation efforts. [1]"
    assert [c.quote for c in answer.citations] == [HOMELAND]
    assert_exact(engine, answer)
    sent = llm.requests[-1]["messages"]
    assert "[1]" in sent[0]["content"] and HOMELAND in sent[1]["content"]  # numbered sources went out


@pytest.mark.parametrize(
    "reply, reason",
    [
        (("status", 500), "HTTP 500"),
        (("garbage", "this is not json {"), "unusable reply"),
        (("hang", 6), "did not answer in time"),
    ],
)
def test_failures_fall_back_to_the_extractive_answer_without_hanging(engine, llm, reply, reason):
    started = time.monotonic()
    answer = ask(engine, llm, reply)
    elapsed = time.monotonic() - started
    assert answer.mode == "extractive" and reason in answer.llm_error, answer.llm_error
    assert any(HOMELAND in c.quote for c in answer.citations)
    assert elapsed < 5  # the timeout is 2 s; the server would take 6


def test_tokens_stream_then_the_verified_answer_comes(engine, llm):
    tokens: list[str] = []
    answer = ask(engine, llm, ("text", ACCEPTANCE), on_token=tokens.append)
    assert len(tokens) > 5 and "".join(tokens) == ACCEPTANCE
    assert answer.mode == "llm" and [c.quote for c in answer.citations] == [HOMELAND]


def test_the_command_line_acceptance(tmp_path, llm):
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_LLM_BASE_URL": llm.base_url,
        "ASSISTANT_CORPUS": str(BUNDLED),
    }
    llm.replies[:] = [("text", ACCEPTANCE)]
    proc = subprocess.run(
        [str(SCRIPT), "ask", "--json", BECK], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "llm"
    assert data["answer"].startswith("Chief Beck said the LAPD will not work with Homeland Security")
    assert [c["quote"] for c in data["citations"]] == [HOMELAND] and all(c["n"] != 7 for c in data["citations"])
    assert data["dropped"] == ["The LAPD has 50,000 officers."]

    with FakeLLM() as stopped:
        url = stopped.base_url  # a port that was just serving and now refuses connections
    env["ASSISTANT_LLM_BASE_URL"] = url
    proc = subprocess.run(
        [str(SCRIPT), "ask", "--json", BECK], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "extractive" and data["llm_error"] == "cannot reach the LLM server"
    assert any(HOMELAND in c["quote"] for c in data["citations"])
    assert "cannot reach the LLM server" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_chat_streams_the_draft_then_shows_the_verified_answer(tmp_path, llm):
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_LLM_BASE_URL": llm.base_url,
        "ASSISTANT_CORPUS": str(BUNDLED),
    }
    llm.replies[:] = [("text", ACCEPTANCE)]
    proc = subprocess.run(
        [str(SCRIPT), "chat"], input=BECK + "\n", env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    draft, _, verified = proc.stdout.partition("\n--\n")
    assert ACCEPTANCE in draft
    assert verified.startswith(
        "Chief Beck said the LAPD will not work with Homeland Security on deportation efforts. [1]"
    )
    assert "Left out, not supported by the sources:\n  - The LAPD has 50,000 officers." in verified
    assert HOMELAND in verified and "[7]" not in verified


def test_eval_runs_in_llm_mode(engine, llm):
    from assistant import evaluate

    text = (engine.index.root / ARTICLE).read_text(encoding="utf-8")
    gold = ("Homeland Security", text.index("Homeland Security"))
    questions = [
        evaluate.GoldQuestion("b1", BECK, ARTICLE, True, (gold,)),
        evaluate.GoldQuestion("w1", "Who won the 2020 World Series?", ARTICLE, False),
    ]
    llm.replies[:] = [("text", ACCEPTANCE), ("text", "The sources do not answer this question.")]
    groups, records = evaluate.run(engine, questions)
    assert [r["mode"] for r in records] == ["llm", "llm"]
    m = groups["all"]
    assert m["citation_validity"] == 1.0 and m["citation_recall"] == 1.0 and m["answer_correct"] == 1.0
    assert m["unanswerable_abstained"] == 1.0 and m["hit@5"] == 1.0
