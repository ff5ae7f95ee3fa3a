"""The vector store: the one module that talks to Chroma.

Everything outside sees `Chunk`s, `Sentence`s and scores, never Chroma's result dicts.
An index is two collections on one client, chunks and their sentences, embedded on
disk by default or on a `chroma run` server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from index.chunking import Chunk, Sentence
from index.errors import StoreError

_WRITE_BATCH = 1000  # well under Chroma's max batch size


class Store:
    """Chunks and sentences with their vectors (cosine space), kept in step per source."""

    def __init__(self, chunks, sentences, files):
        self._chunks = chunks
        self._sentences = sentences
        self._files = files  # the manifest: one record per indexed file, so every process sees it

    @classmethod
    def open(cls, name: str, path: Path | None = None, url: str | None = None, metadata: dict | None = None) -> Store:
        """Open or create index `name`, on disk under `path` or on the server at `url`."""
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        try:
            if url:
                parsed = urlparse(url)
                if parsed.scheme not in ("http", "https") or not parsed.hostname:
                    raise StoreError(f"ASSISTANT_CHROMA_URL must look like http://host:port, got {url!r}")
                client = chromadb.HttpClient(
                    host=parsed.hostname,
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=settings,
                )
            else:
                assert path is not None
                path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(path), settings=settings)

            def collection(suffix: str):
                return client.get_or_create_collection(
                    name + suffix,
                    embedding_function=None,  # we always pass vectors; never let Chroma fetch a model
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata=metadata or None,
                )

            return cls(collection(""), collection("-sentences"), collection("-files"))
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - connection and on-disk errors look alike to a user
            raise StoreError(f"cannot open the Chroma index at {url or path}: {exc}") from exc

    def count(self) -> int:
        return self._chunks.count()

    def replace_source(
        self,
        source: str,
        chunks: Sequence[Chunk],
        chunk_vectors: np.ndarray,
        sentences: Sequence[Sentence],
        sentence_vectors: np.ndarray,
    ) -> None:
        """Make `source`'s chunks and sentences exactly these: write new ones, then delete the rest.

        Stale entries are found in the store itself, not in a manifest, so a sync that
        was killed half-way converges on the next run.
        """
        _upsert(self._sentences, [s.id for s in sentences], sentence_vectors, [s.text for s in sentences],
                [{"source": s.source, "start": s.start, "end": s.end} for s in sentences])
        _upsert(self._chunks, [c.id for c in chunks], chunk_vectors, [c.text for c in chunks],
                [_chunk_metadata(c) for c in chunks])
        self.remove_source(source, keep={c.id for c in chunks} | {s.id for s in sentences})

    def remove_source(self, source: str, keep: set[str] = frozenset()) -> None:
        for col in (self._chunks, self._sentences):
            stale = [i for i in col.get(where={"source": source}, include=[])["ids"] if i not in keep]
            for i in range(0, len(stale), _WRITE_BATCH):
                col.delete(ids=stale[i : i + _WRITE_BATCH])

    def sources(self) -> dict[str, int]:
        """Every source with chunks in the store, and how many it has."""
        counts: dict[str, int] = {}
        for m in self._chunks.get(include=["metadatas"])["metadatas"]:
            counts[m["source"]] = counts.get(m["source"], 0) + 1
        return counts

    def files(self) -> dict[str, dict]:
        """The manifest: source -> {sha256, size, mtime_ns, chunks} of each file the index holds."""
        res = self._files.get(include=["metadatas"])
        return {m["source"]: {k: v for k, v in m.items() if k != "source"} for m in res["metadatas"]}

    def put_file(self, source: str, entry: dict) -> None:
        """Record `source` as indexed; written after its chunks, so a crash leaves it stale, not wrong."""
        self._files.upsert(ids=[source], embeddings=[[0.0]], metadatas=[{"source": source, **entry}])

    def drop_file(self, source: str) -> None:
        self._files.delete(ids=[source])

    def chunk_ids(self, source: str | None = None) -> set[str]:
        where = {"source": source} if source else None
        return set(self._chunks.get(where=where, include=[])["ids"])

    def nearest_chunks(self, vector: np.ndarray, n: int) -> list[str]:
        """Ids of the `n` chunks nearest to `vector`, best first."""
        return _nearest(self._chunks, vector, n)

    def nearest_sentences(self, vector: np.ndarray, n: int) -> list[str]:
        """Ids of the `n` sentences nearest to `vector`, best first."""
        return _nearest(self._sentences, vector, n)

    def chunks_with_vectors(self, ids: Sequence[str]) -> list[tuple[Chunk, np.ndarray]]:
        if not ids:
            return []
        res = self._chunks.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        return [
            (_chunk(i, d, m), np.asarray(v, dtype=np.float32))
            for i, d, m, v in zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"])
        ]

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        res = self._sentences.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(res["ids"], res["embeddings"])}

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, for rebuilding derived indexes."""
        res = self._chunks.get(include=["documents", "metadatas"])
        return [_chunk(i, d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"])]


def _upsert(col, ids, vectors, documents, metadatas) -> None:
    for i in range(0, len(ids), _WRITE_BATCH):
        end = i + _WRITE_BATCH
        col.upsert(ids=ids[i:end], embeddings=vectors[i:end], documents=documents[i:end], metadatas=metadatas[i:end])


def _nearest(col, vector, n) -> list[str]:
    if n <= 0:
        return []
    return col.query(query_embeddings=[vector], n_results=n, include=[])["ids"][0]


def _chunk_metadata(c: Chunk) -> dict:
    meta = {"source": c.source, "start": c.start, "end": c.end, "sentences": json.dumps(c.sentences)}
    if c.page is not None:
        meta["page"] = c.page
        meta["page_breaks"] = json.dumps(c.page_breaks)
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
    )
