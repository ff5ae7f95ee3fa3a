"""Incremental sync on a real Chroma in a temp dir with the real embedder."""

from __future__ import annotations

import os

import numpy as np
import pytest

from index.chunking import chunk, sentences_of, unique_sentences
from index.documents import Document
from index.embedding import HashEmbedder
from index.sync import _embed, chunk_vectors

from data import ARTICLE

pytestmark = pytest.mark.slow

EXTRA = "Leave policy.\n\nStaff get 30 days of paid leave each year. Unused days expire in March.\n"


def vectors_of(engine, source, kind="chunks"):
    store = engine.index.store
    ids = store.chunk_ids(source) if kind == "chunks" else store.sentence_ids(source)
    return {i: v for i, v in store.all_vectors().items() if i in ids}


def sentence_ids(engine, source):
    return engine.index.store.sentence_ids(source)


def test_ingesting_twice_changes_nothing(corpus, make_engine):
    (corpus / "handbook.md").write_text(EXTRA, encoding="utf-8")
    first = make_engine(corpus).sync()
    assert sorted(first.added) == sorted([ARTICLE, "handbook.md"]) and first.chunks > 0
    engine = make_engine(corpus)  # a fresh process-like engine over the same data dir
    second = engine.sync()
    assert not second.changed and second.unchanged == 2 and second.chunks_written == 0
    assert second.chunks == first.chunks


def test_touching_a_file_without_changing_it_reembeds_nothing(corpus, make_engine):
    make_engine(corpus).sync()
    (corpus / ARTICLE).write_bytes((corpus / ARTICLE).read_bytes())  # new mtime, same bytes
    report = make_engine(corpus).sync()
    assert not report.changed and report.chunks_written == 0


def test_editing_one_file_reembeds_only_that_file(corpus, make_engine):
    (corpus / "handbook.md").write_text(EXTRA, encoding="utf-8")
    engine = make_engine(corpus)
    engine.sync()
    before_article = vectors_of(engine, ARTICLE)
    before_sentences = vectors_of(engine, ARTICLE, "sentences")
    (corpus / "handbook.md").write_text(EXTRA.replace("30 days", "35 days"), encoding="utf-8")
    report = make_engine(corpus).sync()
    assert report.updated == ["handbook.md"] and report.added == [] and report.removed == []
    after_article = vectors_of(engine, ARTICLE)
    assert after_article.keys() == before_article.keys()
    assert all(np.array_equal(before_article[i], after_article[i]) for i in before_article)
    after_sentences = vectors_of(engine, ARTICLE, "sentences")
    assert all(np.array_equal(before_sentences[i], after_sentences[i]) for i in before_sentences)
    texts = [c.text for c in engine.index.store.chunks(list(engine.index.store.chunk_ids("handbook.md")))]
    assert any("35 days" in t for t in texts) and not any("30 days" in t for t in texts)
    # The old version's sentences are gone: the store holds exactly the new chunks' sentences.
    new_sentences = {
        s.id for c in engine.index.store.all_chunks() if c.source == "handbook.md" for s in sentences_of(c)
    }
    assert sentence_ids(engine, "handbook.md") == new_sentences
    assert report.chunks_written == len(engine.index.store.chunk_ids("handbook.md"))


def test_deleting_a_file_removes_its_chunks(corpus, make_engine):
    (corpus / "handbook.md").write_text(EXTRA, encoding="utf-8")
    engine = make_engine(corpus)
    total = engine.sync().chunks
    article_chunks = len(engine.index.store.chunk_ids(ARTICLE))
    assert sentence_ids(engine, "handbook.md")
    (corpus / "handbook.md").unlink()
    fresh = make_engine(corpus)
    report = fresh.sync()
    assert report.removed == ["handbook.md"]
    assert engine.index.store.chunk_ids("handbook.md") == set() and sentence_ids(engine, "handbook.md") == set()
    assert report.chunks == article_chunks < total
    with fresh.index.local.view() as view:
        assert len(view.all_ids("chunk")) == view.count("chunk") == article_chunks  # BM25 follows the store


