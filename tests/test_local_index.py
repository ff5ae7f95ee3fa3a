"""What each process keeps beside the store: the BM25 index and the vector copy. The copy
is aligned with the ids, saved and read back unchanged, and a cache written without it is
rebuilt, not trusted."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunking import chunk, sentences_of
from index.documents import Document
from index.embedding import HashEmbedder
from index.keyword import KeywordIndex
from index.local import LocalIndex
from index.vectors import VectorFile

TEXT = "Cats purr softly. Dogs bark loudly at night. Fish swim in the pond. Birds sing at dawn."


def build():
    chunks = chunk(Document(source="a.txt", text=TEXT, sha256="x"), max_tokens=10)
    sentences = {s.id: s for c in chunks for s in sentences_of(c)}
    emb = HashEmbedder()
    vectors = dict(zip(sentences, emb.embed([s.text for s in sentences.values()]), strict=True))
    vectors.update(zip([c.id for c in chunks], emb.embed([c.text for c in chunks]), strict=True))
    return chunks, sentences, vectors, LocalIndex.build(chunks, vectors)


def test_similarities_are_the_dot_products_of_the_stored_vectors():
    chunks, sentences, vectors, index = build()
    q = HashEmbedder().embed(["do dogs bark at night"])[0]
    got = index.vectors.sentence_similarity([*sentences, "unknown-id"], q)
    assert set(got) == set(sentences)  # ids the index doesn't hold are left out, not guessed
    for sid, score in got.items():
        assert score == pytest.approx(float(vectors[sid] @ q), abs=1e-6)
    chunk_scores = index.vectors.chunk_similarity([c.id for c in chunks], q)
    assert chunk_scores == pytest.approx({c.id: float(vectors[c.id] @ q) for c in chunks}, abs=1e-6)


def test_saved_and_loaded_it_scores_the_same(tmp_path):
    _, sentences, _, index = build()
    index.save(tmp_path / "kw", "stamp")
    assert LocalIndex.fingerprint(tmp_path / "kw") == "stamp"
    loaded = LocalIndex.load(tmp_path / "kw")
    q = HashEmbedder().embed(["fish in a pond"])[0]
    assert loaded.vectors.sentence_similarity(list(sentences), q) == pytest.approx(
        index.vectors.sentence_similarity(list(sentences), q)
    )
    assert np.array_equal(loaded.keywords.sentences.scores("pond"), index.keywords.sentences.scores("pond"))
    loaded.close()


def test_a_cache_without_the_vector_copy_does_not_load(tmp_path):
    chunks, _, _, _ = build()
    (tmp_path / "kw").mkdir()
    KeywordIndex.build(chunks).save(tmp_path / "kw")  # as written before the copy existed
    with pytest.raises(OSError):
        LocalIndex.load(tmp_path / "kw")


def test_a_vector_file_reads_rows_and_closes(tmp_path):
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "m.npy", matrix)
    rows = VectorFile(tmp_path / "m.npy")
    assert np.array_equal(rows[np.array([3, 0])], matrix[[3, 0]])
    rows.close()
    with pytest.raises(ValueError):
        rows[np.array([0])]  # closed: no file descriptor left behind
