"""The vector store: the one module that talks to Chroma.

Everything outside sees `Chunk`s, `Sentence`s and scores, never Chroma's result dicts.
An index is a collection of chunks (with an HNSW of their vectors) and one of files (the
manifest), embedded on disk by default or on a `chroma run` server. Each chunk's
metadata also carries its sentences' vectors (float32, base64): the local index needs
them, and an HNSW of sentences would cost more than it gives. Chroma loads a
collection's whole HNSW on any read or write, so at 400,000 sentences one edited file
cost 830 MB of RSS, while dense sentence retrieval changed no answer on
eval/squad2-small (sentences are found through their chunks and BM25).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from index.chunking import Chunk, Sentence, sentences_of
from index.errors import StoreError

_WRITE_BATCH = 4000  # under Chroma's max batch size (5461 on this build)


@dataclass(frozen=True)
class SourceRows:
    """Everything one source should hold in the store: its chunks and sentences with their vectors."""

    source: str
    chunks: Sequence[Chunk]
    chunk_vectors: np.ndarray
    sentences: Sequence[Sentence]
    sentence_vectors: np.ndarray


@dataclass(frozen=True)
class Server:
    """A Chroma server: `chroma run` (http://host:port) or a managed one (https://…, a token,
    a tenant and a database)."""

    url: str
    token: str | None = None
    tenant: str | None = None
    database: str | None = None

    def client(self, settings: Any) -> Any:
        import chromadb

        parsed = urlparse(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise StoreError(f"ASSISTANT_CHROMA_URL must look like http://host:port or https://host, got {self.url!r}")
        # Chroma's token header and a bearer: a `chroma run` with token auth reads either,
        # depending on its configuration; Chroma's managed service reads X-Chroma-Token.
        headers = {"X-Chroma-Token": self.token, "Authorization": f"Bearer {self.token}"} if self.token else None
        optional = {"tenant": self.tenant, "database": self.database}
        return chromadb.HttpClient(
            host=parsed.hostname,
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            headers=headers,
            settings=settings,
            **{k: v for k, v in optional.items() if v},
        )


class Store:
    """Chunks with their vectors (cosine space) and their sentences' vectors, kept in step per source."""

    def __init__(self, chunks: Any, files: Any):
        self._chunks = chunks
        self._files = files  # the manifest: one record per indexed file, so every process sees it

    @classmethod
    def open(
        cls, name: str, path: Path | None = None, server: Server | None = None, metadata: dict | None = None
    ) -> Store:
        """Open or create index `name`, on disk under `path` or on `server`."""
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        try:
            if server:
                client = server.client(settings)
            else:
                if path is None:
                    raise StoreError("a local store needs a folder")
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=settings)

            def collection(suffix: str) -> Any:
                return client.get_or_create_collection(
                    name + suffix,
                    embedding_function=None,  # we always pass vectors; never let Chroma fetch a model
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata=metadata or None,
                )

            return cls(collection(""), collection("-files"))
        except StoreError:
            raise
        except Exception as exc:  # connection and on-disk errors look alike to a user
            raise StoreError(f"cannot open the Chroma index at {server.url if server else path}: {exc}") from exc

    def count(self) -> int:
        return self._chunks.count()

    def replace_sources(self, items: Sequence[SourceRows]) -> None:
        """Make each source's chunks exactly these (write new ones, then delete the rest), for
        several sources in as few writes as Chroma allows.

        Stale entries are found in the store itself, not in a manifest, so a sync that
        was killed half-way converges on the next run.
        """
        chunks = [c for item in items for c in item.chunks]
        sentence_vectors: dict[str, np.ndarray] = {}
        for item in items:
            sentence_vectors.update(zip([s.id for s in item.sentences], item.sentence_vectors, strict=True))
        _upsert(
            self._chunks,
            [c.id for c in chunks],
            np.vstack([item.chunk_vectors for item in items]),
            [c.text for c in chunks],
            [_chunk_metadata(c, [sentence_vectors[s.id] for s in sentences_of(c)]) for c in chunks],
        )
        for item in items:
            self.remove_source(item.source, keep={c.id for c in item.chunks})

    def remove_source(self, source: str, keep: frozenset[str] | set[str] = frozenset()) -> None:
        stale = [i for i in _get_all(self._chunks, include=[], where={"source": source})["ids"] if i not in keep]
        for i in range(0, len(stale), _WRITE_BATCH):
            self._chunks.delete(ids=stale[i : i + _WRITE_BATCH])

    def sources(self) -> dict[str, int]:
        """Every source with chunks in the store, and how many it has."""
        counts: dict[str, int] = {}
        for m in _get_all(self._chunks, include=["metadatas"])["metadatas"]:
            counts[m["source"]] = counts.get(m["source"], 0) + 1
        return counts

    def files(self) -> dict[str, dict]:
        """The manifest: source -> {sha256, size, mtime_ns, chunks} of each file the index holds."""
        res = _get_all(self._files, include=["metadatas"])
        return {m["source"]: {k: v for k, v in m.items() if k != "source"} for m in res["metadatas"]}

    def put_file(self, source: str, entry: dict) -> None:
        self.put_files({source: entry})

    def put_files(self, entries: dict[str, dict]) -> None:
        """Record sources as indexed; written after their chunks, so a crash leaves them stale, not wrong."""
        if entries:
            self._files.upsert(
                ids=list(entries),
                embeddings=[[0.0]] * len(entries),
                metadatas=[{"source": s, **e} for s, e in entries.items()],
            )

    def drop_file(self, source: str) -> None:
        self._files.delete(ids=[source])

    def chunk_ids(self, source: str | None = None) -> set[str]:
        where = {"source": source} if source else None
        return set(_get_all(self._chunks, include=[], where=where)["ids"])

    def sentence_ids(self, source: str | None = None) -> set[str]:
        where = {"source": source} if source else None
        chunks = _chunks(_get_all(self._chunks, include=["documents", "metadatas"], where=where))
        return {s.id for c in chunks for s in sentences_of(c)}

    def nearest_chunks(self, vector: np.ndarray, n: int) -> list[str]:
        """Ids of the `n` chunks nearest to `vector`, best first."""
        return _nearest(self._chunks, vector, n)

    def all_vectors(self) -> dict[str, np.ndarray]:
        """Every chunk's and sentence's vector by id (for checks; search reads the local copy)."""
        return _vectors(_get_all(self._chunks, include=["documents", "metadatas", "embeddings"]))[1]

    def all_chunks(self) -> list[Chunk]:
        """Every chunk (for checks; the local index takes in sources one by one)."""
        return _chunks(_get_all(self._chunks, include=["documents", "metadatas"]))

    def source_rows(self, sources: Sequence[str]) -> tuple[list[Chunk], dict[str, np.ndarray]]:
        """These sources' chunks, and every chunk's and sentence's vector by id: what the
        local index needs to take in a changed file."""
        where = {"source": {"$in": list(sources)}}
        return _vectors(_get_all(self._chunks, include=["documents", "metadatas", "embeddings"], where=where))

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        return _chunks(self._chunks.get(ids=list(ids), include=["documents", "metadatas"]))


