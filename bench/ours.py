"""This project's side of the benchmark for what the CLI doesn't print: warm latency and scale.

    python bench/ours.py warm QUESTIONS_FILE        # ASSISTANT_* settings pick corpus and index
    python bench/ours.py fill N_CHUNKS DATA_DIR     # a corpus of N synthetic chunks, in the store
    python bench/ours.py build DATA_DIR             # its local index (BM25, vector copy) from nothing
    python bench/ours.py scale DATA_DIR             # search latency on it, in a fresh process
    python bench/ours.py edit DATA_DIR              # one file edited and synced, in a fresh process

Each prints one JSON object. `warm` answers each question in one process (the engine as
chat and Slack hold it) and times every full extractive answer, citations checked.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def warm(questions_file: str) -> None:
    from assistant.config import Settings
    from assistant.engine import Engine

    engine = Engine(Settings())
    engine.sync()
    with open(questions_file, encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh if line.strip()]
    engine.answer(questions[0])  # loads the model and the indexes; warm means after that
    seconds, answered = [], 0
    for q in questions:
        began = time.perf_counter()
        answer = engine.answer(q)
        seconds.append(time.perf_counter() - began)
        answered += not answer.abstained
    print(json.dumps({"seconds": seconds, "answered": answered}))


WORDS = "alpha beta gamma delta table index query store vector chunk python module file lock thread".split()
CHUNKS_PER_FILE = 50


def _index(data_dir: str):
    """The corpus index over DATA_DIR/corpus, as `assistant` would open it (int8 model unless
    ASSISTANT_EMBEDDING_PRECISION says otherwise; the model loads only if something is embedded)."""
    from assistant.config import Settings
    from assistant.engine import make_embedder
    from index.corpus import CorpusIndex

    data = Path(data_dir)
    settings = Settings(corpus=data / "corpus", data_dir=data, model_dir=data / "models")
    return CorpusIndex(settings.corpus, data, make_embedder(settings))


def fill(n_chunks: str, data_dir: str) -> None:
    """A corpus folder of synthetic files (50 paragraphs of 4 word-salad sentences each) and a
    store holding their chunks with random unit vectors and their manifest, as a sync would
    leave it (embedding 400k sentences for real would take hours). Reused if already full."""
    import hashlib

    import numpy as np

    from index.chunking import Chunk, Sentence, chunk_id, sentences_of
    from index.store import SourceRows

    n = int(n_chunks)
    rng = np.random.default_rng(0)
    folder = Path(data_dir) / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    index = _index(data_dir)
    store = index.store
    began = time.perf_counter()
    files = (n + CHUNKS_PER_FILE - 1) // CHUNKS_PER_FILE
    if len(store.files()) < files:  # by files: `edit` leaves one file chunked for real, with fewer chunks
        for first in range(0, files, 40):
            items, entries = [], {}
            for f in range(first, min(files, first + 40)):
                source = f"doc{f:05d}.txt"
                chunks, at, paragraphs = [], 0, []
                for _ in range(min(CHUNKS_PER_FILE, n - f * CHUNKS_PER_FILE)):
                    sents = [" ".join(rng.choice(WORDS, 12)).capitalize() + "." for _ in range(4)]
                    text = " ".join(sents)
                    spans, s_at = [], at
                    for s in sents:
                        spans.append((s_at, s_at + len(s)))
                        s_at += len(s) + 1
                    chunks.append(
                        Chunk(
                            chunk_id(source, at, at + len(text), text),
                            source,
                            at,
                            at + len(text),
                            text,
                            sentences=tuple(spans),
                        )
                    )
                    paragraphs.append(text)
                    at += len(text) + 2
                body = "\n\n".join(paragraphs)
                path = folder / source
                path.write_text(body, encoding="utf-8")
                stat = path.stat()
                ss: list[Sentence] = [s for c in chunks for s in sentences_of(c)]
                sv = _unit(rng, len(ss))
                cv = sv.reshape(len(chunks), -1, sv.shape[1]).mean(axis=1)
                items.append(SourceRows(source, chunks, cv / np.linalg.norm(cv, axis=1, keepdims=True), ss, sv))
                entries[source] = {
                    "sha256": hashlib.sha256(body.encode()).hexdigest(),
                    "size": stat.st_size,
                    "mtime_ns": stat.st_mtime_ns,
                    "chunks": len(chunks),
                }
            store.replace_sources(items)
            store.put_files(entries)
    print(json.dumps({"chunks": store.count(), "fill_seconds": time.perf_counter() - began}))


def build(data_dir: str) -> None:
    """Bring the local index (BM25 and vector copy) up to date with the filled store, from
    nothing: the cost a new replica or a wiped data dir pays once."""
    index = _index(data_dir)
    began = time.perf_counter()
    index.catch_up()
    print(json.dumps({"build_seconds": time.perf_counter() - began}))


def scale(data_dir: str) -> None:
    """Search the filled store in a fresh process as `ask` would: open it and its local
    index, then 100 questions (the first one's time reported apart: it loads HNSW)."""
    import numpy as np

    index = _index(data_dir)
    rng = np.random.default_rng(1)
    questions = [f"which {a} {b} holds the {c}?" for a, b, c in rng.choice(WORDS, (101, 3))]
    began = time.perf_counter()
    index.search(questions[0], 5)
    first = time.perf_counter() - began
    seconds = []
    for q in questions[1:]:
        began = time.perf_counter()
        index.search(q, 5)  # the question's embedding included
        seconds.append(time.perf_counter() - began)
    print(json.dumps({"chunks": index.store.count(), "first_seconds": first, "seconds": seconds}))


def edit(data_dir: str) -> None:
    """Edit one file of the filled corpus and sync, in a fresh process as `assistant ingest`
    would (open, load the model, re-chunk and embed the file, write the store, catch up the
    local index); then a second edit in the same process, as a running bot would pay it.
    The file is put back afterwards (and synced), so runs can repeat."""
    index = _index(data_dir)
    path = sorted((Path(data_dir) / "corpus").glob("*.txt"))[len(WORDS)]
    original = path.read_text(encoding="utf-8")
    try:
        times = []
        for n in (1, 2):
            path.write_text(original + f"\n\nThe edited paragraph number {n} mentions a zebra.", encoding="utf-8")
            began = time.perf_counter()
            report = index.sync()
            times.append(time.perf_counter() - began)
            assert report is not None and report.updated == [path.name], report
        found = index.search("Which paragraph mentions a zebra?", 1)
        assert found and "zebra" in found[0].chunk.text, "the edit is not searchable"
    finally:
        path.write_text(original, encoding="utf-8")
        index.sync()
    print(json.dumps({"first_sync_seconds": times[0], "second_sync_seconds": times[1], "file": path.name}))


def _unit(rng, n: int):
    import numpy as np

    v = rng.standard_normal((n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


if __name__ == "__main__":
    {"warm": warm, "fill": fill, "build": build, "scale": scale, "edit": edit}[sys.argv[1]](*sys.argv[2:])
