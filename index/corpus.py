"""One corpus folder's index: its Chroma collection and manifest, keyed by folder and model."""

from __future__ import annotations

import fcntl
import hashlib
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from index.embedding import Embedder
from index.errors import Error
from index.keyword import KeywordIndex
from index.search import Hit, Weights, search
from index.store import Store
from index.documents import DEFAULT_MAX_BYTES
from index.sync import SyncReport, sync
from index.texts import TextCache


TEXT_CACHE = 64  # parsed documents kept for citation checks
LAYOUT = 2  # what a stored vector means; 2: chunk vectors are the mean of their sentences


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
        chroma_url: str | None = None,
        chunk_tokens: int = 200,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise Error(f"corpus folder not found: {root}")
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.embedder = embedder
        self.chroma_url = chroma_url
        self.chunk_tokens = chunk_tokens
        self.max_bytes = max_bytes
        self.key = index_key(self.root, embedder.name, chunk_tokens)
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", self.root.name).strip("-_")[:40] or "root"
        self.collection = f"corpus-{slug}-{self.key}"
        self._texts: dict[tuple[str, int, int], str] = {}

    @property
    def location(self) -> str:
        return self.chroma_url or str(self.data_dir / "chroma")

    @cached_property
    def store(self) -> Store:
        return Store.open(
            self.collection,
            path=self.data_dir / "chroma",
            url=self.chroma_url,
            metadata={"corpus": str(self.root), "model": self.embedder.name, "chunk_tokens": self.chunk_tokens},
        )

    @property
    def keyword_dir(self) -> Path:
        return self.data_dir / "indexes" / self.key / "keyword"

    @cached_property
    def keywords(self) -> KeywordIndex:
        """The BM25 side: a cache in this process's data dir, rebuilt from the store whenever
        the store's manifest says its content changed (by this process or another one)."""
        stamp = self._fingerprint()
        try:
            if (self.keyword_dir / "fingerprint").read_text() == stamp:
                return KeywordIndex.load(self.keyword_dir)
        except (OSError, ValueError):
            pass  # missing, or mid-swap by another process: rebuild
        return self._rebuild_keywords(stamp)

    def _fingerprint(self) -> str:
        files = sorted((s, e["sha256"], e["chunks"]) for s, e in self.store.files().items())
        return hashlib.sha256(repr((files, self.store.count())).encode()).hexdigest()

    def _rebuild_keywords(self, stamp: str | None = None) -> KeywordIndex:
        keywords = KeywordIndex.build(self.store.all_chunks(), self.store.all_vectors())
        keywords.save(self.keyword_dir, stamp or self._fingerprint())
        try:
            # Read back, so a long-running process (chat, Slack) reads vector rows from disk
            # instead of holding every vector (770 MB at 100k chunks) after a sync.
            keywords = KeywordIndex.load(self.keyword_dir)
        except (OSError, ValueError):
            pass  # mid-swap by another process: keep the one just built
        self.__dict__["keywords"] = keywords
        return keywords

    def sync(
        self,
        on_file: Callable[[str, int, int], None] | None = None,
        wait: bool = True,
        on_batch: Callable[[int, int], None] | None = None,
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
            report = sync(self.root, self.store, self.embedder, self.chunk_tokens, on_file, self.max_bytes, on_batch,
                          self.texts)
        if report.changed:
            self._rebuild_keywords()  # saved now, so other processes load it instead of rebuilding
        return report

    def search(self, question: str, k: int, vector=None, weights: Weights = Weights()) -> list[Hit]:
        return search(question, k, self.store, self.embedder, self.keywords, vector=vector, weights=weights)

    def stats(self) -> dict:
        """Documents and chunks indexed, the model and where the index lives, for a status line."""
        return {
            "documents": len(self.store.files()),
            "chunks": self.store.count(),
            "model": self.embedder.name,
            "location": self.location,
        }

    @cached_property
    def texts(self) -> TextCache:
        return TextCache(self.data_dir / "indexes" / self.key / "texts")

    def text_of(self, source: str) -> str:
        """The canonical text of `source` as the file is now, for checking and widening citations.

        Kept per (size, mtime) of the file, in memory and on disk (saved by sync): parsing an
        HTML page per answer cost more than the whole search. An edited file is parsed again.
        """
        from index.documents import load

        stat = (self.root / source).stat()
        key = (source, stat.st_size, stat.st_mtime_ns)
        if key not in self._texts:
            if len(self._texts) >= TEXT_CACHE:
                self._texts.pop(next(iter(self._texts)))
            text = self.texts.get(source, stat)
            if text is None:
                text = load(self.root, source, self.max_bytes).text
                self.texts.put(source, stat, text)
            self._texts[key] = text
        return self._texts[key]
