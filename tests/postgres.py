"""A real PostgreSQL server for the tests: `initdb` and `pg_ctl` in a temp dir, on loopback.

Run as an unprivileged user (the `postgres` account when the tests run as root, since
PostgreSQL refuses to run as root); skipped with the reason only where no binaries exist.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from processes import free_port


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class Postgres:
    """One throwaway cluster; `url` is a SQLAlchemy URL for its `postgres` database."""

    def __init__(self):
        bin_dir = binaries()
        if bin_dir is None:
            pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine; `.ci/run` installs them")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        self.user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL won't run as root: hand the folder to its own account
            shutil.chown(self.root, "postgres", "postgres")
            self.user = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.databases = 0

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> Postgres:
        data = self.root / "data"
        if not data.exists():
            self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-k {self.root} -h 127.0.0.1 -p {self.port} -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        return self

    def new_database(self) -> str:
        """A URL of an empty database of its own (tests don't see each other's rows)."""
        import psycopg

        self.databases += 1
        name = f"test{self.databases}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        """`pg_ctl stop`; if the server is still there after it (a stuck shutdown), SIGKILL it and its children."""
        data = self.root / "data"
        subprocess.run(
            [*self.user, str(self.bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"],
            capture_output=True,
            timeout=120,
        )
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # its backends exit when the postmaster is gone
            pid_file.unlink(missing_ok=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
