"""The reader: for each candidate sentence, the chance that it (with its neighbours) answers the
question. A small network over features of the pair: the packaged MiniLM's cosine of the
question with the sentence and with the sentence read with its neighbours, BM25, the
question's names and focus words found, and what the question asks for against what the
sentence holds; fitted on the `fit` splits of several kinds of document
(`eval/train_reader.py`, which writes `reader.onnx` beside this file).

What the question asks for (a number, a date, a person...) and whether the sentence holds one
are features the network weighs, not gates. The vectors themselves (their elementwise
product) were tried as inputs too and dropped: the network learned the fit documents by heart
and ranked worse on the check splits (eval/train_reader.py's notes, the README).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.answering.candidates import Neighbourhood, Ranked
from assistant.answering.question import WANTED, Ask, holds_kind, names_of
from index import speakers
from index.text import WORD, content_words, idf, idf_unseen, plain, stem

MODEL = Path(__file__).with_name("reader.onnx")
KINDS = ("number", "duration", "date", "place", "person", "reason", "method", "yesno", "about", "other")
SCALARS = (
    "dense",
    "context",
    "keyword",
    "gap",
    "neighbour",
    "rank",
    "focus",
    "names",
    "names_near",
    "length",
    "kind_held",
    "number",
    "date",
    "proper",
    "quote",
    "by_speaker",
    "names_subject",
    *(f"asks_{k}" for k in KINDS),
)


class Reader(Protocol):
    """Scores a feature matrix (one row per candidate, `features` below): the chance each answers."""

    def probabilities(self, features: np.ndarray) -> np.ndarray: ...


class OnnxReader:
    """The shipped reader, run on ONNX Runtime on one thread (same scores run to run); loaded on first use."""

    def __init__(self, path: Path = MODEL):
        self.path = path
        self._session = None
        self._lock = threading.Lock()

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0, dtype=np.float32)
        session = self._load()
        (logits,) = session.run(None, {"features": features.astype(np.float32)})
        return 1.0 / (1.0 + np.exp(-logits.reshape(-1)))

    def _load(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
            return self._session


def features(ask: Ask, ranked: Sequence[Ranked], near: Neighbourhood) -> np.ndarray:
    """One row per candidate, the features of SCALARS in order."""
    if not ranked:
        return np.zeros((0, len(SCALARS)), dtype=np.float32)
    dense = {r.hit.sentence.id: r.hit.dense for r in ranked}
    vectors = {r.hit.sentence.id: r.hit.vector for r in ranked if r.hit.vector is not None}
    bags = {r.hit.sentence.id: set(stem(content_words(r.hit.sentence.text))) for r in ranked}
    by_word = idf(bags.values())
    weights = [(w, by_word.get(w, idf_unseen(len(bags)))) for w in ask.focus]
    total = sum(x for _, x in weights) or 1.0
    top = max(dense.values())
    asked = {k: float(ask.kind == k) for k in KINDS}
    names = [plain(n) for n in ask.names]
    rows = []
    for i, r in enumerate(ranked):
        s = r.hit.sentence
        words = {plain(w) for w in WORD.findall(s.text)}
        around = {plain(w) for w in WORD.findall(near.context(s.id))}
        scalars = {
            "dense": r.hit.dense,
            "context": _context(r, near, vectors),
            "keyword": r.hit.keyword,
            "gap": top - r.hit.dense,
            "neighbour": max((dense[n] for n in near.next_to.get(s.id, ()) if n in dense), default=0.0),
            "rank": min(i, 30) / 30,
            "focus": sum(x for w, x in weights if w in bags[s.id]) / total,
            "names": sum(n in words for n in names) / len(names) if names else 1.0,
            "names_near": sum(n in around for n in names) / len(names) if names else 1.0,
            "length": min(len(WORD.findall(s.text)), 80) / 40,
            "kind_held": float(holds_kind(ask.kind, s.text, ask.question)) if ask.kind in WANTED else 0.5,
            "number": float(holds_kind("number", s.text, ask.question)),
            "date": float(holds_kind("date", s.text, ask.question)),
            "proper": float(bool(names_of(s.text))),
            "quote": float(bool(s.speaker)),
            "by_speaker": float(bool(ask.speaker) and speakers.matches(ask.speaker or "", s.speaker)),
            "names_subject": float(bool(ask.subject) and (ask.subject or "").lower() in s.text.lower()),
            **{f"asks_{k}": v for k, v in asked.items()},
        }
        rows.append([scalars[n] for n in SCALARS])
    return np.array(rows, dtype=np.float32)


def _context(r: Ranked, near: Neighbourhood, vectors: dict[str, np.ndarray]) -> float:
    """Cosine of the question with the sentence read together with its neighbours (the mean of
    their vectors); the sentence's own cosine where there are no vectors."""
    q, own = r.hit.query, r.hit.vector
    if q is None or own is None:
        return r.hit.dense
    parts = [own] + [vectors[n] for n in near.next_to.get(r.hit.sentence.id, ()) if n in vectors]
    mean = np.mean(parts, axis=0)
    norm = float(np.linalg.norm(mean))
    return float(q @ mean) / norm if norm else 0.0
