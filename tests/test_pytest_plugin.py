"""The pytest plugin as a team would use it: a fresh project that only installs this package,
answer cases in YAML and a Python test with the `ask` fixture, no conftest; and
`assistant eval --min` as a CI gate."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from data import ARTICLE, BECK, BUNDLED, FOLLOW_UP, HOMELAND, REPO, SCRIPT

pytestmark = pytest.mark.slow

ANSWERS = f"""\
corpus: ../handbook
cases:
  - question: {BECK}
    cites: {{source: {ARTICLE}, contains: conjunction with Homeland Security}}
  - question: Who won the 2020 World Series?
    abstains: true
  - question: {FOLLOW_UP}
    after: {BECK}
    cites: {{contains: "changed the way the LAPD does their job"}}
  - question: {BECK}
    cites: {{source: {ARTICLE}, contains: the LAPD has fifty thousand officers}}
"""

PYTHON_TEST = f'''\
from assistant.testing import assert_cites


def test_homeland_security(ask):
    assert_cites(ask("{BECK}"), source="{ARTICLE}", contains="{HOMELAND}")
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A team's repository: its handbook folder and a tests folder, nothing of ours but the package."""
    root = tmp_path_factory.mktemp("team")
    shutil.copytree(BUNDLED, root / "handbook")
    (root / "tests").mkdir()
    (root / "pytest.ini").write_text("[pytest]\nassistant_corpus = handbook\n", encoding="utf-8")
    return root


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(project / ".assistant"), "HF_HUB_OFFLINE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_answer_cases_in_yaml_pass_and_fail_showing_what_was_cited(project):
    (project / "tests" / "handbook.answers.yml").write_text(ANSWERS, encoding="utf-8")
    done = run_pytest(project, "-q", "tests/handbook.answers.yml")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert re.search(r"\b1 failed, 3 passed\b", out), out
    failure = out[out.index("FAILURES") :]
    assert "handbook.answers.yml:10: expected a citation of " + ARTICLE in failure
    assert "quoting 'the LAPD has fifty thousand officers'" in failure
    assert f"question: '{BECK}'" in failure
    cited = re.findall(rf"\[1\] {re.escape(ARTICLE)}:(\d+)-(\d+) '(.+)'", failure)
    assert cited, failure
    start, end, quote = cited[0]
    text = (BUNDLED / ARTICLE).read_text(encoding="utf-8")
    assert " ".join(text[int(start) : int(end)].split()).startswith(quote.rstrip("…")[:60])  # the exact span


def test_a_python_test_with_the_ask_fixture_needs_no_conftest_and_llm_cases_wait_for_an_llm(project):
    (project / "tests" / "test_handbook.py").write_text(PYTHON_TEST, encoding="utf-8")
    (project / "tests" / "llm.answers.yaml").write_text(
        f"cases:\n  - question: {BECK}\n    mode: llm\n    cites: {{source: {ARTICLE}}}\n", encoding="utf-8"
    )
    assert not (project / "conftest.py").exists() and not (project / "tests" / "conftest.py").exists()
    env_llm = os.environ.pop("ASSISTANT_LLM_BASE_URL", None)
    try:
        done = run_pytest(project, "-q", "-rs", "--strict-markers", "tests/test_handbook.py", "tests/llm.answers.yaml")
    finally:
        if env_llm is not None:
            os.environ["ASSISTANT_LLM_BASE_URL"] = env_llm
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b1 passed, 1 skipped\b", done.stdout) and "needs an LLM" in done.stdout


def test_a_malformed_answers_file_is_one_collection_error_naming_file_line_and_key(tmp_path):
    (tmp_path / "tests").mkdir()
    bad = "corpus: handbook\ncases:\n  - question: How much leave?\n    cites: {sorce: leave.md}\n"
    (tmp_path / "tests" / "leave.answers.yml").write_text(bad, encoding="utf-8")
    done = run_pytest(tmp_path, "-q", "tests")
    assert done.returncode == 2, done.stdout + done.stderr  # an error, not a test failure
    assert "leave.answers.yml:4: sorce: unknown key in cites (expected source, contains, page, quote)" in done.stdout
    assert "1 error" in done.stdout


def test_collecting_a_project_without_answer_files_loads_no_model(tmp_path):
    (tmp_path / "test_nothing.py").write_text("def test_one():\n    assert True\n", encoding="utf-8")
    probe = textwrap.dedent(
        """
        import sys, time, pytest
        began = time.perf_counter()
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", sys.argv[1]])
        heavy = [m for m in ("sentence_transformers", "torch", "onnxruntime", "transformers", "chromadb", "index.embedding")
                 if m in sys.modules]
        print("RESULT", code, "assistant.testing.plugin" in sys.modules, heavy, round(time.perf_counter() - began, 2))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    result = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    code, loaded, heavy, seconds = result.split(" ", 4)[1:]
    assert code == "0" and loaded == "True" and heavy == "[]", done.stdout
    print(f"collect-only with the plugin loaded: {seconds} s")


def test_eval_min_fails_a_build_naming_the_metric(tmp_path):
    corpus = REPO / "eval" / "squad2-small" / "corpus"
    questions = REPO / "eval" / "squad2-small" / "questions.jsonl"
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}

    def run(*bounds: str) -> subprocess.CompletedProcess:
        command = [str(SCRIPT), "eval", str(questions), "--corpus", str(corpus), "--limit", "40", "--json", *bounds]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)

    strict = run("--min", "correctness=0.99", "--min", "citation_validity=1.0")
    assert strict.returncode == 1
    correctness = json.loads(strict.stdout)["metrics"]["all"]["answer_correct"]
    assert strict.stderr.strip().splitlines() == [f"error: correctness {correctness:.3f} is below its floor 0.99"]
    assert run("--min", "correctness=0.5", "--max", "false_abstention=0.5").returncode == 0
    unknown = run("--min", "corectness=0.5")
    assert unknown.returncode == 2 and "unknown metric 'corectness'" in unknown.stderr
