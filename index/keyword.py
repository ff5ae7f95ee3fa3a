"""Keyword side of search: BM25 (bm25s) over chunks and over sentences.

Derived state: built from the store by `index.local.LocalIndex`, saved beside it, and
rebuilt whenever the store's manifest changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.text import content_words, stem


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words."""
    return stem(content_words(text))


class Bm25:
    """BM25 over a fixed list of (id, text); scores come back aligned with `ids`."""

    def __init__(self, ids: Sequence[str], retriever: Any, vocab: dict[str, int]):
        self.ids = list(ids)
        self.position = {id_: i for i, id_ in enumerate(self.ids)}
        self._retriever = retriever
        self._vocab = vocab

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> Bm25:
        import bm25s

        vocab: dict[str, int] = {}
        token_ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(text)] for text in texts]
        retriever = bm25s.BM25()
        if ids:
            retriever.index(bm25s.tokenization.Tokenized(ids=token_ids, vocab=vocab), show_progress=False)
        return cls(ids, retriever, vocab)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every entry for `query` (zeros when no query word is indexed)."""
        terms = [t for t in tokenize(query) if t in self._vocab]
        if not terms or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(terms), dtype=np.float32)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self._retriever.save(str(folder / "bm25"))
        (folder / "ids.json").write_text(json.dumps({"ids": self.ids, "vocab": self._vocab}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Bm25:
        import bm25s

        data = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder / "bm25")) if data["ids"] else bm25s.BM25()
        return cls(data["ids"], retriever, data["vocab"])


@dataclass
class KeywordIndex:
    """BM25 over chunks and over sentences, and which chunks hold each sentence."""

    chunks: Bm25
    sentences: Bm25
    parents: dict[str, list[str]]

    @classmethod
    def build(cls, all_chunks: Sequence) -> KeywordIndex:
        from index.chunking import sentences_of

        parents: dict[str, list[str]] = {}
        sentence_text: dict[str, str] = {}
        for c in all_chunks:
            for s in sentences_of(c):
                parents.setdefault(s.id, []).append(c.id)
                sentence_text[s.id] = s.text
        return cls(
            Bm25.build([c.id for c in all_chunks], [c.text for c in all_chunks]),
            Bm25.build(list(sentence_text), list(sentence_text.values())),
            parents,
        )

    def save(self, folder: Path) -> None:
        self.chunks.save(folder / "chunks")
        self.sentences.save(folder / "sentences")
        (folder / "parents.json").write_text(json.dumps(self.parents), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        parents = json.loads((folder / "parents.json").read_text(encoding="utf-8"))
        return cls(Bm25.load(folder / "chunks"), Bm25.load(folder / "sentences"), parents)
