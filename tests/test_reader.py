"""The reader: its features (pure), selection ordered by any reader (a scripted one here), the
hand rules switched off by name, and the shipped ONNX weights (size, offline load, same scores)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.answering import select as selection
from assistant.answering.candidates import gather
from assistant.answering.decide import decide
from assistant.answering.question import ask_of
from assistant.answering.reader import KINDS, MODEL, SCALARS, OnnxReader, features
from assistant.answering.tuning import RULES, TUNING
from index.chunking import Chunk, sentences_of
from index.search import Hit, SentenceHit

TEXTS = [
    "The bridge opened in 1932.",
    "It was designed by Ada Lovelace.",
    "Its towers are painted red.",
]


def hits(texts=TEXTS, dense=(0.5, 0.4, 0.3), vectors=None):
    spans, at = [], 0
    for t in texts:
        spans.append((at, at + len(t)))
        at += len(t) + 1
    chunk = Chunk("c", "doc.txt", 0, at - 1, " ".join(texts), sentences=tuple(spans))
    q = np.array([1.0, 0.0], dtype=np.float32) if vectors else None
    out = []
    for i, s in enumerate(sentences_of(chunk)):
        v = vectors[i] if vectors else None
        out.append(SentenceHit(s, dense[i], 0.1, dense[i] + 0.04, v, q))
    return [Hit(chunk, 1.0, sentences=tuple(out))]


class Scripted:
    """A reader whose chances are given per sentence text: selection must follow them."""

    def __init__(self, chances: dict[str, float], texts=TEXTS):
        self.by_row = [chances[t] for t in texts]
        self.seen: list[np.ndarray] = []

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(x)
        # Rows come in the first-order ranking (by dense here, which is the texts' order).
        return np.array(self.by_row[: len(x)], dtype=np.float32)


def test_features_have_one_row_per_candidate_and_say_what_is_asked():
    ask = ask_of("When did the bridge open?")
    c = gather(hits(), ask, frozenset(), 0.4)
    x = features(ask, c.allowed, c.near)
    assert x.shape == (3, len(SCALARS))
    col = {n: i for i, n in enumerate(SCALARS)}
    assert x[0, col["asks_date"]] == 1.0 and x[0, col["asks_person"]] == 0.0
    assert [x[i, col["kind_held"]] for i in range(3)] == [1.0, 0.0, 0.0]  # only "1932" is a date
    assert x[0, col["gap"]] == 0.0 and x[2, col["gap"]] == pytest.approx(0.2)
    assert x[0, col["rank"]] == 0.0 and x[1, col["rank"]] > 0.0
    assert list(x[:, col["context"]]) == pytest.approx([0.5, 0.4, 0.3])  # no vectors: the sentence's cosine


def test_context_is_the_question_against_the_sentence_read_with_its_neighbours():
    # Unit vectors in 2-D: the question is (1, 0); the middle sentence is orthogonal to it,
    # its neighbours are along it, so read in context it is closer than alone.
    vectors = [np.array(v, dtype=np.float32) for v in ((1.0, 0.0), (0.0, 1.0), (1.0, 0.0))]
    ask = ask_of("Who designed the bridge?")
    c = gather(hits(vectors=vectors), ask, frozenset(), 0.4)
    x = features(ask, c.allowed, c.near)
    col = {n: i for i, n in enumerate(SCALARS)}
    by_text = {r.hit.sentence.text: row for r, row in zip(c.allowed, x, strict=True)}
    mean = np.mean([(1, 0), (0, 1), (1, 0)], axis=0)
    assert by_text[TEXTS[1]][col["context"]] == pytest.approx(mean[0] / np.linalg.norm(mean))
    assert by_text[TEXTS[0]][col["context"]] == pytest.approx(np.mean([(1, 0), (0, 1)], axis=0)[0] / np.sqrt(0.5))
    assert by_text[TEXTS[1]][col["proper"]] == 1.0 and by_text[TEXTS[2]][col["proper"]] == 0.0


def test_names_count_in_the_sentence_and_around_it():
    ask = ask_of("What colour did Lovelace paint the towers?")
    c = gather(hits(), ask, frozenset(), 0.4)
    x = features(ask, c.allowed, c.near)
    col = {n: i for i, n in enumerate(SCALARS)}
    by_text = {r.hit.sentence.text: row for r, row in zip(c.allowed, x, strict=True)}
    assert by_text[TEXTS[1]][col["names"]] == 1.0
    assert by_text[TEXTS[2]][col["names"]] == 0.0 and by_text[TEXTS[2]][col["names_near"]] == 1.0


def test_every_kind_of_question_has_its_own_column():
    assert {f"asks_{k}" for k in KINDS} <= set(SCALARS)
    for q, kind in [("How many towers?", "number"), ("Why is it red?", "reason"), ("Who is Ada Lovelace?", "about")]:
        ask = ask_of(q)
        assert ask.kind == kind
        c = gather(hits(), ask, frozenset(), 0.4)
        row = features(ask, c.allowed, c.near)[0]
        assert row[SCALARS.index(f"asks_{kind}")] == 1.0 and sum(row[SCALARS.index(f"asks_{k}")] for k in KINDS) == 1


def test_selection_follows_the_readers_chances():
    ask = ask_of("What colour are the towers?")
    c = gather(hits(), ask, frozenset(), 0.4)
    reader = Scripted({TEXTS[0]: 0.1, TEXTS[1]: 0.05, TEXTS[2]: 0.9})
    s = selection.select(ask, c, lambda a, b: np.zeros((len(a), len(b))), max_sentences=3, reader=reader)
    assert [x.ranked.hit.sentence.text for x in s.chosen] == [TEXTS[2]]
    assert s.scored[0].features["dense"] == pytest.approx(0.3)  # the trace keeps the scalars
    assert len(reader.seen) == 1 and reader.seen[0].shape[0] == 3


def test_close_chances_are_quoted_together():
    ask = ask_of("What colour are the towers?")
    c = gather(hits(), ask, frozenset(), 0.4)
    reader = Scripted({TEXTS[0]: 0.8, TEXTS[1]: 0.05, TEXTS[2]: 0.9})
    s = selection.select(ask, c, lambda a, b: np.zeros((len(a), len(b))), max_sentences=3, reader=reader)
    assert [x.ranked.hit.sentence.text for x in s.chosen] == [TEXTS[2], TEXTS[0]]


def test_the_kind_gate_refuses_only_while_it_is_a_rule():
    ask = ask_of("Who built the bridge?")  # no sentence names anybody
    texts = ["The bridge is famous.", "It is painted red.", "Tourists like it."]
    c = gather(hits(texts=texts), ask, frozenset(), 0.4)
    reader = Scripted(dict(zip(texts, (0.9, 0.1, 0.2), strict=True)), texts=texts)
    sim = lambda a, b: np.zeros((len(a), len(b)))  # noqa: E731
    permissive = replace(TUNING, answerable_threshold=0.0)
    s = selection.select(ask, c, sim, max_sentences=3, tuning=permissive, reader=reader)
    gated = decide(ask, s, c.near, min_score=0.0, tuning=permissive)
    assert not gated.answers and "no sentence gives who" in gated.reason
    free = replace(permissive, rules=RULES - {"kind_gate"})
    s = selection.select(ask, c, sim, max_sentences=3, tuning=free, reader=reader)
    assert decide(ask, s, c.near, min_score=0.0, tuning=free).answers


def test_the_kind_gate_holds_only_for_the_kinds_it_is_right_about():
    ask = ask_of("How many visitors does the bridge get?")  # a number: a feature, no gate
    texts = ["The bridge is famous.", "It is painted red.", "Tourists like it."]
    c = gather(hits(texts=texts), ask, frozenset(), 0.4)
    reader = Scripted(dict(zip(texts, (0.9, 0.1, 0.2), strict=True)), texts=texts)
    permissive = replace(TUNING, answerable_threshold=0.0)
    s = selection.select(
        ask, c, lambda a, b: np.zeros((len(a), len(b))), max_sentences=3, tuning=permissive, reader=reader
    )
    verdict = decide(ask, s, c.near, min_score=0.0, tuning=permissive)
    assert verdict.answers and verdict.verdict.features["kind_missing"] == 1.0


def test_the_off_topic_floor_is_a_rule_too():
    ask = ask_of("What colour are the towers?")
    c = gather(hits(dense=(0.2, 0.1, 0.05)), ask, frozenset(), 0.4)
    reader = Scripted({TEXTS[0]: 0.1, TEXTS[1]: 0.05, TEXTS[2]: 0.9})
    sim = lambda a, b: np.zeros((len(a), len(b)))  # noqa: E731
    permissive = replace(TUNING, answerable_threshold=0.0)
    s = selection.select(ask, c, sim, max_sentences=3, tuning=permissive, reader=reader)
    assert decide(ask, s, c.near, min_score=0.37, tuning=permissive).kind == "off_topic"
    free = replace(permissive, rules=RULES - {"off_topic"})
    assert decide(ask, s, c.near, min_score=0.37, tuning=free).kind == "answer"


def test_the_shipped_reader_is_small_loads_offline_and_scores_the_same_twice():
    assert MODEL.exists(), "assistant/answering/reader.onnx is built by eval/train_reader.py"
    assert MODEL.stat().st_size <= 25 * 1024 * 1024
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, len(SCALARS))).astype(np.float32)
    a = OnnxReader().probabilities(x)
    b = OnnxReader().probabilities(x)
    assert a.shape == (7,) and np.all((a >= 0) & (a <= 1))
    assert np.array_equal(a, b)
    assert OnnxReader().probabilities(x[:0]).shape == (0,)
