"""Extractive answering: rank the sentences of the retrieved chunks, quote the best.

A sentence ranks by its cosine similarity to the question plus a share of its BM25
score; whether to answer at all is decided by the best sentence's cosine similarity
alone, because that is an absolute measure (BM25 is scaled per question).
The numbers were fitted on the Normans questions only (eval/fit.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.citations import Evidence
from index.search import Hit, SentenceHit

ANSWER_KEYWORD_WEIGHT = (
    0.4  # BM25 share in a sentence's answer score (retrieval uses index.search.PASSAGE_KEYWORD_WEIGHT)
)
MARGIN = 1.0  # further sentences must score within this of the best (1.0: no limit, fitted)


@dataclass(frozen=True)
class Ranked:
    """A candidate sentence with the page of its chunk and its answer score."""

    hit: SentenceHit
    page: int | None
    score: float


def rank(hits: Sequence[Hit], keyword_weight: float = ANSWER_KEYWORD_WEIGHT) -> list[Ranked]:
    """Every distinct sentence of `hits`, best first."""
    seen: dict[str, Ranked] = {}
    for hit in hits:
        for sh in hit.sentences:
            if sh.sentence.id not in seen:  # overlapping chunks share sentences
                seen[sh.sentence.id] = Ranked(
                    sh, hit.chunk.page_at(sh.sentence.start), sh.dense + keyword_weight * sh.keyword
                )
    return sorted(seen.values(), key=lambda r: -r.score)


def choose(ranked: Sequence[Ranked], min_score: float, max_sentences: int, margin: float = MARGIN) -> list[Ranked]:
    """The best sentences, or none when even the best is not similar enough to the question."""
    if not ranked or ranked[0].hit.dense < min_score:
        return []
    floor = ranked[0].score - margin
    return [r for r in ranked if r.score >= floor][:max_sentences]


def as_evidence(chosen: Sequence[Ranked]) -> list[Evidence]:
    return [
        Evidence(r.hit.sentence.source, r.hit.sentence.start, r.hit.sentence.end, r.hit.sentence.text, r.score, r.page)
        for r in chosen
    ]
