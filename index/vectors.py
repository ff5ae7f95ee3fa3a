"""A local copy of every chunk's and sentence's vector, read row by row.

Scoring a question's candidate sentences reads a few hundred rows from this copy
instead of asking Chroma for them, which was the largest cost of a search.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np


class Rows(Protocol):
    """Rows of a float32 matrix by index: an in-memory array or a `VectorFile`."""

    def __getitem__(self, rows: np.ndarray) -> np.ndarray: ...


class VectorFile:
    """The rows of a saved float32 matrix (.npy), read on demand with pread.

    A search reads a few hundred rows of a file that can hold millions. Memory-mapping
    it made every row fault in a whole read-ahead window (about 400 KB a row measured),
    so a long-running process's RSS grew by megabytes per question; pread leaves the
    file in the page cache, outside the process.
    """

    def __init__(self, path: Path):
        self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - held open for pread, closed by close()
        try:
            version = np.lib.format.read_magic(self._file)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(self._file)
            else:
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(self._file)
            if fortran_order or len(shape) != 2:
                raise ValueError(f"{path}: not a row-major matrix")
        except BaseException:
            self._file.close()
            raise
        self.shape, self.dtype = shape, np.dtype(dtype)
        self._offset = self._file.tell()
        self._row_bytes = shape[1] * self.dtype.itemsize

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        fd = self._file.fileno()
        data = b"".join(os.pread(fd, self._row_bytes, self._offset + int(r) * self._row_bytes) for r in rows)
        return np.frombuffer(data, dtype=self.dtype).reshape(len(rows), self.shape[1])

    def close(self) -> None:
        self._file.close()


class VectorCopy:
    """Chunk and sentence vectors, one row per id in the order of `chunk_ids` / `sentence_ids`."""

    def __init__(
        self,
        chunk_position: Mapping[str, int],
        chunk_rows: Rows,
        sentence_position: Mapping[str, int],
        sentence_rows: Rows,
    ):
        self._chunk_position, self._chunk_rows = chunk_position, chunk_rows
        self._sentence_position, self._sentence_rows = sentence_position, sentence_rows

    @classmethod
    def aligned(
        cls, chunk_position: Mapping[str, int], sentence_position: Mapping[str, int], vectors: Mapping[str, np.ndarray]
    ) -> VectorCopy:
        """In memory, one row per id at its position (zeros for an id the store had no vector for)."""
        return cls(
            chunk_position, _aligned(chunk_position, vectors), sentence_position, _aligned(sentence_position, vectors)
        )

    @classmethod
    def load(cls, folder: Path, chunk_position: Mapping[str, int], sentence_position: Mapping[str, int]) -> VectorCopy:
        chunk_rows = VectorFile(folder / "chunk_vectors.npy")
        try:
            sentence_rows = VectorFile(folder / "sentence_vectors.npy")
        except BaseException:
            chunk_rows.close()
            raise
        return cls(chunk_position, chunk_rows, sentence_position, sentence_rows)

    def save(self, folder: Path) -> None:
        for kind, rows in (("chunk", self._chunk_rows), ("sentence", self._sentence_rows)):
            np.save(folder / f"{kind}_vectors.npy", np.asarray(rows))

    def chunk_similarity(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine similarity of `vector` to each of these chunks (those the copy holds)."""
        return _similarity(self._chunk_position, self._chunk_rows, ids, vector)

    def sentence_similarity(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine similarity of `vector` to each of these sentences (those the copy holds)."""
        return _similarity(self._sentence_position, self._sentence_rows, ids, vector)

    def close(self) -> None:
        for rows in (self._chunk_rows, self._sentence_rows):
            if isinstance(rows, VectorFile):
                rows.close()


def _similarity(position: Mapping[str, int], matrix: Rows, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
    known = [i for i in ids if i in position]
    if not known:
        return {}
    rows = matrix[np.fromiter((position[i] for i in known), dtype=np.int64, count=len(known))]
    return dict(zip(known, (rows @ vector).tolist(), strict=True))


def _aligned(position: Mapping[str, int], vectors: Mapping[str, np.ndarray]) -> np.ndarray:
    dim = len(next(iter(vectors.values()))) if vectors else 0
    out = np.zeros((len(position), dim), dtype=np.float32)
    for id_, row in position.items():
        v = vectors.get(id_)
        if v is not None:
            out[row] = v
    return out
