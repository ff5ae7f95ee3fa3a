"""Benchmark: six people mention the bot at once while the LLM takes 3 s a draft.

    python bench/side_by_side.py [--people 6] [--delay 3]

Runs a real `assistant slack --http` against the suite's loopback Slack Web API and LLM
fakes (tests/fake_slack.py, tests/fake_llm.py), twice in one run: with one worker (one
question at a time, the baseline) and with the default workers. For each it prints the
wall time from the first mention to the last answer, and how many drafts the LLM server
had in flight at once. The suite asserts the overlap (tests/test_live.py); the seconds
live here, since they move with the machine's load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from test_slack import event, start_bot  # noqa: E402

from data import BECK, GOOD, HOMELAND  # noqa: E402
from fake_llm import FakeLLM  # noqa: E402
from fake_slack import BOT_USER, FakeSlack, answers, message_text  # noqa: E402
from processes import mark_run, wait_for  # noqa: E402


def one_run(root: Path, people: int, delay: float, workers: int | None) -> tuple[float, int]:
    """(seconds from the first mention to the last answer, most drafts in flight at once)."""
    extra = {"ASSISTANT_WORKERS": str(workers)} if workers else {}
    env = {"ASSISTANT_LLM_TIMEOUT": "120", **extra}
    with (
        FakeSlack() as slack,
        FakeLLM(default=GOOD, delay=delay) as llm,
        start_bot(root, slack, ASSISTANT_LLM_BASE_URL=llm.base_url, **env) as bot,
    ):
        channels = [f"CBENCH{i}" for i in range(people)]
        bodies = [event(text=f"<@{BOT_USER}> {BECK}", channel=c)[0] for c in channels]
        began = time.perf_counter()
        with ThreadPoolExecutor(people) as pool:
            assert all(status == 200 for status, _, _ in pool.map(bot.send, bodies))
        wait_for(lambda: all(answers(slack, c) for c in channels), f"{people} answers", timeout=people * delay * 3)
        took = time.perf_counter() - began
        assert all(HOMELAND in message_text(answers(slack, c)[-1]) for c in channels)
        return took, llm.most_in_flight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--delay", type=float, default=3.0, help="seconds the fake LLM takes per draft")
    args = parser.parse_args()
    mark_run()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            ("one worker (one at a time)", *one_run(Path(tmp) / "serial", args.people, args.delay, 1)),
            ("default workers", *one_run(Path(tmp) / "default", args.people, args.delay, None)),
        ]
    print(f"{args.people} mentions at once, LLM {args.delay:.1f} s a draft")
    print(f"{'bot':<28} {'all answered':>13} {'drafts in flight at once':>25}")
    for name, took, most in rows:
        print(f"{name:<28} {took:>11.1f} s {most:>25}")


if __name__ == "__main__":
    main()
