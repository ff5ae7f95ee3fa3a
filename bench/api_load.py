"""Benchmark: 50 questions POSTed at once to `assistant serve` while the LLM takes 1 s a draft,
with /healthz polled throughout.

    python bench/api_load.py [--requests 50] [--delay 1] [--workers 4 16]

A real `assistant serve` on loopback over the bundled corpus, drafting with the suite's
loopback LLM fake (tests/fake_llm.py); run once per worker count in one run (the default 4
is the baseline). Prints, for each: how many answers came back 200 and how many 5xx, the
wall time for all of them, the most drafts the LLM server had in flight at once, and the
slowest /healthz reply seen while they were answered. The suite checks the behaviour
(tests/test_api.py); these seconds move with the machine, so they live here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from test_api import serving  # noqa: E402

from data import BECK, BUNDLED, GOOD  # noqa: E402
from fake_llm import FakeLLM  # noqa: E402
from processes import mark_run  # noqa: E402


def one_run(root: Path, requests: int, delay: float, workers: int) -> dict[str, float]:
    with (
        FakeLLM(default=GOOD, delay=delay) as llm,
        serving(
            root,
            "--corpus",
            str(BUNDLED),
            ASSISTANT_LLM_BASE_URL=llm.base_url,
            ASSISTANT_LLM_TIMEOUT="120",
            ASSISTANT_WORKERS=str(workers),
        ) as server,
    ):
        done = threading.Event()
        slowest = [0.0]

        def poll() -> None:
            while not done.is_set():
                began = time.perf_counter()
                with urllib.request.urlopen(server.url + "/healthz", timeout=30) as r:
                    assert r.status == 200
                slowest[0] = max(slowest[0], time.perf_counter() - began)
                done.wait(0.1)

        poller = threading.Thread(target=poll)
        poller.start()
        began = time.perf_counter()
        with ThreadPoolExecutor(requests) as pool:
            statuses = list(pool.map(lambda _: server.call("POST", "/v1/ask", {"question": BECK})[0], range(requests)))
        took = time.perf_counter() - began
        done.set()
        poller.join()
        return {
            "ok": sum(s == 200 for s in statuses),
            "5xx": sum(s >= 500 for s in statuses),
            "seconds": took,
            "in_flight": llm.most_in_flight,
            "healthz_max_s": slowest[0],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 16])
    args = parser.parse_args()
    mark_run()
    print(f"{args.requests} questions at once, LLM {args.delay:g} s a draft")
    print("| workers | answered (200) | 5xx | wall s | LLM drafts in flight | slowest /healthz s |")
    print("|---|---|---|---|---|---|")
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            r = one_run(Path(tmp), args.requests, args.delay, workers)
        print(
            f"| {workers} | {r['ok']:.0f} | {r['5xx']:.0f} | {r['seconds']:.1f} | {r['in_flight']:.0f} | "
            f"{r['healthz_max_s']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