def test_a_bad_file_is_reported_and_the_rest_is_ingested(corpus, make_engine):
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (corpus / "empty.md").write_text("", encoding="utf-8")
    report = make_engine(corpus).sync()
    assert report.added == [ARTICLE]
    assert dict(report.skipped) == {"binary.txt": "binary file, not text", "empty.md": "empty"}


def test_two_corpus_folders_keep_separate_indexes(tmp_path, corpus, make_engine):
    other = tmp_path / "other"
    other.mkdir()
    (other / "handbook.md").write_text(EXTRA, encoding="utf-8")
    a, b = make_engine(corpus), make_engine(other)
    a.sync(), b.sync()
    assert a.index.collection != b.index.collection
    assert a.index.store.chunk_ids("handbook.md") == set()
    assert b.index.store.chunk_ids(ARTICLE) == set()
    assert make_engine(corpus).sync().chunks == a.index.store.count()  # b's sync deleted nothing of a's


def test_the_keyword_index_is_saved_with_the_index_and_follows_it(corpus, make_engine):
    engine = make_engine(corpus)
    engine.sync()
    engine.index.local  # noqa: B018 - built on first use
    saved = (engine.index.local_dir / "local.db").stat().st_mtime_ns
    reopened = make_engine(corpus)
    reopened.sync()  # nothing changed: opened from disk, nothing written
    with reopened.index.local.view() as view:
        assert view.all_ids("chunk") == engine.index.store.chunk_ids()
    assert (engine.index.local_dir / "local.db").stat().st_mtime_ns == saved
    (corpus / "handbook.md").write_text(EXTRA, encoding="utf-8")
    make_engine(corpus).sync()
    with make_engine(corpus).index.local.view() as view:
        assert view.all_ids("chunk") == engine.index.store.chunk_ids()
        assert {c.source for c in engine.index.store.chunks(list(view.all_ids("chunk")))} == {ARTICLE, "handbook.md"}
        assert view.keyword("chunk", "paid leave").best > 0


def test_a_store_that_disagrees_with_the_manifest_is_repaired(corpus, make_engine):
    """As after a sync killed between writing the store and saving the manifest."""
    (corpus / "handbook.md").write_text(EXTRA, encoding="utf-8")
    engine = make_engine(corpus)
    clean = engine.sync().chunks
    store = engine.index.store
    store.remove_source(ARTICLE)  # chunks gone, manifest still vouches for them
    (corpus / "handbook.md").unlink()  # and a deletion the manifest hasn't seen
    report = make_engine(corpus).sync()
    assert report.removed == ["handbook.md"] and ARTICLE in report.updated
    assert set(store.sources()) == {ARTICLE}
    assert report.chunks == len(store.chunk_ids(ARTICLE)) < clean
    assert not make_engine(corpus).sync().changed


