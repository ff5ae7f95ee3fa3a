"""The real OpenAI-compatible client (llama-index's OpenAILike) against a loopback server that
speaks the protocol: a good answer, streaming, each way the server can fail, and the command
line and chat in LLM mode. Verification logic is tested in-process in test_engine_llm.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

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
    before = len(llm.requests)
    answer = ask(engine, llm, reply)
    assert answer.mode == "extractive" and reason in answer.llm_error, answer.llm_error
    assert any(HOMELAND in c.quote for c in answer.citations)
    # Without hanging: one request, given up on (a retry would have been answered at once, in LLM
    # mode); a hung one was not waited out (the server had not finished writing it).
    assert len(llm.requests) == before + 1
    if reply[0] == "hang":
        assert before not in llm.completed


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
    from assistant.evaluation import evaluate

    text = (engine.index.root / ARTICLE).read_text(encoding="utf-8")
    gold = ("Homeland Security", text.index("Homeland Security"))
    questions = [
        evaluate.GoldQuestion("b1", BECK, ARTICLE, True, (gold,)),
        evaluate.GoldQuestion("w1", "Who won the 2020 World Series?", ARTICLE, False),
    ]
    llm.replies[:] = [("text", ACCEPTANCE)]
    groups, records = evaluate.run(engine, questions)
    assert [r["mode"] for r in records] == ["llm", "extractive"]  # off topic: the model isn't asked
    m = groups["all"]
    assert m["citation_validity"] == 1.0 and m["citation_recall"] == 1.0 and m["answer_correct"] == 1.0
    assert m["unanswerable_abstained"] == 1.0 and m["hit@5"] == 1.0


def test_every_request_caps_the_draft_and_a_cut_draft_says_so(engine, llm):
    answer = ask(engine, llm, ("cut", GOOD))
    assert llm.requests[-1]["max_tokens"] == 512  # ASSISTANT_LLM_MAX_TOKENS' default
    assert answer.mode == "llm" and answer.draft_cut == "cut at 512 tokens (ASSISTANT_LLM_MAX_TOKENS)"
    assert answer.to_json()["draft_cut"] == answer.draft_cut
    # Cut with nothing that holds: the quotes, and the reason as the LLM's trouble.
    fallback = ask(engine, llm, ("cut", "The LAPD has 50,000 officers [1]."))
    assert fallback.mode == "extractive" and fallback.llm_error == fallback.draft_cut
    assert_exact(engine, fallback)


def test_a_stream_that_repeats_itself_is_stopped(engine, llm):
    loop = GOOD + " " + " ".join(["The LAPD will not help with deportations and says so again."] * 40)
    tokens: list[str] = []
    answer = ask(engine, llm, ("text", loop), on_token=tokens.append)
    assert answer.draft_cut == "stopped: the draft was repeating itself"
    assert len("".join(tokens)) < len(loop) / 4  # it stopped reading the stream
    assert answer.mode == "llm" and any(HOMELAND in c.quote for c in answer.citations)


def test_a_follow_up_is_rewritten_by_the_model_and_searched_beside_the_rules(engine, llm):
    from assistant.conversation.session import Session

    session = Session(engine)
    llm.replies[:] = [("text", GOOD)]
    session.ask(BECK)
    wanted = "What did the Sheriff's Department say about working with Homeland Security?"
    llm.replies[:] = [("text", wanted), ("text", GOOD)]
    turn = session.ask("What about the sheriff?")
    rewrite = turn.answer.trace["rewrite"]
    assert rewrite == {"text": wanted, "accepted": True, "why": ""}
    assert rewrite["text"] in turn.answer.trace["queries"] and len(turn.answer.trace["queries"]) == 2
    assert "Standalone question" in llm.requests[-2]["messages"][-1]["content"]  # the rewrite came first
    assert turn.answer.to_json()["query"] == "What did the sheriff say about working with Homeland Security?"


@pytest.mark.parametrize(
    "reply, why",
    [
        (("status", 500), "the LLM server answered HTTP 500"),
        (("text", "Pizza toppings ranked by popularity?"), "shares no word with the conversation"),
        (("text", "The sources do not answer this question."), "a refusal, not a question"),
        (("text", "x" * 400), "not one short question"),
    ],
)
def test_a_failed_or_untrustworthy_rewrite_leaves_the_rules_alone(engine, llm, reply, why):
    from assistant.conversation.session import Session

    session = Session(engine)
    llm.replies[:] = [("text", GOOD)]
    session.ask(BECK)
    llm.replies[:] = [reply, ("text", GOOD)]
    turn = session.ask("Did the election change anything for his department?")
    assert turn.answer.trace["rewrite"]["accepted"] is False and turn.answer.trace["rewrite"]["why"] == why
    assert turn.answer.trace["queries"] == [turn.resolved.query]
    assert turn.resolved.understood == "Did the election change anything for Chief Beck's department?"
