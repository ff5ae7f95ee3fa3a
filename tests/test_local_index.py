"""The local index (BM25 and the vector copy, in SQLite) is updated file by file: after
any adds, edits and deletes it scores exactly as an index built from scratch on the same
files, its BM25 is bm25s's, and an update that dies half-way converges on the next one."""

from __future__ import annotations

import numpy as np
import pytest

import index.corpus
import index.local
from index.corpus import CorpusIndex

DOCS = {
    "cats.txt": "Cats purr softly when they are content. A cat sleeps for most of the day. Cats hunt mice at night.",
    "dogs.md": "Dogs bark loudly at strangers. A dog needs a walk every day. Dogs were bred to herd sheep.",
    "fish.txt": "Fish swim in the pond all year. The pond freezes in winter, but the fish survive below the ice.",
}
QUESTIONS = [
    "Why do dogs bark?",
    "When do cats hunt?",
    "What happens to the pond in winter?",
    "Which animal herds sheep?",
    "zebra crossing",  # no word indexed
]


def results(idx: CorpusIndex) -> list:
    """Every question's hits (ids and scores, sentence by sentence) and BM25 of every row."""
    out = []
    for q in QUESTIONS:
        hits = idx.search(q, 5)
        out.append(
            [
                (
                    h.chunk.id,
                    round(h.score, 5),
                    [(s.sentence.id, round(s.score, 5), round(s.keyword, 5)) for s in h.sentences],
                )
                for h in hits
            ]
        )
        with idx.local.view() as view:
            for kind in ("chunk", "sentence"):
                kw = view.keyword(kind, q)
                ids = view.ids(kind, [int(r) for r in np.flatnonzero(kw.scores)])
                out.append(sorted((ids[r], pytest.approx(kw.of(r), abs=1e-6)) for r in ids))
    return out


def fresh(folder, tmp_path, embedder, name) -> CorpusIndex:
    built = CorpusIndex(folder, tmp_path / name, embedder)
    built.sync()
    return built


def test_adds_edits_and_deletes_score_as_a_rebuild(tmp_path, embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cats.txt").write_text(DOCS["cats.txt"], encoding="utf-8")
    (folder / "dogs.md").write_text(DOCS["dogs.md"], encoding="utf-8")
    live = CorpusIndex(folder, tmp_path / "live", embedder)
    live.sync()
    assert results(live) == results(fresh(folder, tmp_path, embedder, "rebuild0"))

    steps = [
        lambda: (folder / "fish.txt").write_text(DOCS["fish.txt"], encoding="utf-8"),  # add
        lambda: (folder / "cats.txt").write_text("Cats purr. Dogs chase cats up trees.", encoding="utf-8"),  # edit
        lambda: (folder / "dogs.md").unlink(),  # delete
    ]
    for n, step in enumerate(steps, 1):
        step()
        report = live.sync()
        assert report is not None and report.changed
        rebuilt = fresh(folder, tmp_path, embedder, f"rebuild{n}")
        assert results(live) == results(rebuilt), f"step {n}"
        with live.local.view() as view:
            assert view.all_ids("chunk") == live.store.chunk_ids()
            assert view.all_ids("sentence") == live.store.sentence_ids()
        assert set(live.local.sources()) == {p.name for p in folder.iterdir()}
    # The vector copy holds the store's vectors, exactly.
    stored = live.store.all_vectors()
    with live.local.view() as view:
        held = {**view.rows("chunk", list(stored)), **view.rows("sentence", list(stored))}
    assert set(held) == set(stored)
    assert all(np.array_equal(held[i].vector, v) for i, v in stored.items())


def test_bm25_is_bm25s_lucene(tmp_path, embedder):
    bm25s = pytest.importorskip("bm25s")
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    idx = fresh(folder, tmp_path, embedder, "data")
    chunks = {c.id: c.text for c in idx.store.all_chunks()}
    vocab: dict[str, int] = {}
    ids = list(chunks)
    tokens = [[vocab.setdefault(t, len(vocab)) for t in index.local.tokenize(chunks[i])] for i in ids]
    reference = bm25s.BM25()  # its defaults: Lucene, k1 1.5, b 0.75
    reference.index(bm25s.tokenization.Tokenized(ids=tokens, vocab=vocab), show_progress=False)
    for q in QUESTIONS[:4]:
        terms = [vocab[t] for t in index.local.tokenize(q) if t in vocab]
        want = dict(zip(ids, reference.get_scores(terms).tolist(), strict=True))
        with idx.local.view() as view:
            kw = view.keyword("chunk", q)
            rows = view.rows("chunk", ids)
            got = {i: kw.of(rows[i].row) for i in ids}
        assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_a_catch_up_that_dies_half_way_converges(tmp_path, embedder, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    writer = CorpusIndex(folder, tmp_path / "shared", embedder)
    writer.sync()  # the store holds all three
    writer.local.close()
    for f in writer.local_dir.glob("local.db*"):
        f.unlink()  # as for a new replica: nothing local yet
    monkeypatch.setattr(index.corpus, "CATCH_UP_CHUNKS", 1)  # one source a batch, one transaction each
    real_add, calls = index.local._add, []

    def dies_on_the_second(con, update):
        calls.append(update.source)
        real_add(con, update)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed mid-update")  # after its rows are written, before the commit

    monkeypatch.setattr(index.local, "_add", dies_on_the_second)
    reader = CorpusIndex(folder, tmp_path / "shared", embedder)
    with pytest.raises(KeyboardInterrupt):
        reader.local  # noqa: B018 - opening it catches up
    monkeypatch.setattr(index.local, "_add", real_add)
    held = index.local.LocalIndex(reader.local_dir / "local.db").sources()
    assert list(held) == [calls[0]]  # the first batch committed; the second rolled back whole
    half = CorpusIndex(folder, tmp_path / "shared", embedder)
    assert half.local.sources().keys() == set(DOCS)  # the next catch-up takes in the rest
    assert results(half) == results(fresh(folder, tmp_path, embedder, "rebuild"))
