"""A shared index on a real `chroma run` server: two processes with separate data dirs use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data import ARTICLE, BECK, BUNDLED, HOMELAND
from processes import ChromaServer

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def run(args, data: Path, url: str, cwd: Path):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_CHROMA_URL": url, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [str(BIN / "assistant"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_two_processes_share_one_index_and_a_stopped_server_is_one_error_line(tmp_path):
    server = ChromaServer(tmp_path / "server").start()
    url = server.url
    try:
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
        server.stop()

    down = run(["ask", "--json", BECK, "--corpus", str(BUNDLED)], tmp_path / "b", url, tmp_path)
    assert down.returncode == 1 and down.stdout == ""
    assert down.stderr.startswith(f"error: cannot open the Chroma index at {url}")
    assert len(down.stderr.strip().splitlines()) == 1, down.stderr
