"""Sentence spans and chunks slice the document exactly, whatever characters it holds."""

from __future__ import annotations

import itertools

import pytest

from index import sentences
from index.chunking import approx_tokens, chunk, chunk_id
from index.documents import Document, sha256_bytes

from data import ARTICLE, BUNDLED


def doc(text: str, source: str = "t.txt") -> Document:
    return Document(source, text, sha256_bytes(text.encode()))


def texts(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences.split(text)]


def test_spans_are_trimmed_slices_of_the_text():
    text = "  One here.  Two there!\n\nThree?  "
    assert texts(text) == ["One here.", "Two there!", "Three?"]


def test_curly_quotes_and_nbsp_survive_offsets():
    text = "“I don’t intend on doing anything,” said Chief\u00a0Beck. “We are not going.”"
    spans = sentences.split(text)
    assert [text[s:e] for s, e in spans] == [
        "“I don’t intend on doing anything,” said Chief\u00a0Beck.",
        "“We are not going.”",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He met Capt. Jeff Scroggin there. Then left.", ["He met Capt. Jeff Scroggin there.", "Then left."]),
        ("Most live in the U.S. live in LA. Others not.", ["Most live in the U.S. live in LA.", "Others not."]),
        ("See Fig. 3 for details. Done.", ["See Fig. 3 for details.", "Done."]),
        ("Dr. Smith and Mr. Jones met. They talked.", ["Dr. Smith and Mr. Jones met.", "They talked."]),
    ],
)
def test_abbreviations_do_not_end_sentences(text, expected):
    assert texts(text) == expected


def test_blank_lines_and_markdown_structure_end_sentences():
    text = "# Leave policy\nStaff get 30 days\n- item one\n- item two\n\nNew paragraph without stop\nsame para."
    assert texts(text) == [
        "# Leave policy",
        "Staff get 30 days",
        "- item one",
        "- item two",
        "New paragraph without stop\nsame para.",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("9.3.1 A Person applying must pay a fee.", ["A Person applying must pay a fee."]),
        ("1.2.7.Guidance Where a filing is late, a fee is due.", ["Where a filing is late, a fee is due."]),
        ("(2) The Regulator may waive it.", ["The Regulator may waive it."]),
        ("Part 2.4.(1) The Authority is designated.", ["The Authority is designated."]),
        ("1. INTRODUCTION\n\n1.1 Application", ["INTRODUCTION", "Application"]),
        ("2.5 million people live there.", ["2.5 million people live there."]),  # a number, not a clause
        ("(a) every Authorised Person;", ["(a) every Authorised Person;"]),  # a list item's words follow
        ("In 1979, a special order was made.\n\n- 10 -\n\n2.\n\n(b)", ["In 1979, a special order was made."]),
    ],
)
def test_clause_numbers_and_lone_markers_are_no_part_of_a_sentence(text, expected):
    assert texts(text) == expected


def test_bundled_article_chunks_slice_exactly_and_cover_every_sentence():
    text = (BUNDLED / ARTICLE).read_text(encoding="utf-8")
    d = doc(text, ARTICLE)
    chunks = chunk(d, max_tokens=60)
    assert len(chunks) > 3
    covered = set()
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert c.id == chunk_id(ARTICLE, c.start, c.end, c.text)
        for s, e in c.sentences:
            assert c.start <= s < e <= c.end
            covered.add((s, e))
    assert covered == set(sentences.split(text))
    assert "We are not going to work in conjunction with Homeland Security on deportation efforts." in {
        text[s:e] for s, e in covered
    }


def test_chunks_respect_the_window_and_overlap_by_one_sentence():
    text = " ".join(f"Sentence number {i} says a few words." for i in range(40))
    chunks = chunk(doc(text), max_tokens=30)
    for c in chunks:
        assert sum(approx_tokens([text[s:e] for s, e in c.sentences])) <= 30
    for a, b in itertools.pairwise(chunks):
        assert a.sentences[-1] == b.sentences[0]
    assert chunks[-1].end == len(text) - 0 and chunks[0].start == 0


def test_a_sentence_longer_than_the_window_is_cut_at_words():
    text = "word " * 300 + "end."
    chunks = chunk(doc(text), max_tokens=50)
    assert len(chunks) > 5
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert not c.text.startswith(" ") and not c.text.endswith(" ")
        assert len(c.text.split()) <= 50


def test_chunk_ids_are_deterministic_and_depend_on_source_and_text():
    d = doc("Alpha beta. Gamma delta.")
    assert [c.id for c in chunk(d)] == [c.id for c in chunk(d)]
    assert chunk(d)[0].id != chunk(doc("Alpha beta. Gamma delta.", "other.txt"))[0].id
    assert chunk(d)[0].id != chunk(doc("Alpha beta. Gamma deltas."))[0].id
