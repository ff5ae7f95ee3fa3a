"""The command line's edges as a newcomer meets them (issue 30): exit codes, which stream says
what, batch lines, caches and settings; one test per thing that let a new user down."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from test_cli import run

from data import ARTICLE, BECK, HOMELAND

pytestmark = pytest.mark.slow

OFF_TOPIC = "Who won the 2020 World Series?"


def one_error(proc, code: int, *needles: str) -> None:
    """Exit `code`, nothing on stdout, one line on stderr holding every needle."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert code == 2 or len(lines) == 1, proc.stderr  # argparse prints its usage above its line
    for needle in needles:
        assert needle in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr and "Error(" not in proc.stderr


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "error: the question is empty"),
        ("x" * 5000, "error: the question is too long (5,000 characters; at most"),
        ("what\x07 is it", "error: the question contains control characters"),
    ],
)
def test_a_question_that_cant_be_asked_exits_1(tmp_path, corpus, question, message):
    one_error(run(["ask", question, "--corpus", str(corpus)], tmp_path), 1, message)


def test_k_out_of_range_or_not_a_number_names_the_flag_or_the_variable(tmp_path, corpus):
    one_error(run(["ask", "q", "--k", "1000"], tmp_path), 2, "argument --k: must be between 1 and 100, not 1000")
    one_error(run(["ask", "q", "--k", "abc"], tmp_path), 2, "argument --k: not a whole number: 'abc'")
    env = {"ASSISTANT_CORPUS": str(corpus), "ASSISTANT_TOP_K": "1000"}
    one_error(
        run(["ask", "q"], tmp_path, **env), 1, "error: bad setting ASSISTANT_TOP_K=1000: must be between 1 and 100"
    )


def test_eval_names_a_missing_or_unreadable_questions_file(tmp_path, corpus):
    one_error(run(["eval", "nope.jsonl", "--corpus", str(corpus)], tmp_path), 1, "error: nope.jsonl: no such file")
    (tmp_path / "questions.txt").write_text("Who is Daryl Gates?\n")
    one_error(
        run(["eval", "questions.txt", "--corpus", str(corpus)], tmp_path),
        1,
        "error: questions.txt line 1: not JSON",
        "expected JSONL questions",
    )


