"""Used from llama-index: our retriever inside llama-index's own query engine, and our query
engine returning llama-index `Response`s whose source nodes are exact, verified quotes."""

from __future__ import annotations

import asyncio

import pytest

from data import ARTICLE, BECK, BUNDLED, HOMELAND

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    return Engine(Settings(corpus=BUNDLED, data_dir=tmp_path_factory.mktemp("li")), embedder=embedder)


def file_text(source: str) -> str:
    return (BUNDLED / source).read_text(encoding="utf-8")


def test_our_retriever_in_llama_indexs_retriever_query_engine_gives_exact_offsets(engine):
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    from assistant.integrations.llama_index import CitedRetriever

    query_engine = RetrieverQueryEngine.from_args(CitedRetriever(engine, k=3), llm=MockLLM())
    response = query_engine.query(BECK)
    assert response.source_nodes and len(response.source_nodes) <= 3
    for scored in response.source_nodes:
        node, meta = scored.node, scored.node.metadata
        text = file_text(meta["source"])
        assert text[meta["start"] : meta["end"]] == node.get_content() == node.text
        assert (node.start_char_idx, node.end_char_idx) == (meta["start"], meta["end"])
        assert meta["sentences"] and all(text[s["start"] : s["end"]] == s["text"] for s in meta["sentences"])
    best = response.source_nodes[0].node.metadata["sentences"]
    assert any(HOMELAND in s["text"] and s["score"] is not None for s in best)
    # Offsets and sentences are not pasted into the model's prompt.
    prompt_text = response.source_nodes[0].node.get_content(metadata_mode="llm")
    assert "sentences" not in prompt_text and f"source: {ARTICLE}" in prompt_text


def test_our_query_engine_returns_verified_quotes_and_says_when_it_abstains(engine):
    from llama_index.core.base.response.schema import Response, StreamingResponse

    from assistant.integrations.llama_index import CitedQueryEngine

    query_engine = CitedQueryEngine(engine)
    response = query_engine.query(BECK)
    assert isinstance(response, Response) and response.metadata["abstained"] is False
    assert response.metadata["mode"] == "extractive" and response.metadata["dropped"] == []
    assert response.response == engine.answer(BECK).text
    quotes = [n for n in response.source_nodes if HOMELAND in n.node.text]
    assert quotes, [n.node.text for n in response.source_nodes]
    for scored in response.source_nodes:
        meta = scored.node.metadata
        assert file_text(meta["source"])[meta["start"] : meta["end"]] == scored.node.text
        assert f"[{meta['n']}]" in response.response

    off_topic = query_engine.query("Who won the 2020 World Series?")
    assert off_topic.metadata["abstained"] is True and off_topic.source_nodes == []

    streamed = CitedQueryEngine(engine, streaming=True).query(BECK)
    assert isinstance(streamed, StreamingResponse)
    assert "".join(streamed.response_gen) == response.response and streamed.source_nodes

    async_response = asyncio.run(query_engine.aquery(BECK))
    assert async_response.response == response.response
