"""Search: a question in, the most relevant chunks out, as plain `Hit`s."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.chunking import Chunk
from index.embedding import Embedder
from index.store import Store


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score and its rank in each retriever (1-based, None if absent)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None


def search(question: str, k: int, store: Store, embedder: Embedder, vector: np.ndarray | None = None) -> list[Hit]:
    """The `k` chunks nearest to `question` by cosine similarity, best first."""
    if vector is None:
        vector = embedder.embed([question])[0]
    return [Hit(c, score, dense_rank=i + 1) for i, (c, score) in enumerate(store.query(vector, k))]
