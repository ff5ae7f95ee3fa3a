"""Use it from llama-index: our retrieval as a retriever, our verified answers as a query engine.

    from assistant.integrations.llama_index import CitedQueryEngine
    response = CitedQueryEngine(Settings(corpus="handbook")).query("How much leave do I get?")
    response.source_nodes[0].node.text  # the exact quote; metadata: source, start, end, page

Imported only when used (the command line never loads llama-index). Nodes are plain
`TextNode`s: a retrieved node is a chunk with its scored sentences; a cited node is one
verified quote, `text == file_text[start:end]`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Generator, Sequence
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.config import Settings
from assistant.engine import Engine
from assistant.spaces import split_source
from assistant.types import Answer, Citation
from index.chunking import sentences_of
from index.search import Hit

# Offsets and sentences are for code, not for a model's prompt or an embedding.
_NOT_FOR_MODELS = ["start", "end", "sentences", "space"]


class _Ours:
    """Our engine, from `Settings` or as given, synced the first time it is used."""

    def __init__(self, settings_or_engine: Settings | Engine):
        self._engine = settings_or_engine if isinstance(settings_or_engine, Engine) else Engine(settings_or_engine)
        self._synced = False

    @property
    def engine(self) -> Engine:
        if not self._synced:
            self._engine.sync(wait=True)
            self._synced = True
        return self._engine


class CitedRetriever(BaseRetriever):
    """Our hybrid, sentence-aware retrieval: one node per passage, its sentences scored."""

    def __init__(
        self,
        settings_or_engine: Settings | Engine,
        *,
        k: int | None = None,
        spaces: Sequence[str] | None = None,
        callback_manager: CallbackManager | None = None,
    ):
        super().__init__(callback_manager=callback_manager)
        self._ours = _Ours(settings_or_engine)
        self._k = k
        self._spaces = spaces

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        engine = self._ours.engine
        hits = engine.search([query_bundle.query_str], self._k or engine.settings.top_k, self._spaces)
        return [passage_node(h, named=engine.named) for h in hits]


class CitedQueryEngine(BaseQueryEngine):
    """Our answers: `response` is the answer text (extractive, or the LLM's with every sentence
    verified), `source_nodes` its citations (one node per exact quote), `metadata` whether it
    abstained, its mode and the sentences left out. With `streaming=True` the verified answer
    comes as a `StreamingResponse`, piece by piece (never the unverified draft)."""

    def __init__(
        self,
        settings_or_engine: Settings | Engine,
        *,
        streaming: bool = False,
        spaces: Sequence[str] | None = None,
        callback_manager: CallbackManager | None = None,
    ):
        super().__init__(callback_manager=callback_manager)
        self._ours = _Ours(settings_or_engine)
        self._streaming = streaming
        self._spaces = spaces

    def _query(self, query_bundle: QueryBundle) -> Response | StreamingResponse:
        answer = self._ours.engine.answer(query_bundle.query_str, spaces=self._spaces)
        nodes = [citation_node(c) for c in answer.citations]
        metadata = answer_metadata(answer)
        if self._streaming:
            return StreamingResponse(_pieces(answer.text), source_nodes=nodes, metadata=metadata)
        return Response(response=answer.text, source_nodes=nodes, metadata=metadata)

    async def _aquery(self, query_bundle: QueryBundle) -> Response | StreamingResponse:
        return await asyncio.to_thread(self._query, query_bundle)

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}  # our prompts are named constants, not llama-index prompt templates


def passage_node(hit: Hit, *, named: bool = False) -> NodeWithScore:
    """A retrieved passage: the chunk's text, where it is, and its sentences with their scores."""
    chunk = hit.chunk
    space, source = split_source(chunk.source, named)
    scored = {s.sentence.start: s.score for s in hit.sentences}
    sentences = [
        {"start": s.start, "end": s.end, "text": s.text, "score": scored.get(s.start), "page": chunk.page_at(s.start)}
        for s in sentences_of(chunk)
    ]
    metadata: dict[str, Any] = {"source": source, "start": chunk.start, "end": chunk.end, "page": chunk.page}
    if space is not None:
        metadata["space"] = space
    metadata["sentences"] = sentences
    return _node(chunk.id, chunk.text, metadata, hit.score)


def citation_node(c: Citation) -> NodeWithScore:
    """A verified citation: its exact quote, its number in the answer and where it is."""
    metadata: dict[str, Any] = {"n": c.n, "source": c.source, "start": c.start, "end": c.end, "page": c.page}
    if c.space is not None:
        metadata["space"] = c.space
    return _node(c.location, c.quote, metadata, c.score)


def _node(id_: str, text: str, metadata: dict[str, Any], score: float) -> NodeWithScore:
    """A node whose text is `file_text[start:end]`, with those offsets set and kept out of prompts."""
    node = TextNode(
        id_=id_,
        text=text,
        metadata=metadata,
        start_char_idx=metadata["start"],
        end_char_idx=metadata["end"],
        excluded_llm_metadata_keys=_NOT_FOR_MODELS,
        excluded_embed_metadata_keys=_NOT_FOR_MODELS,
    )
    return NodeWithScore(node=node, score=score)


def answer_metadata(answer: Answer) -> dict[str, Any]:
    """What the response's metadata says about how it was answered (the answer JSON's own fields)."""
    out = {k: v for k, v in answer.to_json().items() if k not in ("answer", "citations")}
    out.setdefault("dropped", [])
    return out


def _pieces(text: str) -> Generator[str, None, None]:
    """The verified answer a sentence at a time; the pieces join back to the text exactly."""
    parts = re.split(r"(?<=[.!?\]])(\s+)", text)
    for i in range(0, len(parts), 2):
        piece = parts[i] + (parts[i + 1] if i + 1 < len(parts) else "")
        if piece:
            yield piece
