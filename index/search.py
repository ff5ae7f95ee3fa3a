"""Search: a question in, the most relevant chunks out, each with its sentences scored.

Hybrid and sentence-aware. Candidates come from four retrievers (dense and BM25, over
chunks and over sentences). Each sentence scores its cosine similarity plus a share of
its BM25 score (relative to the best for this question); a chunk scores mostly its best
sentence (SENTENCE_SHARE) and the rest its own dense + keyword score. Questions usually
match one sentence closely, so the sentence share sharpens the ranking of whole passages.
Candidates' vectors come from the local vector copy (`index.vectors`), not from Chroma.

The weights were fitted on the Normans questions of eval/squad2-small only
(eval/fit.py); see the README for the measured effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.chunking import Chunk, Sentence, sentences_of
from index.embedding import Embedder
from index.local import LocalIndex

CANDIDATES = 20  # per retriever, before fusion
PASSAGE_KEYWORD_WEIGHT = 0.2  # BM25, scaled to [0, 1] per question, added to cosine similarity in retrieval
SENTENCE_SHARE = 0.8  # of a chunk's score that comes from its best sentence
# Above this many sentences the dense sentence retriever is skipped: Chroma holds its HNSW
# in memory (~2 KB a sentence; 400k sentences made a one-shot ask 1.5 GB). Sentences are
# still scored, reached through dense chunks and BM25; on eval/squad2-small skipping it
# changed no answer, on the Python docs 1 in 35.
DENSE_SENTENCE_LIMIT = 250_000


class VectorStore(Protocol):
    """What search needs of the vector store (`index.store.Store` is the real one)."""

    def nearest_chunks(self, vector: np.ndarray, n: int) -> list[str]: ...

    def nearest_sentences(self, vector: np.ndarray, n: int) -> list[str]: ...

    def chunks(self, ids: Sequence[str]) -> list[Chunk]: ...


@dataclass(frozen=True)
class SentenceHit:
    """A sentence of a retrieved chunk: cosine similarity, scaled BM25, and their blend."""

    sentence: Sentence
    dense: float
    keyword: float
    score: float


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
    keywords, vectors = local.keywords, local.vectors
    dense_chunks = store.nearest_chunks(vector, n)
    dense_sentences = store.nearest_sentences(vector, n) if len(keywords.sentences.ids) <= DENSE_SENTENCE_LIMIT else []
    chunk_bm25 = keywords.chunks.scores(question)
    sentence_bm25 = keywords.sentences.scores(question)
    keyword_chunks = [keywords.chunks.ids[i] for i in _top(chunk_bm25, n)]
    keyword_sentences = [keywords.sentences.ids[i] for i in _top(sentence_bm25, n)]

    candidates = dict.fromkeys(dense_chunks + keyword_chunks)
    for sid in dense_sentences + keyword_sentences:
        candidates.update(dict.fromkeys(keywords.parents.get(sid, ())))
    if not candidates:
        return []
    chunks = [(c, sentences_of(c)) for c in store.chunks(list(candidates))]
    chunk_dense = vectors.chunk_similarity([c.id for c, _ in chunks], vector)
    sentence_dense = vectors.sentence_similarity([s.id for _, ss in chunks for s in ss], vector)

    chunk_scale = 1.0 / max(float(chunk_bm25.max(initial=0.0)), 1e-9)
    sentence_scale = 1.0 / max(float(sentence_bm25.max(initial=0.0)), 1e-9)
    dense_rank = {cid: r for r, cid in enumerate(dense_chunks, 1)}
    keyword_rank = {cid: r for r, cid in enumerate(keyword_chunks, 1)}

    hits = []
    for chunk, chunk_sentences in chunks:
        scored = []
        for s in chunk_sentences:
            dense = sentence_dense.get(s.id)
            if dense is None:
                continue  # written by a sync still running; it will be there next time
            pos = keywords.sentences.position.get(s.id)
            kw = float(sentence_bm25[pos]) * sentence_scale if pos is not None else 0.0
            scored.append(SentenceHit(s, dense, kw, dense + weights.keyword * kw))
        pos = keywords.chunks.position.get(chunk.id)
        chunk_kw = float(chunk_bm25[pos]) * chunk_scale if pos is not None else 0.0
        own = chunk_dense.get(chunk.id, 0.0) + weights.keyword * chunk_kw
        best = max((s.score for s in scored), default=own)
        score = weights.sentence_share * best + (1 - weights.sentence_share) * own
        hits.append(Hit(chunk, score, dense_rank.get(chunk.id), keyword_rank.get(chunk.id), tuple(scored)))
    hits.sort(key=lambda h: -h.score)
    return hits[:k]


def _top(scores: np.ndarray, n: int) -> list[int]:
    """Indexes of the `n` highest positive scores, best first."""
    if scores.size == 0:
        return []
    if scores.size > n:
        part = np.argpartition(-scores, n)[:n]  # the top n without sorting every score
        idx = part[np.argsort(-scores[part], kind="stable")]
    else:
        idx = np.argsort(-scores, kind="stable")
    return [int(i) for i in idx if scores[i] > 0]
