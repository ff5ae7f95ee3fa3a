"""What the reader costs, side by side in one run: warm `ask` latency on the pydoc40 corpus
with the shipped reader and with the earlier logistic sentence model (the baseline), asked in
turns in one process so both see the same machine; plus the reader's file size and load time,
and the ingest time of the corpus (the reader plays no part in ingest).

    python bench/reader_cost.py [--repeats 4]

Needs Debian's python3.11-doc (the pydoc40 pages), like bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()

    from run import prepare  # bench/run.py: the same corpus folders

    from assistant.answering.reader import MODEL, OnnxReader
    from assistant.config import Settings
    from assistant.engine import Engine

    root = Path(tempfile.mkdtemp(prefix="reader-cost-"))
    corpus = prepare("pydoc40", root)
    engine = Engine(Settings(corpus=corpus, data_dir=root / "data", model_dir=root / "models"))
    engine.embedder.embed(["warm up"])  # the model export is not ingest
    began = time.perf_counter()
    engine.sync()
    ingest = time.perf_counter() - began

    began = time.perf_counter()
    reader = OnnxReader()
    reader._load()
    load_ms = 1000 * (time.perf_counter() - began)

    questions = [json.loads(line)["question"] for line in (HERE / "questions.jsonl").read_text().splitlines() if line]
    engine.reader = None
    engine.answer(questions[0])  # indexes open, model loaded
    engine.reader = reader
    engine.answer(questions[0])
    times: dict[str, list[float]] = {"reader": [], "logistic (before)": []}
    for _ in range(args.repeats):
        for q in questions:
            for name, r in (("reader", reader), ("logistic (before)", None)):
                engine.reader = r
                t = time.perf_counter()
                engine.answer(q)
                times[name].append(1000 * (time.perf_counter() - t))
    print(f"pydoc40: {len(questions)} questions x {args.repeats}, each asked with both in turn")
    print("| figure | reader | logistic (before) | reader / before |")
    print("|---|---:|---:|---:|")
    for label, fn in (("warm p50 ms", statistics.median), ("warm p95 ms", lambda v: sorted(v)[int(0.95 * len(v))])):
        a, b = fn(times["reader"]), fn(times["logistic (before)"])
        print(f"| {label} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
    print(
        f"\nreader: {MODEL.stat().st_size / 1024:.0f} KiB, loaded in {load_ms:.0f} ms; ingest of pydoc40: {ingest:.1f} s"
    )


if __name__ == "__main__":
    main()
