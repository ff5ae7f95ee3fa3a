"""One corpus folder's index: its Chroma collections and manifest, keyed by folder and model."""

from __future__ import annotations

import fcntl
import hashlib
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import DEFAULT_CHUNK_TOKENS
from index.documents import DEFAULT_MAX_BYTES
from index.embedding import Embedder
from index.errors import Error
from index.local import LocalIndex
from index.search import Hit, Weights, search
from index.store import Server, Store
from index.sync import OnBatch, OnFile, SyncReport, sync
from index.texts import TextCache

# What a stored index holds; a new layout re-indexes. 2: chunk vectors are the mean of their
# sentences; 3: chunks record each quoted sentence's speaker.
LAYOUT = 3


def index_key(root: Path, model: str, chunk_tokens: int) -> str:
    """Same folder, model, chunking and layout: same index. Anything else gets its own."""
    return hashlib.sha256(f"{root}\0{model}\0{chunk_tokens}\0{LAYOUT}".encode()).hexdigest()[:16]


class CorpusIndex:
    """The index of the documents under `root`; opens the store on first use."""

    def __init__(
        self,
        root: Path,
        data_dir: Path,
        embedder: Embedder,
        *,
        chroma: Server | None = None,
        chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise Error(f"corpus folder not found: {root}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.embedder = embedder
        self.chroma = chroma
        self.chunk_tokens = chunk_tokens
        self.max_bytes = max_bytes
        self.key = index_key(self.root, embedder.name, chunk_tokens)
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", self.root.name).strip("-_")[:40] or "root"
        self.collection = f"corpus-{slug}-{self.key}"
        # One cache of canonical texts (memory, then disk, then the file), for sync and citation checks.
        self.texts = TextCache(self.data_dir / "indexes" / self.key / "texts", self.root, max_bytes)
        self._stamp = ""  # the store fingerprint the loaded keyword index and vector copy were built from

    @property
    def location(self) -> str:
        return self.chroma.url if self.chroma else str(self.data_dir / "chroma")

    @cached_property
    def store(self) -> Store:
        return Store.open(
            self.collection,
            path=self.data_dir / "chroma",
            server=self.chroma,
            metadata={"corpus": str(self.root), "model": self.embedder.name, "chunk_tokens": self.chunk_tokens},
        )

    @property
    def local_dir(self) -> Path:
        return self.data_dir / "indexes" / self.key / "keyword"

    @cached_property
    def local(self) -> LocalIndex:
        """The keyword index and vector copy: a cache in this process's data dir, rebuilt from
        the store whenever the store's manifest says its content changed (by this process or another)."""
        stamp = self._fingerprint()
        if LocalIndex.fingerprint(self.local_dir) == stamp:
            try:
                local = LocalIndex.load(self.local_dir)
                self._stamp = stamp
                return local
            except (OSError, ValueError):
                pass  # missing a part, or mid-swap by another process: rebuild
        return self._rebuild_local(stamp)

    def refresh(self) -> bool:
        """Catch up with changes another process made to a shared store (its manifest
        fingerprint moved): reload or rebuild the keyword index and vector copy. True if it did."""
        if "local" not in self.__dict__:
            return False  # not loaded yet: the first search loads the current one
        stamp = self._fingerprint()
        if stamp == self._stamp:
            return False
        if LocalIndex.fingerprint(self.local_dir) == stamp:
            try:
                self._swap(LocalIndex.load(self.local_dir), stamp)
                return True
            except (OSError, ValueError):
                pass
        self._rebuild_local(stamp)
        return True

    def _fingerprint(self) -> str:
        files = sorted((s, e["sha256"], e["chunks"]) for s, e in self.store.files().items())
        return hashlib.sha256(repr((files, self.store.count())).encode()).hexdigest()

    def _rebuild_local(self, stamp: str | None = None) -> LocalIndex:
        stamp = stamp or self._fingerprint()
        built = LocalIndex.build(self.store.all_chunks(), self.store.all_vectors())
        built.save(self.local_dir, stamp)
        try:
            # Read back, so a long-running process (chat, Slack) reads vector rows from disk
            # instead of holding every vector (770 MB at 100k chunks) after a sync.
            local = LocalIndex.load(self.local_dir)
        except (OSError, ValueError):
            local = built  # mid-swap by another process: keep the one just built
        return self._swap(local, stamp)

    def _swap(self, local: LocalIndex, stamp: str) -> LocalIndex:
        # One assignment: a search running now keeps the index it started with. The old one's
        # file closes when the last such search lets go of it (closing it here could pull
        # it from under one: answers run in parallel).
        self.__dict__["local"] = local
        self._stamp = stamp
        return local

    def sync(
        self,
        *,
        on_file: OnFile | None = None,
        wait: bool = True,
        on_batch: OnBatch | None = None,
    ) -> SyncReport | None:
        """Bring the index in line with the folder. One sync at a time per index on this machine:
        with `wait=False` return None at once if another process is syncing (answer from the
        index as it is), else wait for it."""
        lock_path = self.data_dir / "indexes" / self.key / "sync.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return None
            report = sync(
                self.root,
                self.store,
                self.embedder,
                chunk_tokens=self.chunk_tokens,
                on_file=on_file,
                max_bytes=self.max_bytes,
                on_batch=on_batch,
                texts=self.texts,
            )
        if report.changed:
            self._rebuild_local()  # saved now, so other processes load it instead of rebuilding
        return report

    def search(
        self, question: str, k: int, *, vector: np.ndarray | None = None, weights: Weights | None = None
    ) -> list[Hit]:
        return search(question, k, self.store, self.embedder, self.local, vector=vector, weights=weights)

    def stats(self) -> dict[str, Any]:
        """Documents and chunks indexed, the model and where the index lives, for a status line."""
        return {
            "documents": len(self.store.files()),
            "chunks": self.store.count(),
            "model": self.embedder.name,
            "location": self.location,
        }

    def text_of(self, source: str) -> str | None:
        """The canonical text of `source` as the file is now (None if it can't be read), for
        checking and widening citations; an edited file is parsed again."""
        return self.texts.text_of(source)
