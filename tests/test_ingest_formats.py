"""Real folders: every format loads with exact offsets, and every kind of bad file is
reported on one line while the rest is ingested."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from data import SCRIPT
from make_files import HTML_PAGE, encrypted_pdf_bytes, pdf_bytes, write_docx

pytestmark = pytest.mark.slow

PDF_PAGES = ["The library opens at nine on weekdays.", "Overdue books cost ten cents per day."]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mixed") / "docs"
    root.mkdir()
    (root / "notes.txt").write_text("The server room door code changes every Monday.\n", encoding="utf-8")
    (root / "guide.md").write_text("# Guide\n\nNew hires get a laptop on their first day.\n", encoding="utf-8")
    (root / "parking.html").write_text(HTML_PAGE, encoding="utf-8")
    (root / "library.pdf").write_bytes(pdf_bytes(PDF_PAGES, "Library rules"))
    write_docx(root / "travel.docx", "Travel policy", ["Train tickets are booked through the travel desk."])
    (root / "latin1.txt").write_bytes("The café serves crêpes on Fridays.\n".encode("latin-1"))
    # and the bad ones
    (root / "binary.txt").write_bytes(b"\x00\x01\x02\x03 garbage \x00")
    (root / "empty.md").write_text("", encoding="utf-8")
    (root / "huge.txt").write_text("big " * 25_000, encoding="utf-8")  # 100 kB, over the 0.05 MB limit below
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf at all\n%%EOF")
    (root / "locked.pdf").write_bytes(encrypted_pdf_bytes(["Top secret."]))
    (root / "broken.md").symlink_to(root / "does-not-exist.md")
    (root / "loop.txt").symlink_to(root / "loop.txt")
    (root.parent / "outside.md").write_text("A file beside the corpus, not in it.", encoding="utf-8")
    (root / "outside.md").symlink_to(root.parent / "outside.md")  # a link may not bring it in
    os.mkfifo(root / "pipe.txt")
    (root / ".hidden.md").write_text("Hidden files are not indexed.", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "config.md").write_text("Not a document.", encoding="utf-8")
    return root


def run(args, tmp_path, stdin=None):
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_MAX_FILE_MB": "0.05",
    }
    return subprocess.run(
        [str(SCRIPT), *args], env=env, cwd=tmp_path, capture_output=True, text=True, input=stdin, timeout=300
    )


@pytest.fixture(scope="module")
def ingested(folder, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    proc = run(["ingest", "--json", "--corpus", str(folder)], work)
    return work, proc


def test_ingest_reports_each_bad_file_on_one_line_and_exits_zero(ingested):
    _, proc = ingested
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert sorted(summary["added"]) == [
        "guide.md",
        "latin1.txt",
        "library.pdf",
        "notes.txt",
        "parking.html",
        "travel.docx",
    ]
    reasons = {s["source"]: s["reason"] for s in summary["skipped"]}
    assert reasons["binary.txt"] == "binary file, not text"
    assert reasons["empty.md"] == "empty"
    assert reasons["huge.txt"].startswith("too large (0.1 MB")
    assert reasons["corrupt.pdf"].startswith("corrupt PDF")
    assert reasons["locked.pdf"].startswith("encrypted PDF")
    assert reasons["broken.md"] == "broken symlink"
    assert reasons["loop.txt"] == "symlink loop"
    assert reasons["pipe.txt"] == "not a regular file"
    assert reasons["outside.md"] == "a link to a file outside the folder"
    assert len(reasons) == 9
    assert {w["source"] for w in summary["warnings"]} == {"latin1.txt"}
    assert "decoded as" in summary["warnings"][0]["warning"]
    assert summary["chunks"] >= 6 and summary["seconds"] > 0
    assert set(summary) >= {"added", "updated", "removed", "skipped", "chunks", "seconds"}


@pytest.mark.parametrize(
    "question, source, contains, page",
    [
        ("When does the server room door code change?", "notes.txt", "every Monday", None),
        ("What do new hires get on their first day?", "guide.md", "laptop", None),
        ("How long may visitors park in lot B?", "parking.html", "four hours", None),
        ("How much do overdue books cost?", "library.pdf", "ten cents per day", 2),
        ("When does the library open?", "library.pdf", "opens at nine", 1),
        ("How are train tickets booked?", "travel.docx", "travel desk", None),
        ("What does the café serve on Fridays?", "latin1.txt", "crêpes", None),
    ],
)
def test_each_format_is_answerable_with_a_valid_citation(folder, ingested, question, source, contains, page):
    work, _ = ingested
    proc = run(["ask", "--json", question, "--corpus", str(folder)], work)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    cites = [c for c in answer["citations"] if c["source"] == source and contains in c["quote"]]
    assert cites, answer
    from index.documents import load

    text = load(folder, source).text
    assert all(text[c["start"] : c["end"]] == c["quote"] for c in answer["citations"] if c["source"] == source)
    assert cites[0].get("page") == page


def test_html_main_text_only(folder):
    from index.documents import load

    text = load(folder, "parking.html").text
    assert "four hours" in text and "January & July" in text
    assert "MUST NOT BE INDEXED" not in text and "color: red" not in text


def test_pdf_page_starts_point_at_each_page(folder):
    from index.documents import load

    doc = load(folder, "library.pdf")
    assert [doc.text[s:].split("\n\n")[0] for s in doc.page_starts] == PDF_PAGES
    assert doc.title == "Library rules"


def test_nothing_readable_is_a_non_zero_exit(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.txt").write_bytes(b"\x00\x00\x00")
    (bad / "b.md").write_text("", encoding="utf-8")
    proc = run(["ingest", "--corpus", str(bad)], tmp_path)
    assert proc.returncode == 1 and "none of the 2 files" in proc.stderr