def test_eval_shows_a_metric_with_no_questions_as_a_dash_not_nan(tmp_path, corpus):
    text = (corpus / ARTICLE).read_text(encoding="utf-8")
    start = text.index(HOMELAND)
    record = {"id": "1", "question": BECK, "doc": ARTICLE, "answerable": True}
    record["answers"] = [{"text": HOMELAND, "start": start}]
    (tmp_path / "q.jsonl").write_text(json.dumps(record) + "\n")
    proc = run(["eval", "q.jsonl", "--corpus", str(corpus)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not re.search(r"\bnan\b", proc.stdout, re.IGNORECASE)
    assert "| 1 / 0 |" in proc.stdout
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| unanswerable abstained"))
    assert row.split("|")[2].strip() == "-"
    as_json = run(["eval", "q.jsonl", "--corpus", str(corpus), "--json"], tmp_path)
    assert json.loads(as_json.stdout)["metrics"]["all"]["unanswerable_abstained"] is None  # valid JSON: null


def test_a_file_given_as_corpus_is_called_a_file(tmp_path, corpus):
    one_error(run(["ask", "q", "--corpus", str(corpus / ARTICLE)], tmp_path), 1, "is a file, not a folder")


def test_without_a_corpus_folder_the_error_says_how_to_give_one(tmp_path):
    one_error(run(["ask", "q"], tmp_path), 1, "corpus folder not found", "--corpus DIR or ASSISTANT_CORPUS")
    (tmp_path / "assistant.toml").write_text('corpus = "handbook"\n')
    one_error(run(["ask", "q"], tmp_path), 1, "corpus folder not found: corpus = 'handbook' in ", "assistant.toml;")


def test_spaces_without_a_spaces_file_lists_the_one_folder(tmp_path, corpus):
    assert run(["ingest", "--corpus", str(corpus)], tmp_path).returncode == 0
    proc = run(["spaces", "--corpus", str(corpus)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"(default): {corpus} · 1 documents"), proc.stdout


def test_an_empty_folder_says_there_are_no_documents(tmp_path):
    (tmp_path / "empty").mkdir()
    one_error(run(["ask", BECK, "--corpus", "empty", "-q"], tmp_path), 1, "error: no documents in empty")
    ingest = run(["ingest", "--corpus", "empty"], tmp_path)
    assert ingest.returncode == 0 and ingest.stdout.startswith("0 added")
    assert ingest.stderr.startswith("notice: no documents in empty: add some (")
    chat = run(["chat", "--corpus", "empty", "-q"], tmp_path, stdin=BECK + "\n", ASSISTANT_WATCH="0")
    assert chat.returncode == 0
    assert chat.stdout.startswith("No documents in empty yet: add some")


def test_batch_gives_every_line_one_object_in_order_and_errors_without_answers(tmp_path, corpus):
    stdin = f"{BECK}\n\n{OFF_TOPIC}\n".encode() + b"\xff\xfe bad\n" + b"   \n"
    proc = run(["ask", "--json", "-", "--corpus", str(corpus)], tmp_path, stdin=stdin, text=False)
    assert proc.returncode == 0  # the batch went through; each bad line's error is in its object
    objects = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(objects) == 5
    assert [o.get("error") for o in objects] == [
        None,
        "empty question",
        None,
        "the line is not valid UTF-8",
        "empty question",
    ]
    for o in objects:
        assert ("answer" in o) is ("error" not in o)
    assert objects[0]["citations"] and objects[2]["abstained"] is True


def test_fail_on_abstain_exits_3_and_plain_abstaining_exits_0(tmp_path, corpus):
    assert run(["ask", OFF_TOPIC, "--corpus", str(corpus), "-q"], tmp_path).returncode == 0
    both = f"{BECK}\n{OFF_TOPIC}\n"
    failed = run(["ask", "--json", "-", "--corpus", str(corpus), "--fail-on-abstain"], tmp_path, stdin=both)
    assert failed.returncode == 3 and len(failed.stdout.splitlines()) == 2  # every answer still printed
    answered = run(["ask", BECK, "--corpus", str(corpus), "--fail-on-abstain"], tmp_path)
    assert answered.returncode == 0 and HOMELAND in answered.stdout


def test_ask_says_the_sync_once_and_a_skipped_file_once_until_it_changes(tmp_path, corpus):
    (corpus / "broken.pdf").write_bytes(b"not a pdf")
    first = run(["ask", BECK, "--corpus", str(corpus)], tmp_path)
    assert first.returncode == 0
    assert "1 added" in first.stderr and first.stderr.count("skipped broken.pdf:") == 1
    second = run(["ask", BECK, "--corpus", str(corpus)], tmp_path)
    assert second.returncode == 0 and second.stderr == ""  # nothing changed, the reason was given
    (corpus / "broken.pdf").write_bytes(b"still not a pdf, but another one")
    third = run(["ask", BECK, "--corpus", str(corpus)], tmp_path)
    assert third.stderr.count("skipped broken.pdf:") == 1 and "added" not in third.stderr
    (tmp_path / "other").mkdir()
    quiet = run(["ask", BECK, "--corpus", str(corpus), "-q"], tmp_path / "other")
    assert quiet.returncode == 0 and quiet.stderr == "" and HOMELAND in quiet.stdout


def test_misspelt_and_out_of_range_settings(tmp_path, corpus):
    # -q keeps these: a misspelt setting is otherwise ignored without a word.
    proc = run(["ask", BECK, "--corpus", str(corpus), "-q"], tmp_path, ASSISTANT_TOPK="3", ASSISTANT_LLM_BASEURL="x")
    assert proc.returncode == 0 and HOMELAND in proc.stdout
    warned = proc.stderr.splitlines()
    assert "warning: ASSISTANT_TOPK is not a setting (did you mean ASSISTANT_TOP_K?); ignored" in warned
    assert any(
        "warning: ASSISTANT_LLM_BASEURL is not a setting (did you mean ASSISTANT_LLM_BASE_URL?)" in w for w in warned
    )
    assert len(warned) == 2  # and nothing else: -q still hides the sync line
    one_error(
        run(["ask", BECK, "--corpus", str(corpus)], tmp_path, ASSISTANT_MIN_SCORE="2"),
        1,
        "error: bad setting ASSISTANT_MIN_SCORE=2: must be between 0 and 1",
    )
    (tmp_path / "assistant.toml").write_text("top_kk = 3\n[llm]\ntimeout = -1\n")
    proc = run(["ask", BECK, "--corpus", str(corpus)], tmp_path)
    assert proc.returncode == 1
    assert "warning: top_kk in" in proc.stderr and "(did you mean top_k?)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: bad setting llm.timeout = -1 in ")
    assert proc.stderr.strip().endswith("assistant.toml: must be more than 0")


def test_version_and_data_dir_on_every_command(tmp_path, corpus):
    from importlib.metadata import version

    proc = run(["--version"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"assistant {version('cited-assistant')}"
    ingest = run(["ingest", "--corpus", str(corpus), "--data-dir", "elsewhere"], tmp_path)
    assert ingest.returncode == 0 and "elsewhere" in ingest.stdout
    assert (tmp_path / "elsewhere" / "assistant.log").is_file()
    from bots.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == {
        "ingest",
        "ask",
        "chat",
        "spaces",
        "slack",
        "serve",
        "mcp",
        "feedback",
        "eval",
        "completion",
    }
    for name, command in commands.items():
        flags = {flag for action in command._actions for flag in action.option_strings}
        assert {"--data-dir", "-q", "--quiet", "-v", "--verbose"} <= flags, name


def test_verbose_shows_the_log_on_stderr(tmp_path, corpus):
    proc = run(["ask", BECK, "--corpus", str(corpus), "-v"], tmp_path)
    assert proc.returncode == 0
    assert "INFO " in proc.stderr


def test_two_folders_share_one_model_cache_and_the_second_exports_nothing(tmp_path, corpus):
    """The default cache is the user's (platformdirs); the first run says what it prepares."""
    home = tmp_path / "home"
    # fp32: the export is what is shared (int8 quantises it, once more, in the same cache).
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "ASSISTANT_MODEL_DIR": ""}
    env["ASSISTANT_EMBEDDING_PRECISION"] = "fp32"
    env_without = {k: v for k, v in env.items() if v}
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        shutil.copytree(corpus, folder / "corpus")
    saved = os.environ.pop("ASSISTANT_MODEL_DIR")
    try:
        first = run(["ask", BECK], one, **env_without)
        second = run(["ask", BECK], two, **env_without)
    finally:
        os.environ["ASSISTANT_MODEL_DIR"] = saved
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    cache = home / ".cache" / "cited-assistant" / "models"
    assert "preparing the embedding model for this machine" in first.stderr and str(cache) in first.stderr
    assert "preparing" not in second.stderr and "quantising" not in second.stderr
    first_log = (one / "data" / "assistant.log").read_text()
    second_log = (two / "data" / "assistant.log").read_text()
    assert "exported " in first_log and f"to {cache}/" in first_log
    assert "exported" not in second_log and "quantised" not in second_log
    assert not (one / "data" / "models").exists() and not (two / "data" / "models").exists()
    assert HOMELAND in first.stdout and HOMELAND in second.stdout
