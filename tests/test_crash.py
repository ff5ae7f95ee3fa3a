"""Crash safety: an ingest killed with SIGKILL mid-run leaves an index that answers with
valid citations, and the next ingest converges to exactly what a clean ingest builds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from data import SCRIPT

pytestmark = pytest.mark.slow

FILES = 40  # about 3,300 sentences: several write batches (index.sync.BATCH_SENTENCES), ~10 s to embed


def make_folder(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for i in range(FILES):
        body = " ".join(
            f"Room {i} note {k}: the team on floor {(i * 7 + k) % 40} meets near lab {k}." for k in range(80)
        )
        (docs / f"room{i:03d}.md").write_text(
            f"The door code for room {i} is {1000 + 7 * i}.\n\n{body}\n", encoding="utf-8"
        )
    return docs


def env_for(data: Path) -> dict:
    return {**os.environ, "ASSISTANT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "TERM": "xterm", "COLUMNS": "200"}


def run_cli(args: list[str], data: Path, timeout: int) -> subprocess.CompletedProcess:
    """`assistant ARGS` with `data` as its data dir; output captured as text."""
    return subprocess.run([str(SCRIPT), *args], env=env_for(data), capture_output=True, text=True, timeout=timeout)


def ids(docs: Path, data: Path) -> tuple[set, set, set, dict]:
    from index.corpus import CorpusIndex
    from index.onnx_embedding import OnnxEmbedder

    index = CorpusIndex(docs, data, OnnxEmbedder(cache_dir=data / "models"))  # reading ids never loads the model
    with index.local.view() as view:
        held = view.all_ids("chunk") | view.all_ids("sentence")
    return (index.store.chunk_ids(), index.store.sentence_ids(), held, index.store.files())


def test_sigkill_mid_ingest_then_ask_and_reingest(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    docs = make_folder(tmp_path)
    data = tmp_path / "data"
    ingest = pexpect.spawn(
        str(SCRIPT),
        ["ingest", "--corpus", str(docs)],
        env=env_for(data),
        encoding="utf-8",
        timeout=180,
        dimensions=(24, 200),
    )
    try:
        # The progress bar names a file past the first write batch (~13 files): that batch is in, most are not.
        ingest.expect(r"room0(1[3-9]|2\d|3[0-8])")
        # Frozen right there, so it is still mid-ingest (holding its lock) however long the question takes.
        os.kill(ingest.pid, signal.SIGSTOP)

        # A question while the ingest runs is answered at once from the index as it is.
        ask = run_cli(["ask", "--json", "What is the door code for room 1?", "--corpus", str(docs)], data, timeout=180)
        assert ask.returncode == 0, ask.stderr
        assert "another process is updating the index" in ask.stderr
        assert ingest.isalive()
        os.kill(ingest.pid, signal.SIGKILL)
        ingest.expect(pexpect.EOF)
        ingest.close()
        assert ingest.signalstatus == signal.SIGKILL
    finally:
        ingest.close(force=True)  # a no-op once it is dead; kills it if the test failed before

    answer = json.loads(ask.stdout)
    for c in answer["citations"]:
        assert (docs / c["source"]).read_text(encoding="utf-8")[c["start"] : c["end"]] == c["quote"]

    # After the kill: still answers with valid spans.
    after = run_cli(["ask", "--json", "What is the door code for room 2?", "--corpus", str(docs)], data, timeout=300)
    assert after.returncode == 0, after.stderr
    for c in json.loads(after.stdout.splitlines()[-1])["citations"]:
        assert (docs / c["source"]).read_text(encoding="utf-8")[c["start"] : c["end"]] == c["quote"]

    # The next ingest converges: the same chunks, sentences and BM25 entries as a clean ingest, no more.
    again = run_cli(["ingest", "--json", "--corpus", str(docs)], data, timeout=300)
    assert again.returncode == 0, again.stderr
    clean_data = tmp_path / "clean"
    clean = run_cli(["ingest", "--json", "--corpus", str(docs)], clean_data, timeout=300)
    assert json.loads(again.stdout)["chunks"] == json.loads(clean.stdout)["chunks"]
    got, want = ids(docs, data), ids(docs, clean_data)
    assert got[0] == want[0] and got[1] == want[1] and got[2] == want[2] == got[0] | got[1]
    assert {s: e["sha256"] for s, e in got[3].items()} == {s: e["sha256"] for s, e in want[3].items()}
    assert len(got[3]) == FILES
    settled = run_cli(["ingest", "--json", "--corpus", str(docs)], data, timeout=300)
    summary = json.loads(settled.stdout)
    assert summary["added"] == summary["updated"] == summary["removed"] == [] and summary["unchanged"] == FILES
