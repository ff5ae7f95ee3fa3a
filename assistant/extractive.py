"""Extractive answering: score every sentence of the retrieved chunks, quote the best.

A sentence's score blends its own similarity to the question with its chunk's, so a
sentence that only makes sense in a relevant passage still ranks, and a passage that
is relevant overall doesn't lend its score to its weakest sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.citations import Evidence
from index.embedding import Embedder
from index.search import Hit

SENTENCE_WEIGHT = 0.75  # the rest is the chunk's similarity
MARGIN = 0.08  # further sentences must score within this of the best


@dataclass(frozen=True)
class Scored:
    """One candidate sentence and how it scored."""

    source: str
    start: int
    end: int
    quote: str
    page: int | None
    sentence_score: float
    chunk_score: float
    score: float
    dense_rank: int | None


def score_sentences(question_vec: np.ndarray, hits: Sequence[Hit], embedder: Embedder) -> list[Scored]:
    """Every distinct sentence of `hits`, scored, best first."""
    seen: dict[tuple[str, int, int], tuple[Hit, str]] = {}
    for hit in hits:
        c = hit.chunk
        for s, e in c.sentences:
            key = (c.source, s, e)
            if key not in seen:  # overlapping chunks repeat sentences; keep the better-ranked chunk's
                seen[key] = (hit, c.text[s - c.start : e - c.start])
    if not seen:
        return []
    keys = list(seen)
    sims = embedder.embed([seen[k][1] for k in keys]) @ question_vec
    out = []
    for (source, s, e), sim in zip(keys, sims):
        hit, quote = seen[(source, s, e)]
        score = SENTENCE_WEIGHT * float(sim) + (1 - SENTENCE_WEIGHT) * hit.score
        out.append(Scored(source, s, e, quote, hit.chunk.page, float(sim), hit.score, score, hit.dense_rank))
    out.sort(key=lambda x: -x.score)
    return out


def choose(scored: Sequence[Scored], min_score: float, max_sentences: int) -> list[Scored]:
    """The best sentence and those close behind it; nothing if even the best is too weak."""
    if not scored or scored[0].score < min_score:
        return []
    floor = max(min_score, scored[0].score - MARGIN)
    return [s for s in scored if s.score >= floor][:max_sentences]


def as_evidence(chosen: Sequence[Scored]) -> list[Evidence]:
    return [Evidence(s.source, s.start, s.end, s.quote, s.score, s.page) for s in chosen]
