"""The local copy of the vectors that search reads: aligned with the ids, saved and
memory-mapped back unchanged, and a cache written without it is rebuilt, not trusted."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunking import chunk, sentences_of
from index.documents import Document
from index.embedding import HashEmbedder
from index.keyword import KeywordIndex

TEXT = "Cats purr softly. Dogs bark loudly at night. Fish swim in the pond. Birds sing at dawn."


def build():
    chunks = chunk(Document(source="a.txt", text=TEXT, sha256="x"), max_tokens=10)
    sentences = {s.id: s for c in chunks for s in sentences_of(c)}
    emb = HashEmbedder()
    vectors = dict(zip(sentences, emb.embed([s.text for s in sentences.values()])))
    vectors.update(zip([c.id for c in chunks], emb.embed([c.text for c in chunks])))
    return chunks, sentences, vectors, KeywordIndex.build(chunks, vectors)


def test_similarities_are_the_dot_products_of_the_stored_vectors():
    chunks, sentences, vectors, index = build()
    q = HashEmbedder().embed(["do dogs bark at night"])[0]
    got = index.sentence_similarity([*sentences, "unknown-id"], q)
    assert set(got) == set(sentences)  # ids the index doesn't hold are left out, not guessed
    for sid, score in got.items():
        assert score == pytest.approx(float(vectors[sid] @ q), abs=1e-6)
    chunk_scores = index.chunk_similarity([c.id for c in chunks], q)
    assert chunk_scores == pytest.approx({c.id: float(vectors[c.id] @ q) for c in chunks}, abs=1e-6)


def test_saved_and_loaded_it_scores_the_same(tmp_path):
    chunks, sentences, _, index = build()
    index.save(tmp_path / "kw", "stamp")
    loaded = KeywordIndex.load(tmp_path / "kw")
    q = HashEmbedder().embed(["fish in a pond"])[0]
    assert loaded.sentence_similarity(list(sentences), q) == pytest.approx(index.sentence_similarity(list(sentences), q))
    assert np.array_equal(loaded.sentences.scores("pond"), index.sentences.scores("pond"))


def test_a_cache_without_the_vector_copy_does_not_load(tmp_path):
    chunks, _, _, _ = build()
    KeywordIndex.build(chunks).save(tmp_path / "kw", "stamp")  # as written before the copy existed
    with pytest.raises(OSError):
        KeywordIndex.load(tmp_path / "kw")
