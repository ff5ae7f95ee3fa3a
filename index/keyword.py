"""Keyword index: BM25 (bm25s) over chunks and sentences, saved beside the vector index.

It is derived state, rebuilt from the store after any sync that changed something,
and checked against the store's ids when loaded, so the two can't silently disagree.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but nor is are was were be been being am do does did "
    "what which who whom whose when where why how that this these those it its as into onto than then there "
    "their they them he she his her him i me my you your we our us not no can could would should will shall "
    "may might must has have had about over under after before between during also if so such any some "
    "many much more most other one s".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words."""
    return _stemmer().stemWords([w for w in _WORD.findall(text.lower()) if w not in STOPWORDS])


class Bm25:
    """BM25 over a fixed list of (id, text); scores come back aligned with `ids`."""

    def __init__(self, ids: Sequence[str], retriever, vocab: dict[str, int]):
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


class KeywordIndex:
    """BM25 over chunks and over sentences, plus which chunks hold each sentence."""

    def __init__(self, chunks: Bm25, sentences: Bm25, parents: dict[str, list[str]]):
        self.chunks = chunks
        self.sentences = sentences
        self.parents = parents

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

    def save(self, folder: Path, fingerprint: str = "") -> None:
        """Write to a fresh folder, then swap it in, so readers never see half an index."""
        import shutil

        tmp = folder.with_name(f"{folder.name}.new-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        self.chunks.save(tmp / "chunks")
        self.sentences.save(tmp / "sentences")
        (tmp / "parents.json").write_text(json.dumps(self.parents), encoding="utf-8")
        (tmp / "fingerprint").write_text(fingerprint, encoding="utf-8")
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        try:
            if folder.exists():
                folder.rename(old)
            tmp.rename(folder)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process swapped in the same index first
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        parents = json.loads((folder / "parents.json").read_text(encoding="utf-8"))
        return cls(Bm25.load(folder / "chunks"), Bm25.load(folder / "sentences"), parents)
