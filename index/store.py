"""The vector store: the one module that talks to Chroma.

Everything outside sees `Chunk`s and scores, never Chroma's result dicts. A store is
one Chroma collection, embedded on disk by default or on a `chroma run` server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from index.chunking import Chunk
from index.errors import StoreError

_WRITE_BATCH = 1000  # well under Chroma's max batch size


class Store:
    """One collection of chunks with their vectors (cosine space)."""

    def __init__(self, collection):
        self._col = collection

    @classmethod
    def open(cls, name: str, path: Path | None = None, url: str | None = None, metadata: dict | None = None) -> Store:
        """Open or create collection `name`, on disk under `path` or on the server at `url`."""
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
            collection = client.get_or_create_collection(
                name,
                embedding_function=None,  # we always pass vectors; never let Chroma fetch a model
                configuration={"hnsw": {"space": "cosine"}},
                metadata=metadata or None,
            )
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - connection and on-disk errors look alike to a user
            where = url or str(path)
            raise StoreError(f"cannot open the Chroma index at {where}: {exc}") from exc
        return cls(collection)

    def count(self) -> int:
        return self._col.count()

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        for i in range(0, len(chunks), _WRITE_BATCH):
            part = chunks[i : i + _WRITE_BATCH]
            self._col.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + _WRITE_BATCH],
                documents=[c.text for c in part],
                metadatas=[_metadata(c) for c in part],
            )

    def ids_of(self, source: str) -> set[str]:
        return set(self._col.get(where={"source": source}, include=[])["ids"])

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), _WRITE_BATCH):
            self._col.delete(ids=ids[i : i + _WRITE_BATCH])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        """The `k` nearest chunks with cosine similarity, best first."""
        if k <= 0 or self.count() == 0:
            return []
        res = self._col.query(
            query_embeddings=[vector], n_results=k, include=["documents", "metadatas", "distances"]
        )
        return [
            (_chunk(id_, doc, meta), 1.0 - float(dist))
            for id_, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def all_chunks(self) -> list[Chunk]:
        """Every chunk, for rebuilding derived indexes."""
        res = self._col.get(include=["documents", "metadatas"])
        return [_chunk(i, d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"])]


def _metadata(c: Chunk) -> dict:
    meta = {"source": c.source, "start": c.start, "end": c.end, "sentences": json.dumps(c.sentences)}
    if c.page is not None:
        meta["page"] = c.page
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
    )
