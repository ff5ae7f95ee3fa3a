"""Extractive answering: the candidate sentences of the retrieved chunks, in a first order.

A sentence ranks by its cosine similarity to the question plus a share of its BM25
score (fitted on the Normans questions only, eval/fit.py); `assistant.answerable` then
judges which of them carry the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.citations import Evidence
from index.search import Hit, SentenceHit

ANSWER_KEYWORD_WEIGHT = (
    0.4  # BM25 share in a sentence's answer score (retrieval uses index.search.PASSAGE_KEYWORD_WEIGHT)
)


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


def as_evidence(chosen: Sequence[Ranked]) -> list[Evidence]:
    return [
        Evidence(r.hit.sentence.source, r.hit.sentence.start, r.hit.sentence.end, r.hit.sentence.text, r.score, r.page)
        for r in chosen
    ]
