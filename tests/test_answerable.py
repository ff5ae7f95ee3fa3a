"""The answerability check's pure parts: missing names, adaptive length, and the abstention text."""

from __future__ import annotations

import pytest

from assistant import prompts
from assistant.answering import select as answerable
from assistant.answering.candidates import Neighbourhood, Ranked
from assistant.answering.decide import Verdict
from assistant.answering.question import ask_of
from assistant.answering.select import Scored, missing_names
from assistant.answering.tuning import Linear
from index.chunking import Chunk
from index.search import Hit, SentenceHit


@pytest.mark.parametrize(
    "names, context, quoted, missing",
    [
        (["Charlie", "Beck"], "said Chief Charlie Beck.", "We will not.", []),
        (["Herve"], "was Hervé in the 1050s.", "was Hervé in the 1050s.", []),  # accents
        (["Europe"], "under Western European domination", "", []),  # start of a longer word
        (["Normans"], "the Norman conquest", "", []),  # stem
        (["1100s"], "in the 11th century, 1100s elsewhere", "in the 11th century", ["1100s"]),  # numbers: quoted only
        (["Cyprus", "Turks"], "the conquest of Cyprus", "the conquest of Cyprus", ["Turks"]),
        ([], "anything", "anything", []),
    ],
)
def test_missing_names(names, context, quoted, missing):
    assert missing_names(names, context, quoted) == missing


def _hits(texts: list[str]) -> list[Hit]:
    """One chunk holding `texts` as consecutive sentences (scores are the tests' to set)."""
    spans, at = [], 0
    for t in texts:
        spans.append((at, at + len(t)))
        at += len(t) + 1
    chunk = Chunk("c", "doc.txt", 0, at - 1, " ".join(texts), sentences=tuple(spans))
    from index.chunking import sentences_of

    return [Hit(chunk, 1.0, sentences=tuple(SentenceHit(s, 0.5, 0.5, 1.0) for s in sentences_of(chunk)))]


def _scored(hits: list[Hit], chances: list[float]) -> list[Scored]:
    out = [Scored(Ranked(sh, None, 1.0), p, {}) for sh, p in zip(hits[0].sentences, chances, strict=True)]
    return sorted(out, key=lambda s: -s.p)


def test_adaptive_length_keeps_close_sentences_and_neighbours_not_filler():
    hits = _hits(["A one.", "B two.", "C three.", "D four.", "E five."])
    near = Neighbourhood(hits)
    text = lambda chosen: [s.ranked.hit.sentence.text for s in chosen]  # noqa: E731
    # The best alone when the rest are far below it.
    assert text(answerable.choose(_scored(hits, [0.9, 0.05, 0.3, 0.05, 0.2]), near, 3, 0.5, 0.1)) == ["A one."]
    # A close second is kept wherever it is.
    assert text(answerable.choose(_scored(hits, [0.9, 0.05, 0.05, 0.6, 0.2]), near, 3, 0.5, 0.1)) == [
        "A one.",
        "D four.",
    ]
    # A neighbour of the best needs less; a far sentence with the same chance does not make it.
    chosen = answerable.choose(_scored(hits, [0.05, 0.2, 0.9, 0.05, 0.2]), near, 3, 0.5, 0.1)
    assert sorted(text(chosen)) == ["B two.", "C three."]
    # Never more than the cap.
    assert len(answerable.choose(_scored(hits, [0.9, 0.9, 0.9, 0.9, 0.9]), near, 3, 0.5, 0.1)) == 3
    assert answerable.choose([], near, 3) == []


def test_a_linear_model_is_a_logistic_of_standardised_features():
    model = Linear(("a", "b"), (1.0, 0.0), (2.0, 1.0), (1.0, -1.0), 0.5)
    assert model.probability({"a": 1.0, "b": 0.0}) == pytest.approx(0.6225, abs=1e-4)
    assert model.probability({"a": 5.0, "b": 0.0}) > model.probability({"a": 1.0, "b": 0.0})
    assert model.probability({"a": 1.0, "b": 3.0}) < 0.5


@pytest.mark.parametrize(
    "question, verdict, related, text",
    [
        (
            "How long has Charlie Beck been the LAPD's chief?",
            Verdict(False, 0.2, {}, (), "duration"),
            "said Los Angeles Police Chief Charlie Beck. The LAPD has kept its distance.",
            "The documents mention Charlie Beck and LAPD but don't say how long.",
        ),
        (
            "Who ruled Cyprus in the 1100s?",
            Verdict(False, 0.2, {}, ("1100s",), ""),
            "The conquest of Cyprus opened a new chapter.",
            "The documents mention Cyprus but say nothing about 1100s.",
        ),
        (
            "what was traded for wool?",
            Verdict(False, 0.2, {}, (), ""),
            "Wool was the main export.",
            prompts.RELATED_NOT_ANSWER,
        ),
        (
            "How many officers does the LAPD employ?",
            Verdict(False, 0.2, {}, (), "number"),
            "Nothing relevant here.",
            prompts.RELATED_NOT_ANSWER,
        ),
    ],
)
def test_an_abstention_says_what_the_documents_mention_and_what_they_lack(question, verdict, related, text):
    assert prompts.missing(ask_of(question), verdict, related) == text
