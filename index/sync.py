"""Sync: make the index match the corpus folder, touching only what changed.

A manifest records each file's size, mtime and sha256. An unchanged file is never
read again; a changed one is re-chunked and re-embedded; a deleted one loses its
chunks. Chunk ids are deterministic, so a repeated sync writes nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index import documents
from index.chunking import chunk, unique_sentences
from index.embedding import Embedder
from index.errors import DocumentError
from index.store import Store

MANIFEST_VERSION = 1


@dataclass
class SyncReport:
    """What a sync did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    chunks_written: int = 0
    chunks: int = 0  # total in the index afterwards
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


class Manifest:
    """File hashes and stats of what the index holds, saved atomically as JSON."""

    def __init__(self, path: Path):
        self.path = path
        self.files: dict[str, dict] = {}
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == MANIFEST_VERSION:
                self.files = data["files"]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "files": self.files}, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def sync(
    root: Path,
    store: Store,
    embedder: Embedder,
    manifest: Manifest,
    chunk_tokens: int = 200,
    on_file: Callable[[str, int, int], None] | None = None,
) -> SyncReport:
    """Bring `store` in line with the files under `root`; bad files are reported and skipped.

    `on_file(source, done, total)` is called before each file that has to be read.
    """
    began = time.perf_counter()
    report = SyncReport()
    present = documents.discover(root)
    touched = False  # manifest needs saving
    if sum(e["chunks"] for e in manifest.files.values()) != store.count():
        # The store and the manifest disagree (a sync killed half-way, a wiped collection):
        # forget what the manifest vouches for, so every file is re-embedded and every
        # source the store holds but the folder doesn't is removed.
        known = set(manifest.files) | store.sources()
        manifest.files = {s: {"sha256": "", "size": -1, "mtime_ns": -1, "chunks": 0} for s in known}
    todo = []
    for source in present:
        entry = manifest.files.get(source)
        try:
            stat = (root / source).stat()
        except OSError as exc:
            report.skipped.append((source, f"cannot stat: {exc.strerror or exc}"))
            continue
        if entry and entry["size"] == stat.st_size and entry["mtime_ns"] == stat.st_mtime_ns:
            report.unchanged += 1
        else:
            todo.append((source, stat))
    for done, (source, stat) in enumerate(todo):
        if on_file:
            on_file(source, done, len(todo))
        entry = manifest.files.get(source)
        try:
            doc = documents.load(root, source)
        except DocumentError as exc:
            # Keep whatever an earlier good version put in the index: a bad file loses nothing.
            report.skipped.append((source, exc.reason))
            continue
        if entry and entry["sha256"] == doc.sha256:
            entry.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
            report.unchanged += 1
            touched = True
            continue
        chunks = chunk(doc, max_tokens=chunk_tokens, count=embedder.count_tokens)
        sentences = unique_sentences(chunks)
        # One call for both, so the model can batch them by length.
        vectors = embedder.embed([c.text for c in chunks] + [s.text for s in sentences])
        store.replace_source(source, chunks, vectors[: len(chunks)], sentences, vectors[len(chunks) :])
        manifest.files[source] = {
            "sha256": doc.sha256,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "chunks": len(chunks),
        }
        (report.updated if entry else report.added).append(source)
        report.chunks_written += len(chunks)
    for source in sorted(set(manifest.files) - set(present)):
        store.remove_source(source)
        del manifest.files[source]
        report.removed.append(source)
    if touched or report.changed:
        manifest.save()
    report.chunks = store.count()
    report.seconds = time.perf_counter() - began
    return report