_READ_PAGE = 5000  # rows per get: one unbounded get of ~100k rows fails in SQLite ("too many SQL variables")


def _get_all(col: Any, include: list[str], where: dict[str, Any] | None = None) -> dict[str, list[Any]]:
    """Every matching row, read a page at a time; the result has the keys of one `get`."""
    out: dict[str, list[Any]] = {"ids": [], **{k: [] for k in include}}
    offset = 0
    while True:
        res = col.get(where=where, include=include, limit=_READ_PAGE, offset=offset)
        out["ids"] += res["ids"]
        for k in include:
            out[k] += list(res[k])
        if len(res["ids"]) < _READ_PAGE:
            return out
        offset += _READ_PAGE


def _upsert(
    col: Any, ids: list[str], vectors: np.ndarray, documents: list[str] | None, metadatas: list[dict[str, Any]]
) -> None:
    for i in range(0, len(ids), _WRITE_BATCH):
        end = i + _WRITE_BATCH
        col.upsert(
            ids=ids[i:end],
            embeddings=vectors[i:end],
            metadatas=metadatas[i:end],
            documents=documents[i:end] if documents is not None else None,
        )


def _nearest(col: Any, vector: np.ndarray, n: int) -> list[str]:
    if n <= 0:
        return []
    return list(col.query(query_embeddings=[vector], n_results=n, include=[])["ids"][0])


def _chunks(res: Any) -> list[Chunk]:
    """The chunks of a `get` that included documents and metadatas."""
    return [_chunk(i, d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True)]


def _vectors(res: dict[str, list[Any]]) -> tuple[list[Chunk], dict[str, np.ndarray]]:
    """The chunks of a `get`, and their vectors and their sentences' by id."""
    chunks, vectors = [], {}
    for i, d, m, v in zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"], strict=True):
        c = _chunk(i, d, m)
        chunks.append(c)
        vectors[i] = np.asarray(v, dtype=np.float32)
        rows = np.frombuffer(base64.b64decode(m.get("vectors", "")), dtype=np.float32).reshape(len(c.sentences), -1)
        vectors.update(zip([s.id for s in sentences_of(c)], rows, strict=True))
    return chunks, vectors


def _chunk_metadata(c: Chunk, sentence_vectors: Sequence[np.ndarray]) -> dict:
    meta = {
        "source": c.source,
        "start": c.start,
        "end": c.end,
        "sentences": json.dumps(c.sentences),
        "vectors": base64.b64encode(np.asarray(sentence_vectors, dtype=np.float32).tobytes()).decode("ascii"),
    }
    if c.page is not None:
        meta["page"] = c.page
        meta["page_breaks"] = json.dumps(c.page_breaks)
    if c.speakers:
        meta["speakers"] = json.dumps(c.speakers)
    if c.sections:
        meta["sections"] = json.dumps(c.sections)
    return meta


def _chunk(id_: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        id=id_,
        source=meta["source"],
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text,
        page=meta.get("page"),
        sentences=tuple(tuple(s) for s in json.loads(meta.get("sentences", "[]"))),
        page_breaks=tuple(json.loads(meta.get("page_breaks", "[]"))),
        speakers=tuple(json.loads(meta.get("speakers", "[]"))),
        sections=tuple(json.loads(meta.get("sections", "[]"))),
    )
