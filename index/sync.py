"""Sync: make the index match the corpus folder, touching only what changed.

A manifest (a record per file, kept in the store itself so every process sharing the
index sees it) holds each file's size, mtime and sha256. An unchanged file is never
read again; a changed one is re-chunked and re-embedded; a deleted one loses its
chunks. Chunk ids are deterministic, so a repeated sync writes nothing.

Crash safety: a file's record is written only after its chunks, and stale chunks are
found in the store, not the manifest; so a sync killed at any point leaves at worst one
file out of date, which the next sync redoes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index import documents
from index.chunking import chunk, unique_sentences
from index.embedding import Embedder
from index.errors import DocumentError
from index.store import Store

@dataclass
class SyncReport:
    """What a sync did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (source, what was odd but ingested)
    chunks_written: int = 0
    chunks: int = 0  # total in the index afterwards
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def sync(
    root: Path,
    store: Store,
    embedder: Embedder,
    chunk_tokens: int = 200,
    on_file: Callable[[str, int, int], None] | None = None,
    max_bytes: int = documents.DEFAULT_MAX_BYTES,
    on_batch: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Bring `store` in line with the files under `root`; bad files are reported and skipped.

    `on_file(source, done, total)` is called before each file that has to be read, and
    `on_batch(done, total)` as a big file's texts are embedded.
    """
    began = time.perf_counter()
    report = SyncReport()
    present = documents.discover(root)
    files = store.files()
    if sum(e["chunks"] for e in files.values()) != store.count():
        # The store disagrees with its manifest (a wiped or hand-edited collection): redo the
        # sources whose chunk counts differ, and remove those the manifest doesn't know.
        held = store.sources()
        for source in set(files) | set(held):
            if files.get(source, {}).get("chunks") != held.get(source, 0):
                files[source] = {"sha256": "", "size": -1, "mtime_ns": -1, "chunks": held.get(source, 0)}
    todo = []
    for source in present:
        entry = files.get(source)
        try:
            stat = (root / source).stat()
        except OSError as exc:
            report.skipped.append((source, documents.describe_os_error(exc)))
            continue
        if entry and entry["size"] == stat.st_size and entry["mtime_ns"] == stat.st_mtime_ns:
            report.unchanged += 1
        else:
            todo.append((source, stat))
    for done, (source, stat) in enumerate(todo):
        if on_file:
            on_file(source, done, len(todo))
        entry = files.get(source)
        try:
            doc = documents.load(root, source, max_bytes)
        except DocumentError as exc:
            # Keep whatever an earlier good version put in the index: a bad file loses nothing.
            report.skipped.append((source, exc.reason))
            continue
        report.warnings += [(source, w) for w in doc.warnings]
        if entry and entry["sha256"] == doc.sha256:
            store.put_file(source, {**entry, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
            report.unchanged += 1
            continue
        chunks = chunk(doc, max_tokens=chunk_tokens, count=embedder.count_tokens)
        sentences = unique_sentences(chunks)
        vectors = _embed([c.text for c in chunks] + [s.text for s in sentences], embedder, on_batch)
        store.replace_source(source, chunks, vectors[: len(chunks)], sentences, vectors[len(chunks) :])
        store.put_file(source, {"sha256": doc.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                "chunks": len(chunks)})
        (report.updated if entry else report.added).append(source)
        report.chunks_written += len(chunks)
    for source in sorted(set(files) - set(present)):
        store.remove_source(source)
        store.drop_file(source)
        report.removed.append(source)
    report.chunks = store.count()
    report.seconds = time.perf_counter() - began
    return report


EMBED_SLICE = 512  # texts per embedding call, so a big file shows progress as it goes


def _embed(texts: list[str], embedder: Embedder, on_batch: Callable[[int, int], None] | None):
    """Chunks and sentences in one go (the model batches them by length), in slices for progress."""
    import numpy as np

    if on_batch is None or len(texts) <= EMBED_SLICE:
        return embedder.embed(texts)
    parts = []
    for i in range(0, len(texts), EMBED_SLICE):
        on_batch(i, len(texts))
        parts.append(embedder.embed(texts[i : i + EMBED_SLICE]))
    on_batch(len(texts), len(texts))
    return np.vstack(parts)
