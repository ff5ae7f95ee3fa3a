"""The LLM half of the engine with a scripted drafter (the `Drafter` protocol): verification,
refusal and fallback, in-process. The real OpenAI-compatible client is tested in test_llm.py."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

import pytest

from data import ARTICLE, BECK, BUNDLED, GOOD, HOMELAND

pytestmark = pytest.mark.slow


class ScriptedDrafter:
    """Replies with the next scripted draft (or raises it, if it is an exception); records what it was asked."""

    def __init__(self):
        self.replies: list[str | Exception] = []
        self.asked: list[tuple[str, int]] = []
        self.shown: list[str] = []  # the passages' text of the last draft asked for

    def draft(self, question: str, hits: Sequence, on_token=None) -> str:
        self.asked.append((question, len(hits)))
        self.shown = [h.chunk.text for h in hits]
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        for word in reply.split(" "):
            if on_token:
                on_token(word + " ")
        return reply


@pytest.fixture(scope="module")
def drafter():
    return ScriptedDrafter()


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder, drafter):
    from assistant.config import Settings
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("scripted")
    shutil.copytree(BUNDLED, root / "corpus")
    e = Engine(Settings(corpus=root / "corpus", data_dir=root / "data"), embedder=embedder, drafter=drafter)
    e.sync()
    return e


def ask(engine, drafter, *replies, question=BECK):
    drafter.replies[:] = list(replies)
    return engine.answer(question)


def exact(engine, answer) -> bool:
    text = engine.text_of(ARTICLE)
    return all(c.quote == text[c.start : c.end] for c in answer.citations)


def test_a_supported_sentence_is_kept_and_cites_the_sentence_that_supports_it(engine, drafter):
    answer = ask(engine, drafter, GOOD)
    assert answer.mode == "llm" and engine.generative
    assert drafter.asked[-1] == (BECK, len(answer.trace["hits"]))  # every retrieved passage, numbered
    assert answer.text == "Chief Beck said the LAPD will not work with Homeland Security on deportation efforts. [1]"
    assert [c.quote for c in answer.citations] == [HOMELAND] and exact(engine, answer)


def test_an_out_of_range_number_never_becomes_a_citation(engine, drafter):
    answer = ask(engine, drafter, GOOD.replace("[1]", "[1][7]"))
    assert [c.n for c in answer.citations] == [1] and "[7]" not in answer.text
    assert answer.trace["out_of_range"] == [7]


def test_a_fabricated_sentence_citing_a_real_source_is_dropped(engine, drafter):
    fabricated = "Chief Beck announced a new partnership with the FBI to deport gang members [1]."
    answer = ask(engine, drafter, f"{GOOD} {fabricated}")
    assert answer.mode == "llm" and answer.dropped == (fabricated.replace(" [1]", ""),)
    assert answer.trace["dropped_reasons"] == ["not supported by the sources it cites"]
    assert "FBI" not in answer.text and [c.quote for c in answer.citations] == [HOMELAND]


def test_a_made_up_number_is_never_supported(engine, drafter):
    answer = ask(
        engine, drafter, f"{GOOD} The LAPD will not work with Homeland Security on 12 deportation efforts [1]."
    )
    assert answer.dropped == ("The LAPD will not work with Homeland Security on 12 deportation efforts.",)


def test_an_uncited_sentence_is_dropped(engine, drafter):
    answer = ask(engine, drafter, f"{GOOD} He is very popular with officers.")
    assert answer.dropped == ("He is very popular with officers.",) and "popular" not in answer.text
    assert answer.trace["dropped_reasons"] == ["cites no source"]


def test_the_refusal_phrase_is_an_abstention(engine, drafter):
    from assistant.prompts import REFUSAL

    answer = ask(engine, drafter, REFUSAL.upper())
    assert answer.abstained and answer.mode == "llm" and answer.citations == ()


def test_a_question_the_documents_do_not_come_near_never_reaches_the_model(engine, drafter):
    asked = len(drafter.asked)
    answer = ask(engine, drafter, question="Who won the 2020 World Series?")
    assert answer.abstained and answer.mode == "extractive" and len(drafter.asked) == asked


def test_nothing_supported_falls_back_to_quotes_and_says_so(engine, drafter):
    answer = ask(engine, drafter, "The LAPD has 50,000 officers [1]. It was founded in 1869 [2].")
    assert answer.mode == "extractive" and len(answer.dropped) == 2
    assert "no sentence of the LLM's answer was supported" in answer.trace["notice"]
    assert any(HOMELAND in c.quote for c in answer.citations) and exact(engine, answer)


def test_a_drafter_failure_is_the_extractive_answer_with_the_reason(engine, drafter):
    from assistant.llm.drafter import LlmError

    answer = ask(engine, drafter, LlmError("the LLM server did not answer in time"))
    assert answer.mode == "extractive" and answer.llm_error == "the LLM server did not answer in time"
    assert any(HOMELAND in c.quote for c in answer.citations)


def test_tokens_reach_on_token_and_the_verified_answer_follows(engine, drafter):
    tokens: list[str] = []
    drafter.replies[:] = [GOOD]
    answer = engine.answer(BECK, on_token=tokens.append)
    assert "".join(tokens).strip() == GOOD and answer.mode == "llm"


def test_on_a_near_miss_the_models_refusal_wins_and_the_fallback_is_guarded(engine, drafter):
    from assistant.prompts import REFUSAL

    tenure = "How long has Charlie Beck been the LAPD's chief?"
    refused = ask(engine, drafter, REFUSAL, question=tenure)
    assert refused.abstained and refused.mode == "llm" and not refused.citations
    assert refused.related and all(engine.text_of(ARTICLE)[r.start : r.end] == r.quote for r in refused.related)
    # The model answers with nothing the sources support: the extractive fallback, itself a near-miss abstention.
    fallback = ask(engine, drafter, "Charlie Beck has been chief for 12 years [1].", question=tenure)
    assert fallback.abstained and fallback.mode == "extractive" and not fallback.citations
    assert "don't say how long" in fallback.text and fallback.related


def test_what_was_already_quoted_is_not_shown_to_the_model_again(engine, drafter):
    text = engine.text_of(ARTICLE)
    start = text.index(HOMELAND)
    ask(engine, drafter, GOOD)
    assert any(HOMELAND in t for t in drafter.shown)
    drafter.replies[:] = [GOOD]
    answer = engine.answer(BECK, exclude=frozenset({(ARTICLE, start, start + len(HOMELAND))}))
    assert drafter.shown and not any(HOMELAND in t for t in drafter.shown)
    assert not any(HOMELAND in c.quote for c in answer.citations)  # nor can it be cited


def test_copies_of_a_file_are_quoted_once_with_the_other_files_listed(tmp_path, embedder):
    """Three copies of the article: the extractive answer quotes Chief Beck's words once, and a
    draft citing the same words in two copies gets one number; every place is exact."""
    from assistant.config import Settings
    from assistant.engine import Engine
    from assistant.evaluation.evaluate import citation_valid

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (ARTICLE, "copy-1.txt", "copy-2.txt"):
        shutil.copy(BUNDLED / ARTICLE, corpus / name)
    scripted = ScriptedDrafter()
    engine = Engine(Settings(corpus=corpus, data_dir=tmp_path / "data"), embedder=embedder)
    engine.sync()

    answer = engine.answer(BECK)
    holding = [c for c in answer.citations if HOMELAND in c.quote]
    assert len(holding) == 1 and answer.text.count(HOMELAND) == 1
    assert {holding[0].source, *(p.source for p in holding[0].also)} == {ARTICLE, "copy-1.txt", "copy-2.txt"}
    assert all(citation_valid(c.to_json(), engine.text_of) for c in answer.citations)

    engine.drafter = scripted
    scripted.replies[:] = [GOOD.replace("[1]", "[1][2][3]")]
    drafted = engine.answer(BECK)
    assert drafted.mode == "llm" and len(scripted.shown) >= 2
    assert drafted.text.count("[") == 1 and len(drafted.citations) == 1
    assert all(citation_valid(c.to_json(), engine.text_of) for c in drafted.citations)
