"""One corpus folder's index: its Chroma collections and manifest, keyed by folder and model."""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import DEFAULT_CHUNK_TOKENS, sentences_of
from index.contained import NoSuchDocument, plain_name
from index.documents import DEFAULT_MAX_BYTES
from index.embedding import Embedder
from index.errors import Error
from index.local import LocalIndex, SourceUpdate
from index.search import Hit, Weights, search
from index.store import Server, Store
from index.sync import OnProgress, SyncReport, sync
from index.texts import TextCache

# What a stored index holds; a new layout re-indexes. 2: chunk vectors are the mean of their
# sentences; 3: chunks record each quoted sentence's speaker; 4: sentence vectors ride in
# their chunk's metadata (no collection of sentences); 5: a clause number is no part of its sentence,
# and a lone number or list marker is no sentence; 6: sentences carry their section path, are
# embedded under their headings, and page furniture is in no sentence.
LAYOUT = 6


# Chunks read back from the store and applied locally at a time: on the Python docs 2,000
# added 330 MB to an ingest's peak, 500 added 110 MB, at the same speed.
CATCH_UP_CHUNKS = 500


def _fingerprint(files: dict[str, dict], count: int) -> str:
    """What the store holds, in one string: its manifest and its chunk count."""
    rows = sorted((s, e["sha256"], e["chunks"]) for s, e in files.items())
    return hashlib.sha256(repr((rows, count)).encode()).hexdigest()


def _batches(sources: list[str], files: dict[str, dict]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for s in sources:
        batch.append(s)
        size += files[s]["chunks"]
        if size >= CATCH_UP_CHUNKS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


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
        self._catching_up = threading.Lock()  # the watcher and a sync may both catch up

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
        return self.data_dir / "indexes" / self.key

    @cached_property
    def local(self) -> LocalIndex:
        """The keyword index and vector copy: a cache in this process's data dir, brought up to
        date with the store (its changed sources only) whenever the store's manifest moved."""
        self.catch_up()
        return self._opened()

    def _opened(self) -> LocalIndex:
        if "local" not in self.__dict__:
            shutil.rmtree(self.local_dir / "keyword", ignore_errors=True)  # the whole-rebuild cache it replaces
            self.__dict__["local"] = LocalIndex(self.local_dir / "local.db")
        return self.__dict__["local"]

    def refresh(self) -> bool:
        """Catch up with changes another process made to a shared store (its manifest
        fingerprint moved). True if there were any."""
        if "local" not in self.__dict__:
            return False  # not loaded yet: the first search catches up
        return self.catch_up()

    def catch_up(self) -> bool:
        """Take the sources whose manifest record moved into the local index, a batch at a
        time (memory stays bounded), and drop the ones gone. True if anything changed.

        A source whose rows in the store don't match its record (a sync writing it right
        now, or one killed half-way) is left for the next catch-up."""
        with self._catching_up:
            files = self.store.files()
            stamp = _fingerprint(files, self.store.count())
            local = self._opened()
            if local.stamp == stamp:
                return False
            held = local.sources()
            stale = [s for s, e in sorted(files.items()) if held.get(s) != (e["sha256"], e["chunks"])]
            local.apply([], removed=[s for s in held if s not in files])
            complete = True
            for batch in _batches(stale, files):
                chunks, vectors = self.store.source_rows(batch)
                updates = []
                for source in batch:
                    own = [c for c in chunks if c.source == source]
                    ids = [c.id for c in own] + [x.id for c in own for x in sentences_of(c)]
                    if len(own) != files[source]["chunks"] or any(i not in vectors for i in ids):
                        complete = False
                        continue
                    updates.append(SourceUpdate(source, files[source]["sha256"], own, vectors))
                local.apply(updates)
            if complete:
                local.set_stamp(stamp)
            return True

    def sync(
        self,
        *,
        on_progress: OnProgress | None = None,
        wait: bool = True,
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
                max_bytes=self.max_bytes,
                on_progress=on_progress,
                texts=self.texts,
            )
        if report.changed:
            self.catch_up()  # now, as part of the ingest, so the first search doesn't pay for it
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

    def document(self, name: str) -> str:
        """The canonical text of the document this index holds as `name`, read inside the folder
        (`index.contained`); NoSuchDocument for any other name, whether or not a file is there."""
        if not plain_name(name) or not self.local.holds(name):
            raise NoSuchDocument()
        text = self.texts.text_of(name)
        if text is None:
            raise NoSuchDocument()
        return text

    def text_of(self, source: str) -> str | None:
        """The canonical text of `source` as the file is now (None if it can't be read), for
        checking and widening citations; an edited file is parsed again."""
        return self.texts.text_of(source)
