"""What a careful reader would not do: quote a table's header row as the answer about a cell,
or cite a spokesman from the middle of a quotation that opened a sentence earlier."""

from __future__ import annotations

import pytest

from assistant.answering.candidates import HEADER_ROW, NO_WORDS, gather, header_rows
from assistant.answering.cite import Evidence, from_opening_quote, open_quote
from assistant.answering.question import ask_of
from index.chunking import Chunk, sentences_of
from index.search import Hit, SentenceHit


@pytest.mark.parametrize(
    "text, at",
    [
        ("No quotes here.", -1),
        ("“We will not,” he said.", -1),  # closed
        ("He said: “We will not.", 9),
        ("“First.” Then “second, and", 14),
        ("“Outer ‘inner’ and", 0),
        ('He said: "We will not.', 9),
        ('"Closed." Then "open', 15),
        ('"Closed." Then', -1),
        ("A stray ” closes nothing", -1),
    ],
)
def test_open_quote_finds_the_quotation_still_open(text, at):
    assert open_quote(text) == at


def ev(text: str, sentence: str) -> Evidence:
    start = text.index(sentence)
    return Evidence("a.txt", start, start + len(sentence), sentence, 0.9)


def test_a_sentence_in_the_middle_of_a_quotation_is_cited_from_its_opening_mark():
    text = "Intro.\n\nThe spokesman said: “We will not help. It is not our job.” Then he left."
    e = from_opening_quote(ev(text, "It is not our job.”"), text)
    assert e.quote == "“We will not help. It is not our job.”"
    assert text[e.start : e.end] == e.quote


def test_a_quotation_is_not_followed_back_past_its_paragraph():
    text = "He said: “Here it begins.\n\nA new paragraph. It goes on.”"
    e = ev(text, "It goes on.”")
    assert from_opening_quote(e, text) == e


def test_sentences_outside_quotations_and_whole_quotes_are_left_alone():
    text = "“We will not,” he said. The chief agreed."
    for sentence in ("The chief agreed.", "“We will not,” he said."):
        e = ev(text, sentence)
        assert from_opening_quote(e, text) == e


def test_a_stale_quote_is_not_widened():
    text = "He said: “One. Two.”"
    e = Evidence("a.txt", 0, 3, "xyz", 0.5)
    assert from_opening_quote(e, text) == e


def test_a_quotation_opened_too_far_back_is_not_followed():
    text = "“" + "Word. " * 200 + "Last.”"
    e = ev(text, "Last.”")
    assert from_opening_quote(e, text) == e


TABLE = "Fees for the parking garage.\n\n| Service | Fee |\n|---|---|\n| Daily pass | $20 |\n| Monthly pass | $150 |"


def table_hits(text: str = TABLE) -> list[Hit]:
    from index.sentences import split

    chunk = Chunk("c", "fees.md", 0, len(text), text, sentences=tuple(split(text)))
    return [Hit(chunk, 1.0, sentences=tuple(SentenceHit(s, 0.6, 0.5, 0.8) for s in sentences_of(chunk)))]


def test_a_tables_header_row_is_set_aside_but_its_cells_rows_are_not():
    hits = table_hits()
    headers = header_rows(hits)
    texts = {sh.sentence.id: sh.sentence.text for sh in hits[0].sentences}
    assert [texts[i] for i in headers] == ["| Service | Fee |"]
    c = gather(hits, ask_of("What is the fee for a daily pass?"), frozenset(), 0.4)
    assert HEADER_ROW in c.set_aside.values() and NO_WORDS in c.set_aside.values()  # and "|---|---|"
    assert "| Daily pass | $20 |" in [r.hit.sentence.text for r in c.allowed]


def test_rows_without_a_separator_under_them_are_rows():
    text = "| Daily pass | $20 |\n| Monthly pass | $150 |"
    assert header_rows(table_hits(text)) == set()


FEES = """# Parking garage

The garage on Elm Street is open from 6 am to midnight.

| Pass | Price per month |
|---|---|
| Daily pass | $20 |
| Monthly pass | $150 |
| Night pass | $90 |
"""

STATEMENT = """Police will not check papers

The department will not take part in immigration raids, officials said on Tuesday.

"We are not going to be involved in enforcement of federal immigration law. Our deputies have enough to do keeping the county safe. That is not our job," said Nicole Nishida, a spokeswoman for the Sheriff's Department.

The mayor did not comment.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "parking.md").write_text(FEES, encoding="utf-8")
    (corpus / "statement.txt").write_text(STATEMENT, encoding="utf-8")
    e = Engine(Settings(corpus=corpus, data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    e.sync()
    return e


@pytest.mark.slow
def test_a_question_about_a_cell_is_not_answered_with_the_header_row(engine):
    answer = engine.answer("What is the price per month of the monthly pass?")
    quotes = [c.quote for c in answer.citations]
    assert not answer.abstained, answer.text
    assert all("| Pass | Price per month |" not in q for q in quotes), quotes
    assert any("$150" in q for q in quotes), quotes


@pytest.mark.slow
def test_a_spokeswomans_quote_is_cited_from_its_opening_mark(engine):
    answer = engine.answer("What did the spokeswoman for the Sheriff's Department say?")
    assert not answer.abstained, answer.text
    quote = next(c.quote for c in answer.citations if c.source == "statement.txt")
    assert quote.startswith('"We are not going to be involved'), quote


def test_a_heading_is_not_quoted_beside_the_sentence_under_it():
    from assistant.answering.candidates import Neighbourhood, Ranked
    from assistant.answering.select import Scored, choose

    text = "# Parking\n\nVisitors park in lot Q.\n\nThe lot closes at ten."
    chunk = Chunk("c", "p.md", 0, len(text), text, sentences=((0, 9), (11, 34), (36, 58)))
    hits = [Hit(chunk, 1.0, sentences=tuple(SentenceHit(s, 0.6, 0.5, 0.8) for s in sentences_of(chunk)))]
    scored = [Scored(Ranked(sh, None, 1.0), p, {}) for sh, p in zip(hits[0].sentences, (0.8, 0.9, 0.85), strict=True)]
    scored.sort(key=lambda s: -s.p)
    chosen = choose(scored, Neighbourhood(hits), 3, 0.5, 0.1)
    assert [s.ranked.hit.sentence.text for s in chosen] == ["Visitors park in lot Q.", "The lot closes at ten."]
    alone = choose([scored[2]], Neighbourhood(hits), 3, 0.5, 0.1)  # the best may still be a heading
    assert [s.ranked.hit.sentence.text for s in alone] == ["# Parking"]
