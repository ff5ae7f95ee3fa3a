"""LLM mode against a real model server (the `llm_server` tier): llama-cpp-python serving
SmolLM2-135M-Instruct on loopback. A small model writes what real ones write (citations in
other forms or none, run-on sentences, loops), so every answer must still cite exact text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from data import ARTICLE, BECK, BUNDLED, SCRIPT

pytestmark = [pytest.mark.llm_server, pytest.mark.slow]

QUESTIONS = [
    BECK,
    "How many undocumented immigrants live in Los Angeles County?",
    "Who is Daryl Gates?",
    "Who won the 2020 World Series?",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("real") / "corpus"
    shutil.copytree(BUNDLED, root)
    return root


def run(args, tmp_path, server, stdin=None, **settings):
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_LLM_BASE_URL": server.base_url,
        "ASSISTANT_LLM_TIMEOUT": "120",
        "HF_HUB_OFFLINE": "1",
        **settings,
    }
    return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, text=True, env=env, timeout=600)


def valid(answer: dict, text: str) -> bool:
    return all(text[c["start"] : c["end"]] == c["quote"] for c in answer["citations"] + answer.get("related", []))


def test_batch_answers_from_the_real_model_cite_exact_text_or_fall_back(tmp_path, corpus, llm_server):
    proc = run(["ask", "--json", "-", "--corpus", str(corpus)], tmp_path, llm_server, stdin="\n".join(QUESTIONS))
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    text = (corpus / ARTICLE).read_text(encoding="utf-8")
    assert [a["question"] for a in answers] == QUESTIONS
    for a in answers:
        assert a["mode"] in ("llm", "extractive") and valid(a, text), a
        assert "in time" not in a.get("llm_error", ""), a  # bounded: no answer ran into the timeout
        if a["mode"] == "extractive" and not a["abstained"] and not a.get("llm_error"):
            assert a.get("dropped"), a  # the model's unsupported sentences are shown as left out
    assert answers[-1]["abstained"]  # nothing in the article: the model's words can't make it an answer


def test_chat_streams_from_the_real_model_and_the_model_rewrites_follow_ups(tmp_path, corpus, llm_server):
    proc = run(
        ["chat", "--corpus", str(corpus)],
        tmp_path,
        llm_server,
        stdin=f"{BECK}\nWhat about the sheriff?\n/why\n",
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"{ARTICLE}:" in out and "Traceback" not in out + proc.stderr
    assert "taking this as: What did the sheriff say about working with Homeland Security?" in out
    assert "LLM rewrite: " in out  # what the model wrote, and whether it was searched


def test_a_draft_over_the_token_cap_is_cut_and_the_answer_says_so(tmp_path, corpus, llm_server):
    proc = run(["ask", "--json", BECK, "--corpus", str(corpus)], tmp_path, llm_server, ASSISTANT_LLM_MAX_TOKENS="16")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["draft_cut"] == "cut at 16 tokens (ASSISTANT_LLM_MAX_TOKENS)"
    assert valid(answer, (corpus / ARTICLE).read_text(encoding="utf-8"))


def test_a_server_slower_than_the_timeout_falls_back_to_quotes(tmp_path, corpus, llm_server):
    proc = run(["ask", "--json", BECK, "--corpus", str(corpus)], tmp_path, llm_server, ASSISTANT_LLM_TIMEOUT="0.05")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["mode"] == "extractive" and answer["llm_error"] == "the LLM server did not answer in time"
    assert answer["citations"] and valid(answer, (corpus / ARTICLE).read_text(encoding="utf-8"))
