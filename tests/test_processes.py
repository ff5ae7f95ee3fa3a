"""The suite's own hygiene: a test that fails half-way still stops the servers it started, and
the session-end check fails a run that leaves one behind. Each case is a pytest run of its own
over tests/manual/teardown_check.py (kept out of the suite), with its own temp folder, so what
it left running can be found by that folder's path on its command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data import REPO
from processes import RUN_MARKER

pytestmark = pytest.mark.slow

MANUAL = REPO / "tests" / "manual" / "teardown_check.py"


def running_under(folder: Path) -> list[str]:
    """Command lines of live processes that name `folder` (the inner run's temp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(folder) in command and state != "Z":
            found.append(command)
    return found


def inner_run(name: str, base: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != RUN_MARKER}
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(MANUAL),
        "-k",
        name,
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(base),
    ]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=500)


def test_a_test_failing_half_way_leaves_no_server_running(tmp_path):
    base = tmp_path / "inner"
    done = inner_run("failing_half_way", base)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout + done.stderr
    assert "failing on purpose" in done.stdout
    assert "still running after teardown" not in done.stderr, done.stderr
    assert running_under(base) == []


def test_a_server_left_running_fails_the_run_and_is_named(tmp_path):
    base = tmp_path / "inner"
    done = inner_run("teardown_left_out", base)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout  # the test itself passed: the session-end check failed the run
    assert "processes started by the suite were still running after teardown" in done.stderr
    named = [line for line in done.stderr.splitlines() if line.strip().startswith("pid ")]
    assert len(named) == 1 and "chroma run --path" in named[0] and str(base) in named[0], done.stderr
    assert running_under(base) == []  # and it was killed, so it holds no port for the next run
