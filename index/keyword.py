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
    """BM25 over chunks and over sentences, which chunks hold each sentence, and a copy of
    every vector in the order of the BM25 ids.

    The vector copy is read from disk row by row: scoring a question's candidate sentences
    reads a few hundred rows from it instead of asking Chroma for them, which was the
    largest cost of a search.
    """

    def __init__(self, chunks: Bm25, sentences: Bm25, parents: dict[str, list[str]],
                 chunk_vectors: np.ndarray | VectorFile | None = None,
                 sentence_vectors: np.ndarray | VectorFile | None = None):
        self.chunks = chunks
        self.sentences = sentences
        self.parents = parents
        self.chunk_vectors = chunk_vectors
        self.sentence_vectors = sentence_vectors

    @classmethod
    def build(cls, all_chunks: Sequence, vectors: dict[str, np.ndarray] | None = None) -> KeywordIndex:
        """From every chunk, and (optionally) every chunk's and sentence's vector by id."""
        from index.chunking import sentences_of

        parents: dict[str, list[str]] = {}
        sentence_text: dict[str, str] = {}
        for c in all_chunks:
            for s in sentences_of(c):
                parents.setdefault(s.id, []).append(c.id)
                sentence_text[s.id] = s.text
        chunk_ids, sentence_ids = [c.id for c in all_chunks], list(sentence_text)
        return cls(
            Bm25.build(chunk_ids, [c.text for c in all_chunks]),
            Bm25.build(sentence_ids, list(sentence_text.values())),
            parents,
            _aligned(chunk_ids, vectors) if vectors is not None else None,
            _aligned(sentence_ids, vectors) if vectors is not None else None,
        )

    def chunk_similarity(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine similarity of `vector` to each of these chunks (those this index holds)."""
        return _similarity(self.chunks, self.chunk_vectors, ids, vector)

    def sentence_similarity(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine similarity of `vector` to each of these sentences (those this index holds)."""
        return _similarity(self.sentences, self.sentence_vectors, ids, vector)

    def save(self, folder: Path, fingerprint: str = "") -> None:
        """Write to a fresh folder, then swap it in, so readers never see half an index."""
        import shutil

        tmp = folder.with_name(f"{folder.name}.new-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        self.chunks.save(tmp / "chunks")
        self.sentences.save(tmp / "sentences")
        (tmp / "parents.json").write_text(json.dumps(self.parents), encoding="utf-8")
        for kind, vectors in (("chunk", self.chunk_vectors), ("sentence", self.sentence_vectors)):
            if vectors is not None:
                np.save(tmp / f"{kind}_vectors.npy", vectors)
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
        # A cache written without the vector copy fails here (OSError), so the caller rebuilds it.
        vectors = [VectorFile(folder / f"{kind}_vectors.npy") for kind in ("chunk", "sentence")]
        return cls(Bm25.load(folder / "chunks"), Bm25.load(folder / "sentences"), parents, *vectors)


class VectorFile:
    """The rows of a saved float32 matrix (.npy), read on demand with pread.

    A search reads a few hundred rows of a file that can hold millions. Memory-mapping
    it made every row fault in a whole read-ahead window (about 400 KB a row measured),
    so a long-running process's RSS grew by megabytes per question; pread leaves the
    file in the page cache, outside the process.
    """

    def __init__(self, path: Path):
        self._file = open(path, "rb")
        version = np.lib.format.read_magic(self._file)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(self._file)
        if fortran_order or len(shape) != 2:
            raise ValueError(f"{path}: not a row-major matrix")
        self.shape, self.dtype = shape, np.dtype(dtype)
        self._offset = self._file.tell()
        self._row_bytes = shape[1] * self.dtype.itemsize

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        fd = self._file.fileno()
        data = b"".join(os.pread(fd, self._row_bytes, self._offset + int(r) * self._row_bytes) for r in rows)
        return np.frombuffer(data, dtype=self.dtype).reshape(len(rows), self.shape[1])


def _similarity(bm25: Bm25, matrix: np.ndarray | VectorFile | None, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
    known = [i for i in ids if i in bm25.position]
    if matrix is None or not known:
        return {}
    rows = matrix[np.fromiter((bm25.position[i] for i in known), dtype=np.int64, count=len(known))]
    return dict(zip(known, (rows @ vector).tolist()))


def _aligned(ids: list[str], vectors: dict[str, np.ndarray]) -> np.ndarray:
    """Rows of `vectors` in the order of `ids` (zeros for an id the store had no vector for)."""
    dim = len(next(iter(vectors.values()))) if vectors else 0
    out = np.zeros((len(ids), dim), dtype=np.float32)
    for i, id_ in enumerate(ids):
        v = vectors.get(id_)
        if v is not None:
            out[i] = v
    return out
