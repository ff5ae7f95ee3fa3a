"""Generative answers through the real llama-index client against a loopback fake server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ARTICLE, BUNDLED
from fake_llm import FakeLLM
from test_answers import BECK, HOMELAND

pytestmark = pytest.mark.slow

GOOD = "Chief Beck said the LAPD will not work with Homeland Security on deportation efforts [1]."
ACCEPTANCE = GOOD + " The LAPD has 50,000 officers [1]. [7]"
SCRIPT = Path(sys.executable).parent / "assistant"


@pytest.fixture(scope="module")
def llm():
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder, llm):
    from assistant.config import Settings
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("llm")
    shutil.copytree(BUNDLED, root / "corpus")
    e = Engine(Settings(corpus=root / "corpus", data_dir=root / "data", llm_base_url=llm.base_url, llm_timeout=2),
               embedder=embedder)
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


def test_an_out_of_range_number_never_becomes_a_citation(engine, llm):
    answer = ask(engine, llm, ("text", GOOD.replace("[1]", "[1][7]")))
    assert [c.n for c in answer.citations] == [1] and "[7]" not in answer.text
    assert answer.trace["out_of_range"] == [7]


def test_a_fabricated_sentence_citing_a_real_source_is_dropped(engine, llm):
    fabricated = "Chief Beck announced a new partnership with the FBI to deport gang members [1]."
    answer = ask(engine, llm, ("text", f"{GOOD} {fabricated}"))
    assert answer.mode == "llm" and answer.dropped == (fabricated.replace(" [1]", ""),)
    assert "FBI" not in answer.text and [c.quote for c in answer.citations] == [HOMELAND]


def test_an_uncited_sentence_is_dropped(engine, llm):
    answer = ask(engine, llm, ("text", f"{GOOD} He is very popular with officers."))
    assert answer.dropped == ("He is very popular with officers.",) and "popular" not in answer.text


def test_the_refusal_phrase_is_an_abstention(engine, llm):
    answer = ask(engine, llm, ("text", "The sources do not answer this question."), question="Who won the 2020 World Series?")
    assert answer.abstained and answer.mode == "llm" and answer.citations == ()


def test_nothing_supported_falls_back_to_quotes_and_says_so(engine, llm):
    answer = ask(engine, llm, ("text", "The LAPD has 50,000 officers [1]. It was founded in 1869 [2]."))
    assert answer.mode == "extractive" and len(answer.dropped) == 2
    assert "no sentence of the LLM's answer was supported" in answer.trace["notice"]
    assert any(HOMELAND in c.quote for c in answer.citations)


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
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1",
           "ASSISTANT_LLM_BASE_URL": llm.base_url, "ASSISTANT_CORPUS": str(BUNDLED)}
    llm.replies[:] = [("text", ACCEPTANCE)]
    proc = subprocess.run([str(SCRIPT), "ask", "--json", BECK], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "llm"
    assert data["answer"].startswith("Chief Beck said the LAPD will not work with Homeland Security")
    assert [c["quote"] for c in data["citations"]] == [HOMELAND] and all(c["n"] != 7 for c in data["citations"])
    assert data["dropped"] == ["The LAPD has 50,000 officers."]

    with FakeLLM() as stopped:
        url = stopped.base_url  # a port that was just serving and now refuses connections
    env["ASSISTANT_LLM_BASE_URL"] = url
    proc = subprocess.run([str(SCRIPT), "ask", "--json", BECK], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "extractive" and data["llm_error"] == "cannot reach the LLM server"
    assert any(HOMELAND in c["quote"] for c in data["citations"])
    assert "cannot reach the LLM server" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_chat_streams_the_draft_then_shows_the_verified_answer(tmp_path, llm):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1",
           "ASSISTANT_LLM_BASE_URL": llm.base_url, "ASSISTANT_CORPUS": str(BUNDLED)}
    llm.replies[:] = [("text", ACCEPTANCE)]
    proc = subprocess.run([str(SCRIPT), "chat"], input=BECK + "\n", env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    draft, _, verified = proc.stdout.partition("\n--\n")
    assert ACCEPTANCE in draft
    assert verified.startswith("Chief Beck said the LAPD will not work with Homeland Security on deportation efforts. [1]")
    assert "Left out, not supported by the sources:\n  - The LAPD has 50,000 officers." in verified
    assert HOMELAND in verified and "[7]" not in verified


def test_eval_runs_in_llm_mode(engine, llm):
    from assistant import evaluate

    text = (engine.index.root / ARTICLE).read_text(encoding="utf-8")
    gold = ("Homeland Security", text.index("Homeland Security"))
    questions = [evaluate.GoldQuestion("b1", BECK, ARTICLE, True, (gold,)),
                 evaluate.GoldQuestion("w1", "Who won the 2020 World Series?", ARTICLE, False)]
    llm.replies[:] = [("text", ACCEPTANCE), ("text", "The sources do not answer this question.")]
    groups, records = evaluate.run(engine, questions)
    assert [r["mode"] for r in records] == ["llm", "llm"]
    m = groups["all"]
    assert m["citation_validity"] == 1.0 and m["citation_recall"] == 1.0 and m["answer_correct"] == 1.0
    assert m["unanswerable_abstained"] == 1.0 and m["hit@5"] == 1.0
