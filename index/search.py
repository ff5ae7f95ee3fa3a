"""Search: a question in, the most relevant chunks out, each with its sentences scored.

Hybrid and sentence-aware. Candidates come from three retrievers (dense over chunks, BM25
over chunks and over sentences). Each sentence scores its cosine similarity plus a share of
its BM25 score (relative to the best for this question); a chunk scores mostly its best
sentence (SENTENCE_SHARE) and the rest its own dense + keyword score. Questions usually
match one sentence closely, so the sentence share sharpens the ranking of whole passages.
Candidates' vectors and BM25 come from the local index (`index.local`), not from Chroma.

The weights were fitted on the Normans questions of eval/squad2-small only
(eval/fit.py); see the README for the measured effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from index.chunking import Chunk, Sentence, sentences_of
from index.embedding import Embedder
from index.local import LocalIndex

CANDIDATES = 20  # per retriever, before fusion
PASSAGE_KEYWORD_WEIGHT = 0.2  # BM25, scaled to [0, 1] per question, added to cosine similarity in retrieval
SENTENCE_SHARE = 0.8  # of a chunk's score that comes from its best sentence


class VectorStore(Protocol):
    """What search needs of the vector store (`index.store.Store` is the real one)."""

    def nearest_chunks(self, vector: np.ndarray, n: int) -> list[str]: ...

    def chunks(self, ids: Sequence[str]) -> list[Chunk]: ...


@dataclass(frozen=True)
class SentenceHit:
    """A sentence of a retrieved chunk: cosine similarity, scaled BM25, and their blend."""

    sentence: Sentence
    dense: float
    keyword: float
    score: float
    # The sentence's vector and the question's, for the reader (None where a test made the hit).
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    query: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and its rank in each retriever (1-based, None if absent)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    sentences: tuple[SentenceHit, ...] = ()


@dataclass(frozen=True)
class Weights:
    """The tunable numbers of the ranking, so a fit can try others without editing code."""

    candidates: int = CANDIDATES
    keyword: float = PASSAGE_KEYWORD_WEIGHT
    sentence_share: float = SENTENCE_SHARE


def search(
    question: str,
    k: int,
    store: VectorStore,
    embedder: Embedder,
    local: LocalIndex,
    *,
    vector: np.ndarray | None = None,
    weights: Weights | None = None,
) -> list[Hit]:
    """The `k` best chunks for `question`, best first."""
    if vector is None:
        vector = embedder.embed([question])[0]
    weights = weights or Weights()
    n = weights.candidates
    with local.view() as view:  # one snapshot: a catch-up committing meanwhile is not half-seen
        dense_chunks = store.nearest_chunks(vector, n)
        chunk_bm25 = view.keyword("chunk", question)
        sentence_bm25 = view.keyword("sentence", question)
        keyword_chunks = chunk_bm25.top(n)
        keyword_sentences = sentence_bm25.top(n)

        candidates = dict.fromkeys(dense_chunks + keyword_chunks)
        for held in view.rows("sentence", keyword_sentences).values():
            candidates.update(dict.fromkeys(held.parents))
        if not candidates:
            return []
        chunks = [(c, sentences_of(c)) for c in store.chunks(list(candidates))]
        chunk_rows = view.rows("chunk", [c.id for c, _ in chunks])
        sentence_rows = view.rows("sentence", [s.id for _, ss in chunks for s in ss])

    chunk_scale = 1.0 / max(chunk_bm25.best, 1e-9)
    sentence_scale = 1.0 / max(sentence_bm25.best, 1e-9)
    dense_rank = {cid: r for r, cid in enumerate(dense_chunks, 1)}
    keyword_rank = {cid: r for r, cid in enumerate(keyword_chunks, 1)}

    hits = []
    for chunk, chunk_sentences in chunks:
        scored = []
        for s in chunk_sentences:
            row = sentence_rows.get(s.id)
            if row is None:
                continue  # written by a sync still running; it will be there next time
            dense = float(row.vector @ vector)
            kw = sentence_bm25.of(row.row) * sentence_scale
            scored.append(SentenceHit(s, dense, kw, dense + weights.keyword * kw, row.vector, vector))
        own_row = chunk_rows.get(chunk.id)
        chunk_kw = chunk_bm25.of(own_row.row) * chunk_scale if own_row else 0.0
        own = (float(own_row.vector @ vector) if own_row else 0.0) + weights.keyword * chunk_kw
        best = max((s.score for s in scored), default=own)
        score = weights.sentence_share * best + (1 - weights.sentence_share) * own
        hits.append(Hit(chunk, score, dense_rank.get(chunk.id), keyword_rank.get(chunk.id), tuple(scored)))
    hits.sort(key=lambda h: -h.score)
    return hits[:k]
