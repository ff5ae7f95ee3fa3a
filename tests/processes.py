"""Every process the suite starts: started in a process group of its own, stopped with its whole
group (SIGTERM, then SIGKILL after a grace period), and looked for at the end of the run.

Each run puts a marker of its own in the environment (`RUN_MARKER`), so the session-end check
finds whatever this run started, grandchildren and daemons included (a `pg_ctl`'s server, a
`chroma run` worker), by reading `/proc/*/environ`, and nothing a neighbouring run started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

RUN_MARKER = "CITED_ASSISTANT_TEST_RUN"  # not ASSISTANT_*: the CLI warns about unknown settings
GRACE = 15.0  # seconds between SIGTERM and SIGKILL
EVENT_TIMEOUT = 60.0  # how long a test waits for an event before it says the event never came


def mark_run() -> str:
    """Give this run a marker of its own (inherited by every child that keeps the environment); a
    run started by another run (pytest in pytest) gets its own too, and checks its own processes."""
    os.environ[RUN_MARKER] = uuid.uuid4().hex
    return os.environ[RUN_MARKER]


def spawn(command: list[str], **kwargs) -> subprocess.Popen:
    """`subprocess.Popen` in a new session, so `stop` reaches the children it starts too."""
    return subprocess.Popen(command, start_new_session=True, **kwargs)


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, grace: float = GRACE) -> None:
    """Stop `proc` and its process group: `sig`, then SIGKILL if it is still there after `grace`."""
    if proc is None:
        return
    _signal_group(proc, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    _signal_group(proc, signal.SIGKILL)  # whatever the leader left behind in its group, too
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        # Already gone, or not a group leader (started without `spawn`): signal the process itself.
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)


def wait_for(predicate: Callable[[], object], what: str, timeout: float = EVENT_TIMEOUT, every: float = 0.05):
    """Poll until `predicate()` is truthy and return its value; fail naming `what` if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}; it never happened")
        time.sleep(every)


def leftovers(marker: str) -> list[tuple[int, str]]:
    """Live processes (not zombies) carrying this run's marker, other than this one: (pid, command line)."""
    found = []
    needle = f"{RUN_MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone while we looked, or not ours to read
        # multiprocessing's resource tracker lives as long as this process and ends with it.
        if state != "Z" and "multiprocessing.resource_tracker" not in command:
            found.append((int(entry.name), command))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(
    port: int, proc: subprocess.Popen, what: str, timeout: float = 180.0, log: Path | None = None
) -> None:
    """Wait until `proc` accepts connections on `port`; fail at once, with its log, if it exits first."""

    def listening() -> bool:
        if proc.poll() is not None:
            said = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what} exited with {proc.returncode} before it listened on {port}\n{said}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    wait_for(listening, f"{what} to listen on 127.0.0.1:{port}", timeout=timeout, every=0.2)


class ChromaServer:
    """`chroma run` on loopback, stoppable and restartable on the same port and folder."""

    def __init__(self, path: Path):
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        chroma = str(Path(sys.executable).parent / "chroma")
        command = [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = spawn(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port, self.proc, "chroma run", timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stop(self.proc)
