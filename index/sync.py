"""Sync: make the index match the corpus folder, touching only what changed.

A manifest (a record per file, kept in the store itself so every process sharing the
index sees it) holds each file's size, mtime and sha256. An unchanged file is never
read again; a changed one is re-chunked and re-embedded; a deleted one loses its
chunks. Chunk ids are deterministic, so a repeated sync writes nothing.

Crash safety: a file's record is written only after its chunks, and stale chunks are
found in the store, not the manifest; so a sync killed at any point leaves at worst the
files of one write batch out of date, which the next sync redoes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import documents
from index.chunking import DEFAULT_CHUNK_TOKENS, Chunk, Sentence, chunk, sentences_of, unique_sentences
from index.embedding import Embedder
from index.errors import DocumentError
from index.store import SourceRows, Store
from index.texts import TextCache

OnFile = Callable[[str, int, int], None]  # (source, files done, files to do)
OnBatch = Callable[[int, int], None]  # (texts embedded, texts to embed)


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

    @classmethod
    def combine(cls, reports: Sequence[tuple[str, SyncReport]]) -> SyncReport:
        """Several folders' reports as one, each file written "name/path"."""
        out = cls()
        for name, r in reports:
            out.added += [f"{name}/{s}" for s in r.added]
            out.updated += [f"{name}/{s}" for s in r.updated]
            out.removed += [f"{name}/{s}" for s in r.removed]
            out.skipped += [(f"{name}/{s}", why) for s, why in r.skipped]
            out.warnings += [(f"{name}/{s}", what) for s, what in r.warnings]
            out.unchanged += r.unchanged
            out.chunks_written += r.chunks_written
            out.chunks += r.chunks
            out.seconds += r.seconds
        return out


def sync(
    root: Path,
    store: Store,
    embedder: Embedder,
    *,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    on_file: OnFile | None = None,
    max_bytes: int = documents.DEFAULT_MAX_BYTES,
    on_batch: OnBatch | None = None,
    texts: TextCache | None = None,
) -> SyncReport:
    """Bring `store` in line with the files under `root`; bad files are reported and skipped.

    `on_file(source, done, total)` is called before each file that has to be read, and
    `on_batch(done, total)` as a big file's texts are embedded. Each text read is saved in
    `texts`, for checking citations later without parsing the file again.
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
    pending: list[_Pending] = []
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
        if texts is not None:
            texts.put(source, stat, doc.text)
        if entry and entry["sha256"] == doc.sha256:
            store.put_file(source, {**entry, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
            report.unchanged += 1
            continue
        chunks = chunk(doc, max_tokens=chunk_tokens, count=embedder.count_tokens)
        pending.append(
            _Pending(
                source,
                chunks,
                unique_sentences(chunks),
                {"sha256": doc.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "chunks": len(chunks)},
            )
        )
        (report.updated if entry else report.added).append(source)
        report.chunks_written += len(chunks)
        if sum(len(p.sentences) for p in pending) >= BATCH_SENTENCES:
            _write(pending, store, embedder, on_batch)
            pending = []
    _write(pending, store, embedder, on_batch)
    for source in sorted(set(files) - set(present)):
        store.remove_source(source)
        store.drop_file(source)
        if texts is not None:
            texts.drop(source)
        report.removed.append(source)
    report.chunks = store.count()
    report.seconds = time.perf_counter() - began
    return report


def chunk_vectors(chunks: list[Chunk], sentences: list[Sentence], vectors: np.ndarray) -> np.ndarray:
    """Each chunk's vector: the normalised mean of its sentences' vectors.

    Embedding only the sentences halves the model's work (chunks repeat their text) and
    scored the same on eval/squad2-small as embedding each chunk itself.
    """
    row = {s.id: i for i, s in enumerate(sentences)}
    out = np.zeros((len(chunks), vectors.shape[1]), dtype=np.float32)
    for i, c in enumerate(chunks):
        out[i] = vectors[[row[s.id] for s in sentences_of(c)]].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


BATCH_SENTENCES = 1024  # small files are embedded and written together: fewer, fuller model and store calls
EMBED_SLICE = 512  # texts per embedding call, so a big file shows progress as it goes


@dataclass
class _Pending:
    """A file chunked and waiting to be embedded and written with others."""

    source: str
    chunks: list[Chunk]
    sentences: list[Sentence]
    entry: dict[str, Any]


def _write(pending: list[_Pending], store: Store, embedder: Embedder, on_batch: OnBatch | None) -> None:
    """Embed the files' sentences in one go, write their chunks, then (only then) their manifest records."""
    if not pending:
        return
    vectors = _embed([s.text for p in pending for s in p.sentences], embedder, on_batch)
    items, at = [], 0
    for p in pending:
        sv = vectors[at : at + len(p.sentences)]
        at += len(p.sentences)
        items.append(SourceRows(p.source, p.chunks, chunk_vectors(p.chunks, p.sentences, sv), p.sentences, sv))
    store.replace_sources(items)
    store.put_files({p.source: p.entry for p in pending})


def _embed(texts: list[str], embedder: Embedder, on_batch: OnBatch | None) -> np.ndarray:
    """Each distinct text once (docs repeat boilerplate sentences), in slices for progress."""
    distinct = list(dict.fromkeys(texts))
    if on_batch is None or len(distinct) <= EMBED_SLICE:
        vectors = embedder.embed(distinct)
    else:
        parts = []
        for i in range(0, len(distinct), EMBED_SLICE):
            on_batch(i, len(distinct))
            parts.append(embedder.embed(distinct[i : i + EMBED_SLICE]))
        on_batch(len(distinct), len(distinct))
        vectors = np.vstack(parts)
    if len(distinct) == len(texts):
        return vectors
    row = {t: i for i, t in enumerate(distinct)}
    return vectors[[row[t] for t in texts]]
