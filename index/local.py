"""What each process keeps locally beside the store: the keyword index and the vector copy.

Both are derived from the store, saved together in the data dir with the fingerprint
of the store's manifest they were built from, and swapped in whole, so readers never
see half of one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.keyword import KeywordIndex
from index.vectors import VectorCopy


@dataclass
class LocalIndex:
    """BM25 over chunks and sentences, and a copy of every vector in the same id order."""

    keywords: KeywordIndex
    vectors: VectorCopy

    @classmethod
    def build(cls, all_chunks: Sequence, vectors: Mapping[str, np.ndarray]) -> LocalIndex:
        """From every chunk, and every chunk's and sentence's vector by id."""
        keywords = KeywordIndex.build(all_chunks)
        return cls(keywords, VectorCopy.aligned(keywords.chunks.position, keywords.sentences.position, vectors))

    def save(self, folder: Path, fingerprint: str = "") -> None:
        """Write to a fresh folder, then swap it in, so readers never see half an index."""
        tmp = folder.with_name(f"{folder.name}.new-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        self.keywords.save(tmp)
        self.vectors.save(tmp)
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
    def load(cls, folder: Path) -> LocalIndex:
        """The saved index; its vectors are read from disk on demand (OSError if any part is missing)."""
        keywords = KeywordIndex.load(folder)
        vectors = VectorCopy.load(folder, keywords.chunks.position, keywords.sentences.position)
        return cls(keywords, vectors)

    @staticmethod
    def fingerprint(folder: Path) -> str | None:
        """The fingerprint the saved index was built from, or None if there is none."""
        try:
            return (folder / "fingerprint").read_text(encoding="utf-8")
        except OSError:
            return None

    def close(self) -> None:
        self.vectors.close()
