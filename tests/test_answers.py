"""Extractive answers with exact-span citations, and abstention, on the real stack."""

from __future__ import annotations

import pytest

from assistant.testing import assert_abstains, assert_cites

from data import ARTICLE, BECK, BUNDLED, HOMELAND, OFF_TOPIC

pytestmark = pytest.mark.slow

ANSWERABLE = [
    (BECK, HOMELAND),
    ("Did the election change anything for the LAPD?", "changed"),
    ("How many immigrants without documentation live in Los Angeles County?", "more than 1 million"),
    ("When was the special order mandated?", "In 1979"),
    ("What did Mayor Eric Garcetti say?", "we will speak up, speak out, act up\u00a0and act out"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    import shutil

    from assistant.config import Settings
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("c") / "corpus"
    shutil.copytree(BUNDLED, root)
    e = Engine(Settings(corpus=root, data_dir=root.parent / "data"), embedder=embedder)
    e.sync()
    return e


@pytest.mark.parametrize("question, expected", ANSWERABLE)
def test_answer_quotes_the_passage_with_an_exact_citation(engine, question, expected):
    answer = engine.answer(question)
    text = (engine.index.root / ARTICLE).read_text(encoding="utf-8")
    assert not answer.abstained
    assert answer.citations and all(f"[{c.n}]" in answer.text for c in answer.citations)
    for c in answer.citations:
        assert c.source == ARTICLE
        assert c.quote == text[c.start : c.end]
    assert_cites(answer, source=ARTICLE, contains=expected)
    assert expected in answer.text


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_questions_the_documents_do_not_cover_are_refused(engine, question):
    answer = engine.answer(question)
    assert_abstains(answer)
    assert answer.to_json()["citations"] == [] and "don't cover" in answer.text


def test_answer_json_follows_the_contract(engine):
    data = engine.answer(BECK).to_json()
    assert set(data) >= {"question", "answer", "abstained", "mode", "citations"}
    assert data["question"] == BECK and data["mode"] == "extractive" and data["abstained"] is False
    for c in data["citations"]:
        assert set(c) >= {"n", "source", "start", "end", "quote", "score"}
        assert isinstance(c["start"], int) and isinstance(c["score"], float)


def test_a_stale_index_never_cites_changed_text(engine, tmp_path):
    """If the file changed after indexing, a quote that no longer matches is dropped, not shown."""
    path = engine.index.root / ARTICLE
    original = path.read_bytes()
    try:
        path.write_text(original.decode("utf-8").replace("Homeland Security", "Homeland  Security"), encoding="utf-8")
        answer = engine.answer(BECK)  # no sync on purpose
        text = path.read_text(encoding="utf-8")
        assert all(c.quote == text[c.start : c.end] for c in answer.citations)
        assert answer.trace["rejected"]
    finally:
        path.write_bytes(original)


def test_an_on_topic_question_the_article_does_not_answer_lists_related_passages(engine):
    answer = engine.answer("How long has Charlie Beck been the LAPD's chief?")
    data = answer.to_json()
    assert data["abstained"] is True and data["citations"] == []
    assert "Charlie Beck" in data["answer"] and "how long" in data["answer"]
    text = (engine.index.root / ARTICLE).read_text(encoding="utf-8")
    assert data["related"] and all(text[r["start"] : r["end"]] == r["quote"] for r in data["related"])
    assert any("Beck" in r["quote"] for r in data["related"])
    from bots.render import render_text

    shown = render_text(answer)
    assert "Related passages (they don't answer the question):" in shown and "Sources:" not in shown


def test_who_is_a_person_the_article_names_is_answered_with_the_naming_sentence(engine):
    answer = engine.answer("Who is Daryl Gates?")
    assert_cites(answer, source=ARTICLE, contains="mandated by then-chief Daryl Gates")


def test_what_a_speaker_said_quotes_that_speaker_and_nobody_else(engine):
    answer = engine.answer("What did the Sheriff's Department say about immigration status?")
    assert_cites(answer, source=ARTICLE, contains="We never ask about immigration status.")
    assert not any("solely based on somebody’s immigration status" in c.quote for c in answer.citations)
    speakers = {s["speaker"] for s in answer.trace["sentences"] if s["chosen"]}
    assert speakers == {"Capt. Jeff Scroggin, a spokesman for the Sheriff’s Department"}  # read back from the index
    beck = engine.answer(BECK)
    assert_cites(beck, source=ARTICLE, contains=HOMELAND)
    assert all("Scroggin" not in c.quote and "never ask" not in c.quote for c in beck.citations)