class CountingEmbedder(HashEmbedder):
    """The hash fake, recording every text it was asked to embed."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen += list(texts)
        return super().embed(texts)


def test_chunk_vectors_are_the_normalised_mean_of_their_sentences():
    doc = Document(source="a.txt", text="Cats purr softly. Dogs bark loudly at night. Fish swim.", sha256="x")
    chunks = chunk(doc, max_tokens=8)
    sentences = unique_sentences(chunks)
    emb = HashEmbedder()
    vectors = emb.embed([s.text for s in sentences])
    got = chunk_vectors(chunks, sentences, vectors)
    row = {s.id: i for i, s in enumerate(sentences)}
    for c, v in zip(chunks, got, strict=True):
        mean = vectors[[row[s.id] for s in sentences_of(c)]].mean(axis=0)
        assert np.allclose(v, mean / np.linalg.norm(mean), atol=1e-6)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_each_distinct_text_is_embedded_once():
    emb = CountingEmbedder()
    texts = ["New in version 3.8.", "Availability: Unix.", "New in version 3.8.", "Something else."]
    vectors = _embed(texts, emb)
    assert emb.seen == ["New in version 3.8.", "Availability: Unix.", "Something else."]
    assert np.array_equal(vectors, HashEmbedder().embed(texts))


def test_sync_embeds_sentences_only(tmp_path):
    """Chunk texts never go to the model (their vectors come from their sentences); many
    small files written together all get their chunks and their manifest records."""
    from index.store import Store
    from index.sync import sync

    root = tmp_path / "docs"
    root.mkdir()
    for i in range(30):
        (root / f"f{i:02d}.txt").write_text(f"File {i} opens. It has a second sentence. And a third one.\n")
    emb = CountingEmbedder()
    store = Store.open("batched", path=tmp_path / "chroma")
    report = sync(root, store, emb, chunk_tokens=200)
    assert len(report.added) == 30
    chunk_texts = {c.text for c in store.all_chunks()}
    assert not chunk_texts & set(emb.seen)  # no chunk text was embedded as such
    assert len(store.files()) == 30 and sum(e["chunks"] for e in store.files().values()) == store.count()


def test_citation_checks_read_the_text_saved_at_sync_until_the_file_changes(corpus, make_engine):
    """After a sync the index serves a document's text from its cache (proved by planting a
    marker in the cache), and a touched file is read again instead."""
    engine = make_engine(corpus)
    engine.sync()
    index = engine.index
    stat = (corpus / ARTICLE).stat()
    assert index.texts.get(ARTICLE, stat) == (corpus / ARTICLE).read_text(encoding="utf-8")
    index.texts.put(ARTICLE, stat, "MARKER")
    assert make_engine(corpus).index.text_of(ARTICLE) == "MARKER"
    os.utime(corpus / ARTICLE, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert make_engine(corpus).index.text_of(ARTICLE) == (corpus / ARTICLE).read_text(encoding="utf-8")


def test_reads_of_the_whole_store_are_paged(corpus, make_engine, monkeypatch):
    """Whole-collection reads go a page at a time (one unbounded read of ~100k rows fails in
    SQLite); with tiny pages every chunk, vector and manifest record still comes back."""
    from index import store as store_module

    engine = make_engine(corpus)
    engine.sync()
    store = engine.index.store
    expected = (store.count(), len(store.all_chunks()), len(store.all_vectors()), store.files())
    monkeypatch.setattr(store_module, "_READ_PAGE", 3)
    assert store.count() > 3
    assert (store.count(), len(store.all_chunks()), len(store.all_vectors()), store.files()) == expected
    assert sum(store.sources().values()) == store.count()


def test_progress_counts_files_chunks_and_tokens_and_runs_down_the_time_left(tmp_path, embedder, monkeypatch):
    """What a sync reports as it goes adds up to what it did: every file, every chunk, every
    token the model was given; the time left ends at zero."""
    from index import sync as sync_module
    from index.store import Store

    monkeypatch.setattr(sync_module, "REPORT_EVERY", 0.0)  # every report, not one a half second
    monkeypatch.setattr(sync_module, "BATCH_SENTENCES", 20)  # several write batches
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(8):
        (root / f"f{i}.txt").write_text(" ".join(f"Note {k} of file {i} is here." for k in range(12)), encoding="utf-8")
    seen: list = []
    store = Store.open("progress", path=tmp_path / "chroma")
    report = sync_module.sync(root, store, embedder, on_progress=seen.append)
    sentences = {s.text for c in store.all_chunks() for s in sentences_of(c)}
    assert report.tokens == sum(embedder.count_tokens(sorted(sentences))) > 0
    assert [p.files_done for p in seen] == sorted(p.files_done for p in seen)
    assert seen[0].files_done == 0 and seen[0].remaining is None and seen[0].current == "f0.txt"
    last = seen[-1]
    assert (last.files_done, last.files_total, last.chunks, last.tokens) == (8, 8, report.chunks_written, report.tokens)
    assert last.remaining == pytest.approx(0.0, abs=0.05) and last.tokens_per_s > 0
    assert any(p.remaining and p.remaining > 0 for p in seen[1:-1])  # an estimate while there was work left
