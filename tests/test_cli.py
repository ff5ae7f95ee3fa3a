"""The `assistant` command end to end, in subprocesses, offline, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from data import ARTICLE, BECK, HOMELAND, SCRIPT

pytestmark = pytest.mark.slow


def run(args, tmp_path, stdin=None, text=True, **env):
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bots.cli"]
    full_env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        # Any attempt to reach the network fails fast instead of silently working.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        **env,
    }
    return subprocess.run(
        command + args, input=stdin, capture_output=True, text=text, cwd=tmp_path, env=full_env, timeout=300
    )


def test_batch_json_answers_cite_exact_spans_and_refuse_off_topic(tmp_path, corpus):
    questions = [
        BECK,
        "When was the special order mandated?",
        "How many immigrants without documentation live in Los Angeles County?",
        "What did the Sheriff's Department spokesman say?",
        "Who won the 2020 World Series?",
    ]
    proc = run(["ask", "--json", "-", "--corpus", str(corpus)], tmp_path, stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(questions)
    answers = [json.loads(line) for line in lines]
    text = (corpus / ARTICLE).read_text(encoding="utf-8")
    assert [a["question"] for a in answers] == questions
    for a in answers[:4]:
        assert a["abstained"] is False and a["mode"] == "extractive" and a["citations"]
        for c in a["citations"]:
            assert c["source"] == ARTICLE
            assert c["quote"] == text[c["start"] : c["end"]]
            assert f"[{c['n']}]" in a["answer"]
    assert any(HOMELAND in c["quote"] for c in answers[0]["citations"])
    assert answers[4]["abstained"] is True and answers[4]["citations"] == []


def test_single_question_json_abstains_on_the_world_series(tmp_path, corpus):
    proc = run(["ask", "--json", "Who won the 2020 World Series?", "--corpus", str(corpus)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["abstained"] is True and data["citations"] == []


def test_human_output_shows_answer_and_numbered_sources(tmp_path, corpus):
    proc = run(["ask", BECK], tmp_path, ASSISTANT_CORPUS=str(corpus))
    assert proc.returncode == 0, proc.stderr
    assert HOMELAND in proc.stdout
    assert "Sources:" in proc.stdout and f"[1] {ARTICLE}:" in proc.stdout
    assert "\x1b[" not in proc.stdout  # plain text in a pipe


def test_ingest_reports_changes_then_nothing(tmp_path, corpus):
    first = run(["ingest", "--corpus", str(corpus)], tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 added, 0 updated, 0 removed, 0 unchanged, 0 skipped")
    second = run(["ingest", "--corpus", str(corpus)], tmp_path)
    assert second.stdout.startswith("0 added, 0 updated, 0 removed, 1 unchanged, 0 skipped"), second.stdout


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["ask", "q", "--corpus", "no/such/folder"], {}, "error: corpus folder not found: --corpus no/such/folder"),
        (["ask", "q"], {"ASSISTANT_EMBEDDING_MODEL": "/no/such/model"}, "error: embedding model folder not found"),
        (["ask", "q"], {"ASSISTANT_TOP_K": "many"}, "error: bad setting ASSISTANT_TOP_K=many: Input should be"),
    ],
)
def test_errors_are_one_line_and_a_nonzero_exit(tmp_path, corpus, args, env, message):
    proc = run(args, tmp_path, **{"ASSISTANT_CORPUS": str(corpus), **env})
    assert proc.returncode == 1
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout == ""


def test_ingest_json_says_how_far_it_is_on_stderr(tmp_path, corpus):
    """In a pipe, `ingest --json` reports progress as JSON lines on stderr (files, chunks,
    tokens/s, time left) and keeps stdout one object, with the tokens embedded."""
    for i in range(3):
        (corpus / f"extra{i}.md").write_text(f"Extra note {i}. It says little. " * 20, encoding="utf-8")
    proc = run(["ingest", "--json", "--corpus", str(corpus)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["tokens"] > 0 and summary["tokens_per_s"] > 0 and summary["chunks_written"] == summary["chunks"]
    lines = [json.loads(line)["progress"] for line in proc.stderr.splitlines() if line.startswith('{"progress"')]
    assert lines, proc.stderr
    keys = {"file", "files_done", "files_total", "chunks", "tokens", "tokens_per_s", "elapsed_s", "remaining_s"}
    assert all(set(p) == keys for p in lines)
    assert lines[-1]["files_done"] == lines[-1]["files_total"] == 4
    assert lines[-1]["tokens"] == summary["tokens"] and lines[-1]["chunks"] == summary["chunks"]
    again = run(["ingest", "--json", "--corpus", str(corpus)], tmp_path)
    assert json.loads(again.stdout)["tokens"] == 0 and '{"progress"' not in again.stderr  # nothing to do: quiet


def test_ingest_on_a_terminal_draws_files_chunks_tokens_and_time_left(tmp_path, corpus):
    pexpect = pytest.importorskip("pexpect")
    for i in range(30):
        (corpus / f"extra{i:02d}.md").write_text(f"Extra note {i}. It says little about much. " * 60, encoding="utf-8")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        str(SCRIPT), ["ingest", "--corpus", str(corpus)], env=env, encoding="utf-8", timeout=240, dimensions=(24, 200)
    )
    try:
        child.expect(r"\d+/31 files · [\d,]+ chunks · [\d,]+ tokens/s · (about [\w ]+ left|estimating time left)")
        child.expect(pexpect.EOF)
        assert "31 added" in child.before
    finally:
        child.close(force=True)
