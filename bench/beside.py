"""Today's code beside an earlier commit of it, in one run: ingest seconds and warm `ask` latency.

    python bench/beside.py --old REV [--corpus DIR ...] [--repeats 4] [--rounds 2]

REV is checked out into a temporary folder (`git worktree`). For each corpus, in alternating
rounds so both sides see the same machine, each side ingests it into a fresh data dir (a fresh
process, timed from start to exit) and answers bench/questions.jsonl warm (bench/ours.py's
`warm`, one process). Both sides share one model dir, so the ONNX export is made once, before
the rounds. The corpora are the bundled one, where Debian's python3.11-doc is installed the
plain text rst40 (bench/rst40.txt), and any `--corpus` given. Prints one JSON object and a table: medians over the rounds, and
today's figure over the old one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from run import SOURCES, percentile, prepare, run  # bench/run.py: fresh processes, its corpora

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def side(tree: Path, corpus: Path, data: Path, model_dir: Path, questions: Path) -> dict:
    """One side's ingest (fresh data dir) and warm answers, each in a fresh process from `tree`."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_CORPUS": str(corpus),
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_MODEL_DIR": str(model_dir),
    }
    shutil.rmtree(data, ignore_errors=True)
    wall, rss, out = run([sys.executable, "-m", "bots.cli", "ingest", "--json"], env, cwd=tree)
    chunks = json.loads(out)["chunks"]
    _, warm_rss, out = run([sys.executable, str(tree / "bench" / "ours.py"), "warm", str(questions)], env, cwd=tree)
    seconds = json.loads(out)["seconds"]
    return {
        "ingest_s": wall,
        "ingest_rss_mb": rss,
        "chunks": chunks,
        "warm_p50_ms": percentile(seconds, 50) * 1e3,
        "warm_p95_ms": percentile(seconds, 95) * 1e3,
        "warm_rss_mb": warm_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--corpus", type=Path, action="append", default=[], help="a further folder (repeatable)")
    parser.add_argument("--repeats", type=int, default=4, help="times each warm question is asked")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="beside-") as tmp:
        work = Path(tmp)
        old = work / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.old], check=True)
        try:
            corpora = [REPO / "corpus", *([prepare("rst40", work)] if SOURCES.is_dir() else []), *args.corpus]
            questions = work / "questions.jsonl"
            questions.write_text((HERE / "questions.jsonl").read_text() * args.repeats)
            model_dir = work / "models"
            side(REPO, corpora[0], work / "warm-up", model_dir, questions)  # the ONNX export, made once, untimed
            results = []
            for corpus in corpora:
                rounds: dict[str, list[dict]] = {"old": [], "new": []}
                for _ in range(args.rounds):
                    for name, tree in (("old", old), ("new", REPO)):
                        rounds[name].append(side(tree, corpus, work / f"data-{name}", model_dir, questions))
                med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in rounds.items()}
                name = "bundled" if corpus == REPO / "corpus" else corpus.name
                name = corpus.parent.name if name == "corpus" else name  # a domain's corpus/ folder
                results.append({"corpus": name, **med})
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)
    print(json.dumps({"old": args.old, "results": results}, indent=1))
    print("\n| corpus | measure | old | today | today / old |\n|---|---|---:|---:|---:|")
    for r in results:
        for key in ("ingest_s", "chunks", "warm_p50_ms", "warm_p95_ms", "ingest_rss_mb", "warm_rss_mb"):
            a, b = r["old"][key], r["new"][key]
            print(f"| {r['corpus']} | {key} | {a:.1f} | {b:.1f} | {b / a:.2f}× |")


if __name__ == "__main__":
    main()
