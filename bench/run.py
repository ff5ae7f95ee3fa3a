"""Benchmark: this project against llama-index's quickstart pipeline, side by side, one run.

    python bench/run.py [--corpus bundled|pydoc40|rst40|pydoc ...] [--scale 100000 [--scale-dir DIR]] [--out FILE]

For each corpus, each pipeline ingests it into a fresh index (a fresh process, timed from
start to exit), answers one question cold (a fresh process, start to printed answer, best
of 3), and answers bench/questions.jsonl warm (in one process, after a first question).
Peak RSS is each process's own (os.wait4). Our ONNX export (and its int8 quantisation) is
made once before the run, into a model dir every step shares, and its cost is reported on
its own line. Ours runs int8 (the default); on the smaller corpora it also ingests in fp32
(ASSISTANT_EMBEDDING_PRECISION=fp32), so the gain is measured in the same run.

Corpora: `bundled` is corpus/; `pydoc40` is the 40 pages of Python's library docs listed
in bench/pydoc40.txt plus the bundled article; `rst40` is plain text, the 40 reST sources
listed in bench/rst40.txt (every eighth of the library's, 1.06 MB) plus the article;
`pydoc` is all the HTML pages (Debian's python3.11-doc, /usr/share/doc/python3.11/html/).

`--scale N` fills a store with N synthetic chunks (a corpus folder of files of 50 chunks,
random vectors), then, each in a fresh process: builds the local index from nothing,
times 100 searches, and edits one file and syncs it (then a second edit in the same
process, as a running bot pays it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYDOC = Path("/usr/share/doc/python3.11/html/library")
SOURCES = Path("/usr/share/doc/python3.11/html/_sources/library")
FP32_TOO = {"bundled", "pydoc40", "rst40"}  # the full docs are too long to ingest three times
QUESTIONS = HERE / "questions.jsonl"
COLD_QUESTION = "Which function in the secrets module generates a URL-safe text token?"
BUNDLED_QUESTION = "What did Chief Beck say about working with Homeland Security?"


def run(cmd: list[str], env: dict | None = None, cwd: Path = REPO) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one fresh process, started in `cwd` (whose code
    it imports first); fails loudly on a non-zero exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}… failed ({proc.returncode}):\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024, stdout


def prepare(name: str, root: Path) -> Path:
    folder = root / name
    folder.mkdir()
    article = REPO / "corpus" / "lapd-wont-help-deportations.txt"
    if name == "bundled":
        pages = []
    elif name == "pydoc40":
        pages = [PYDOC / line.strip() for line in (HERE / "pydoc40.txt").read_text().splitlines() if line.strip()]
    elif name == "rst40":
        pages = [SOURCES / line.strip() for line in (HERE / "rst40.txt").read_text().splitlines() if line.strip()]
    elif name == "pydoc":
        pages = sorted(PYDOC.glob("*.html"))
    else:
        raise SystemExit(f"unknown corpus {name}")
    missing = [p for p in pages if not p.is_file()]
    if missing:
        raise SystemExit(f"{missing[0]} not found: install Debian's python3.11-doc (apt-get install python3.11-doc)")
    for page in [*pages, article]:
        shutil.copy(page, folder / page.name)
    return folder


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def bench_corpus(name: str, work: Path, model_dir: Path, repeats: int) -> dict:
    corpus = prepare(name, work)
    mb = sum(f.stat().st_size for f in corpus.iterdir()) / 1e6
    question = BUNDLED_QUESTION if name == "bundled" else COLD_QUESTION
    ours_env = {
        **os.environ,
        "ASSISTANT_CORPUS": str(corpus),
        "ASSISTANT_DATA_DIR": str(work / f"{name}-ours"),
        "ASSISTANT_MODEL_DIR": str(model_dir),
        "HF_HUB_OFFLINE": "1",
    }
    assistant = [sys.executable, "-m", "bots.cli"]
    vanilla = [sys.executable, str(HERE / "vanilla.py")]
    vanilla_db = str(work / f"{name}-vanilla")
    result = {"corpus": name, "files": len(list(corpus.iterdir())), "mb": round(mb, 3)}

    wall, rss, out = run([*assistant, "ingest", "--json"], ours_env)
    summary = json.loads(out)
    ours = {
        "ingest_s": wall,
        "chunks": summary["chunks"],
        "ingest_rss_mb": rss,
        "tokens_per_s": summary["tokens_per_s"],
    }
    if name in FP32_TOO:
        fp32_env = {
            **ours_env,
            "ASSISTANT_EMBEDDING_PRECISION": "fp32",
            "ASSISTANT_DATA_DIR": str(work / f"{name}-fp32"),
        }
        wall, rss, out = run([*assistant, "ingest", "--json"], fp32_env)
        ours.update(fp32_ingest_s=wall, fp32_ingest_rss_mb=rss, fp32_tokens_per_s=json.loads(out)["tokens_per_s"])
    wall, rss, out = run([*vanilla, "ingest", str(corpus), vanilla_db])
    base = {"ingest_s": wall, "chunks": json.loads(out)["chunks"], "ingest_rss_mb": rss}

    for side, cmd, env in (
        ("ours", [*assistant, "ask", question], ours_env),
        ("vanilla", [*vanilla, "ask", vanilla_db, question], None),
    ):
        runs = [run(cmd, env) for _ in range(3)]
        target = ours if side == "ours" else base
        target["cold_s"] = min(r[0] for r in runs)
        target["cold_rss_mb"] = max(r[1] for r in runs)
        target["cold_answer"] = runs[0][2][:400]

    questions = work / "questions.jsonl"
    questions.write_text(QUESTIONS.read_text() * repeats)
    for target, cmd, env in (
        (ours, [sys.executable, str(HERE / "ours.py"), "warm", str(questions)], ours_env),
        (base, [*vanilla, "warm", vanilla_db, str(questions)], None),
    ):
        _, rss, out = run(cmd, env)
        seconds = json.loads(out)["seconds"]
        target.update(
            warm_p50_ms=percentile(seconds, 50) * 1e3,
            warm_p95_ms=percentile(seconds, 95) * 1e3,
            warm_n=len(seconds),
            warm_rss_mb=rss,
        )
    for target in (ours, base):
        target["chunks_per_s"] = target["chunks"] / target["ingest_s"]
        target["mb_per_s"] = mb / target["ingest_s"]
    result.update(ours=ours, vanilla=base)
    return result


def bench_scale(n: int, data: Path, model_dir: Path) -> dict:
    (data / "models").mkdir(parents=True, exist_ok=True)
    for f in model_dir.glob("*.onnx"):
        shutil.copy(f, data / "models" / f.name)
    ours = [sys.executable, str(HERE / "ours.py")]
    _, _, out = run([*ours, "fill", str(n), str(data)])
    filled = json.loads(out)
    shutil.rmtree(data / "indexes", ignore_errors=True)  # the local index, built from nothing next
    _, build_rss, out = run([*ours, "build", str(data)])
    built = json.loads(out)
    edit_wall, edit_rss, out = run([*ours, "edit", str(data)])
    edited = json.loads(out)
    _, rss, out = run([*ours, "scale", str(data)])
    got = json.loads(out)
    return {
        "chunks": got["chunks"],
        "sentences": 4 * got["chunks"],
        "fill_s": filled["fill_seconds"],
        "build_s": built["build_seconds"],
        "build_rss_mb": build_rss,
        "edit_process_s": edit_wall,
        "edit_sync_s": edited["first_sync_seconds"],
        "edit_again_sync_s": edited["second_sync_seconds"],
        "edit_rss_mb": edit_rss,
        "first_query_s": got["first_seconds"],
        "query_p50_ms": percentile(got["seconds"], 50) * 1e3,
        "query_p95_ms": percentile(got["seconds"], 95) * 1e3,
        "query_n": len(got["seconds"]),
        "rss_mb": rss,
    }


def cpu_model() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def table(results: list[dict]) -> str:
    rows = [
        ("ingest chunks/s", "chunks_per_s", "{:.1f}"),
        ("ingest MB/s", "mb_per_s", "{:.3f}"),
        ("chunks", "chunks", "{:d}"),
        ("ingest s", "ingest_s", "{:.1f}"),
        ("ingest peak RSS MB", "ingest_rss_mb", "{:.0f}"),
        ("cold one-shot s", "cold_s", "{:.2f}"),
        ("cold peak RSS MB", "cold_rss_mb", "{:.0f}"),
        ("warm p50 ms", "warm_p50_ms", "{:.1f}"),
        ("warm p95 ms", "warm_p95_ms", "{:.1f}"),
        ("warm peak RSS MB", "warm_rss_mb", "{:.0f}"),
    ]
    lines = []
    for r in results:
        lines += [
            f"\n{r['corpus']}: {r['files']} files, {r['mb']:.2f} MB",
            f"| {'figure':<20} | {'ours':>10} | {'vanilla':>10} | {'ours / vanilla':>14} |",
            f"|{'-' * 22}|{'-' * 12}|{'-' * 12}|{'-' * 16}|",
        ]
        for label, key, fmt in rows:
            a, b = r["ours"][key], r["vanilla"][key]
            ratio = f"{a / b:.2f}x" if b else "-"
            lines.append(f"| {label:<20} | {fmt.format(a):>10} | {fmt.format(b):>10} | {ratio:>14} |")
        ours = r["ours"]
        lines.append(f"ours embedded {ours['tokens_per_s']:,} tokens/s (int8)")
        if "fp32_ingest_s" in ours:
            lines.append(
                f"ours in fp32: ingest {ours['fp32_ingest_s']:.1f} s ({ours['fp32_ingest_s'] / r['vanilla']['ingest_s']:.2f}x "
                f"vanilla), {ours['fp32_tokens_per_s']:,} tokens/s, peak RSS {ours['fp32_ingest_rss_mb']:.0f} MB"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", nargs="+", default=["bundled", "pydoc40", "rst40"], choices=["bundled", "pydoc40", "rst40", "pydoc"]
    )
    parser.add_argument("--scale", type=int, default=0, help="also time search with this many synthetic chunks")
    parser.add_argument(
        "--scale-dir",
        type=Path,
        help="keep the synthetic store here and reuse it (filling "
        "100,000 chunks takes ~15 min); default: a temporary folder",
    )
    parser.add_argument("--repeats", type=int, default=4, help="times each warm question is asked")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    try:
        model_dir = work / "models"
        began = time.perf_counter()
        run(
            [
                sys.executable,
                "-c",
                "import sys; from index.onnx_embedding import OnnxEmbedder; "
                f"e = OnnxEmbedder(cache_dir={str(model_dir)!r}); e.embed(['x']); sys.exit(e.backend != 'onnx')",
            ]
        )
        export_s = time.perf_counter() - began
        print(f"one-time ONNX export and int8 quantisation (first use on a machine): {export_s:.1f} s", flush=True)
        results = []
        for name in args.corpus:
            print(f"benchmarking {name} …", flush=True)
            results.append(bench_corpus(name, work, model_dir, args.repeats))
            print(table(results[-1:]), flush=True)
        scale = bench_scale(args.scale, args.scale_dir or work / "scale", model_dir) if args.scale else None
        if scale:
            print(
                f"\nscale: {scale['chunks']} synthetic chunks ({scale['sentences']} sentences); in a fresh process "
                f"the first search {scale['first_query_s']:.2f} s, then p50 {scale['query_p50_ms']:.1f} ms, "
                f"p95 {scale['query_p95_ms']:.1f} ms over {scale['query_n']}; peak RSS {scale['rss_mb']:.0f} MB.\n"
                f"One file edited and synced: {scale['edit_sync_s']:.2f} s in a fresh process "
                f"({scale['edit_process_s']:.1f} s from start to exit, both edits, peak RSS {scale['edit_rss_mb']:.0f} MB); "
                f"a second edit in the same process {scale['edit_again_sync_s']:.2f} s.\n"
                f"(Store filled in {scale['fill_s']:.0f} s; the local index built from nothing in "
                f"{scale['build_s']:.0f} s at peak RSS {scale['build_rss_mb']:.0f} MB.)"
            )
        report = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {cpu_model()}, {platform.platform()}",
            "python": platform.python_version(),
            "onnx_export_s": export_s,
            "corpora": results,
            "scale": scale,
        }
        args.out.write_text(json.dumps(report, indent=2))
        print(f"\nwritten: {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
