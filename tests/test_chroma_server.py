"""A shared index on a real `chroma run` server: two processes with separate data dirs use it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data import ARTICLE, BECK, BUNDLED, HOMELAND

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, data: Path, url: str, cwd: Path):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_CHROMA_URL": url, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [str(BIN / "assistant"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_two_processes_share_one_index_and_a_stopped_server_is_one_error_line(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "chroma run did not start"
                time.sleep(0.2)
        first = run(["ingest", "--json", "--corpus", str(BUNDLED)], tmp_path / "a", url, tmp_path)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["added"] == [ARTICLE]

        # Another process, another data dir: it sees the same files and chunks, and embeds nothing again.
        second = run(["ingest", "--json", "--corpus", str(BUNDLED)], tmp_path / "b", url, tmp_path)
        summary = json.loads(second.stdout)
        assert summary["added"] == [] and summary["unchanged"] == 1
        assert summary["chunks"] == json.loads(first.stdout)["chunks"]
        asked = run(["ask", "--json", BECK, "--corpus", str(BUNDLED)], tmp_path / "b", url, tmp_path)
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        text = (BUNDLED / ARTICLE).read_text(encoding="utf-8")
        assert any(HOMELAND in c["quote"] for c in answer["citations"])
        assert all(text[c["start"] : c["end"]] == c["quote"] for c in answer["citations"])
        assert not (tmp_path / "b" / "chroma").exists()  # nothing was stored locally
    finally:
        server.terminate()
        server.wait(timeout=30)

    down = run(["ask", "--json", BECK, "--corpus", str(BUNDLED)], tmp_path / "b", url, tmp_path)
    assert down.returncode == 1 and down.stdout == ""
    assert down.stderr.startswith(f"error: cannot open the Chroma index at {url}")
    assert len(down.stderr.strip().splitlines()) == 1, down.stderr
