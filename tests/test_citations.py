"""Citation post-processing: verify, merge, number, mark. Many tiny string cases."""

from __future__ import annotations

from assistant.answering.cite import Evidence, merge, number, quoted_answer
from assistant.answering.cite import check_quotes as verify

TEXT = "Alpha one. Beta two.\n\nGamma three. Delta four."
DOCS = {"a.txt": TEXT, "b.txt": "Other file here."}


def ev(source: str, start: int, end: int, score: float = 0.5, quote: str | None = None) -> Evidence:
    return Evidence(source, start, end, DOCS.get(source, "")[start:end] if quote is None else quote, score)


def span(sub: str, source: str = "a.txt", score: float = 0.5) -> Evidence:
    i = DOCS[source].index(sub)
    return ev(source, i, i + len(sub), score)


def test_verify_accepts_exact_quotes():
    valid, invalid = verify([span("Beta two."), span("Other file here.", "b.txt")], DOCS.get)
    assert len(valid) == 2 and invalid == []


def test_verify_rejects_a_quote_that_differs_from_the_source():
    valid, invalid = verify([ev("a.txt", 0, 10, quote="Alpha One.")], DOCS.get)
    assert valid == [] and invalid[0].quote == "Alpha One."


def test_verify_rejects_offsets_out_of_range_and_empty_spans():
    cases = [ev("a.txt", 40, 80, quote="x"), ev("a.txt", -1, 3, quote="Alp"), ev("a.txt", 5, 5, quote="")]
    valid, invalid = verify(cases, DOCS.get)
    assert valid == [] and len(invalid) == 3


def test_verify_rejects_a_source_that_is_gone():
    valid, invalid = verify([ev("gone.txt", 0, 3, quote="abc")], DOCS.get)
    assert valid == [] and len(invalid) == 1


def test_merge_joins_adjacent_sentences_into_one_exact_passage():
    merged = merge([span("Beta two."), span("Alpha one.")], DOCS.get)
    assert len(merged) == 1
    assert merged[0].quote == "Alpha one. Beta two." == TEXT[merged[0].start : merged[0].end]


def test_merge_joins_across_a_paragraph_break():
    merged = merge([span("Beta two."), span("Gamma three.")], DOCS.get)
    assert [m.quote for m in merged] == ["Beta two.\n\nGamma three."]


def test_merge_keeps_distant_spans_apart_in_reading_order():
    merged = merge([span("Delta four.", score=0.9), span("Alpha one.", score=0.4)], DOCS.get)
    assert [m.quote for m in merged] == ["Alpha one.", "Delta four."]


def test_merge_orders_sources_by_their_best_evidence():
    merged = merge([span("Alpha one.", score=0.4), span("Other file here.", "b.txt", score=0.8)], DOCS.get)
    assert [m.source for m in merged] == ["b.txt", "a.txt"]


def test_merge_of_overlapping_spans_keeps_the_union_and_best_score():
    merged = merge([span("Alpha one. Beta", score=0.3), span("Beta two.", score=0.7)], DOCS.get)
    assert [(m.quote, m.score) for m in merged] == [("Alpha one. Beta two.", 0.7)]


def test_number_assigns_one_to_n_in_order():
    cites = number([span("Gamma three."), span("Alpha one.")])
    assert [(c.n, c.quote) for c in cites] == [(1, "Gamma three."), (2, "Alpha one.")]


def test_quoted_answer_puts_a_marker_after_each_passage_on_one_line():
    cites = number(merge([span("Beta two."), span("Gamma three."), span("Other file here.", "b.txt", 0.1)], DOCS.get))
    assert quoted_answer(cites) == "Beta two. Gamma three. [1] Other file here. [2]"
    assert cites[0].quote == "Beta two.\n\nGamma three."


def test_citation_json_has_the_contract_fields():
    c = number([span("Beta two.")])[0]
    assert c.to_json() == {"n": 1, "source": "a.txt", "start": 11, "end": 20, "quote": "Beta two.", "score": 0.5}


def test_the_same_words_in_several_files_are_quoted_once_and_the_other_places_listed():
    from assistant.types import Citation, Place

    copies = {**DOCS, "c.txt": "Intro. " + TEXT, "d.txt": TEXT}
    found = [
        Evidence("a.txt", 11, 20, "Beta two.", 0.9),
        Evidence("b.txt", 0, 16, "Other file here.", 0.8),
        Evidence("c.txt", 18, 27, "Beta two.", 0.9),
        Evidence("d.txt", 11, 20, "Beta two.", 0.7),
    ]
    cites = number(found)
    assert [(c.n, c.source, c.quote) for c in cites] == [(1, "a.txt", "Beta two."), (2, "b.txt", "Other file here.")]
    assert cites[0].also == (Place("c.txt", 18, 27), Place("d.txt", 11, 20))
    assert all(copies[p.source][p.start : p.end] == cites[0].quote for p in cites[0].also)
    assert quoted_answer(cites) == "Beta two. [1] Other file here. [2]"
    data = cites[0].to_json()
    assert data["also"] == [{"source": "c.txt", "start": 18, "end": 27}, {"source": "d.txt", "start": 11, "end": 20}]
    assert Citation.from_json(data) == cites[0]
    assert "also" not in cites[1].to_json()  # only where there are other places
