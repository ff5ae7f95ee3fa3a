"""This project's side of the benchmark for what the CLI doesn't print: warm latency and scale.

    python bench/ours.py warm QUESTIONS_FILE        # ASSISTANT_* settings pick corpus and index
    python bench/ours.py fill N_CHUNKS DATA_DIR     # a store of N synthetic chunks and its keyword index
    python bench/ours.py scale DATA_DIR             # search latency on it, in a fresh process

Both print one JSON object. `warm` answers each question in one process (the engine as
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


def fill(n_chunks: str, data_dir: str) -> None:
    """A store of N synthetic chunks (4 sentences each, random unit vectors, word-salad text),
    and its keyword index with the vector copy, as a sync would leave them."""
    import numpy as np

    from index.chunking import Chunk, Sentence, chunk_id, sentences_of
    from index.local import LocalIndex
    from index.store import SourceRows, Store

    n = int(n_chunks)
    rng = np.random.default_rng(0)
    store = Store.open("scale", path=Path(data_dir) / "chroma")
    began = time.perf_counter()
    if store.count() < n:
        for first in range(0, n, 2000):
            batch = []
            for i in range(first, min(n, first + 2000)):
                sents = [" ".join(rng.choice(WORDS, 12)) + "." for _ in range(4)]
                text = " ".join(sents)
                spans, at = [], i * 1000
                for s in sents:
                    spans.append((at, at + len(s)))
                    at += len(s) + 1
                source = f"doc{i // 50:05d}.txt"
                batch.append(
                    Chunk(
                        chunk_id(source, i * 1000, at - 1, text), source, i * 1000, at - 1, text, sentences=tuple(spans)
                    )
                )
            items = []
            for source in dict.fromkeys(c.source for c in batch):
                cs = [c for c in batch if c.source == source]
                ss: list[Sentence] = [s for c in cs for s in sentences_of(c)]
                sv = _unit(rng, len(ss))
                cv = sv.reshape(len(cs), -1, sv.shape[1]).mean(axis=1)
                items.append(SourceRows(source, cs, cv / np.linalg.norm(cv, axis=1, keepdims=True), ss, sv))
            store.replace_sources(items)
    filled = time.perf_counter()
    LocalIndex.build(store.all_chunks(), store.all_vectors()).save(Path(data_dir) / "keyword")
    print(
        json.dumps(
            {"chunks": store.count(), "fill_seconds": filled - began, "build_seconds": time.perf_counter() - filled}
        )
    )


def scale(data_dir: str) -> None:
    """Search the store `fill` made, in a fresh process as `ask` would: open it, load the
    keyword index, then 100 questions (the first one's time reported apart: it loads HNSW)."""
    import numpy as np

    from index.local import LocalIndex
    from index.onnx_embedding import OnnxEmbedder
    from index.search import search
    from index.store import Store

    store = Store.open("scale", path=Path(data_dir) / "chroma")
    local = LocalIndex.load(Path(data_dir) / "keyword")
    embedder = OnnxEmbedder(cache_dir=Path(data_dir) / "models")
    rng = np.random.default_rng(1)
    questions = [f"which {a} {b} holds the {c}?" for a, b, c in rng.choice(WORDS, (101, 3))]
    began = time.perf_counter()
    search(questions[0], 5, store, embedder, local)
    first = time.perf_counter() - began
    seconds = []
    for q in questions[1:]:
        began = time.perf_counter()
        search(q, 5, store, embedder, local)  # the question's embedding included
        seconds.append(time.perf_counter() - began)
    print(json.dumps({"chunks": store.count(), "first_seconds": first, "seconds": seconds}))


def _unit(rng, n: int):
    import numpy as np

    v = rng.standard_normal((n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


if __name__ == "__main__":
    {"warm": warm, "fill": fill, "scale": scale}[sys.argv[1]](*sys.argv[2:])
