"""The suite's own hygiene: a test that fails half-way still stops the servers it started, and
the session-end check fails a run that leaves one behind. Both cases are one pytest run of
their own over tests/manual/teardown_check.py (kept out of the suite), with its own temp
folder, so what it left running can be found by that folder's path on its command line."""

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


def test_a_failing_test_leaves_nothing_running_and_a_server_left_running_fails_the_run(tmp_path):
    """One run of both cases: the test that fails half-way stops its servers in teardown; the
    `chroma run` left running on purpose is named by the session-end check, which fails the run
    (though that test passed) and kills it."""
    base = tmp_path / "inner"
    env = {k: v for k, v in os.environ.items() if k != RUN_MARKER}
    command = [sys.executable, "-m", "pytest", str(MANUAL), "-p", "no:cacheprovider", "--basetemp", str(base)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=500)
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "1 failed, 1 passed" in done.stdout, out
    assert "failing on purpose" in done.stdout
    assert "processes started by the suite were still running after teardown" in done.stderr
    named = [line for line in done.stderr.splitlines() if line.strip().startswith("pid ")]
    # Only the server left on purpose: nothing of the test that failed half-way.
    assert len(named) == 1 and "chroma run --path" in named[0] and "test_teardown_left_out" in named[0], out
    assert running_under(base) == []  # and it was killed, so it holds no port for the next run
