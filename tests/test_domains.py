"""`assistant eval` over a folder of domains: each answered from its own corpus, one row per
domain and one for all, `--split`, and `--min`/`--max` held per domain."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from data import REPO, SCRIPT

pytestmark = pytest.mark.slow

OWN = REPO / "eval" / "own"


def make_domain(root, name: str, doc: str):
    """A domain from our own set: one of its documents, its questions, the first third "fit"."""
    folder = root / name
    (folder / "corpus").mkdir(parents=True)
    shutil.copy(OWN / "corpus" / doc, folder / "corpus" / doc)
    records = [json.loads(line) for line in (OWN / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    mine = [r for r in records if r["doc"] == doc]
    with open(folder / "questions.jsonl", "w", encoding="utf-8") as fh:
        for i, r in enumerate(mine):
            fh.write(json.dumps({**r, "split": "fit" if i < len(mine) // 3 else "check"}) + "\n")
    return len(mine), len(mine) - len(mine) // 3


def test_a_folder_of_domains_is_one_row_each_with_bounds_per_domain(tmp_path):
    domains = tmp_path / "domains"
    news, news_check = make_domain(domains, "news", "lapd-wont-help-deportations.txt")
    history, history_check = make_domain(domains, "history", "Normans.txt")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [str(SCRIPT), "eval", str(domains), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)

    table = run()
    assert table.returncode == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split(" | ")[0] for r in rows] == ["| domain", "| history", "| news", "| all"]
    assert f"{news + history} questions in 2 domains" in table.stdout

    checked = run("--split", "check", "--json")
    metrics = json.loads(checked.stdout)["metrics"]
    assert metrics["news"]["questions"] == news_check and metrics["history"]["questions"] == history_check
    assert metrics["all"]["questions"] == news_check + history_check
    assert metrics["all"]["citation_validity"] == 1.0

    strict = run("--split", "check", "--min", "abstained=0.99", "--max", "refused=0.5")
    assert strict.returncode == 1
    assert {line.split(":")[1].strip() for line in strict.stderr.splitlines()} == {"news", "history", "all"}
    assert all(" abstained " in line and "below its floor 0.99" in line for line in strict.stderr.splitlines())

    empty = subprocess.run([str(SCRIPT), "eval", str(tmp_path / "data")], env=env, capture_output=True, text=True)
    assert empty.returncode == 1 and "no questions.jsonl beside a corpus/ folder" in empty.stderr
