"""Sections and page furniture (issue 38): every sentence knows the headings above it, in every
format, and a PDF's running header, footer and page numbers are never quoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import sections
from index.chunking import chunk, unique_sentences
from index.documents import load

from make_files import typeset_pdf_bytes

# One contract, written five ways. The sentence asked about is deep inside clause 9.4.
TITLE = "Service Agreement"
CLAUSES = [
    ("1 Definitions", ["1.1 The Supplier means Acme Ltd and the Customer means Beta plc."]),
    (
        "9 Term and Termination",
        [
            "9.1 This agreement starts on the Effective Date and runs for one year.",
            "9.4 Either party may end this agreement with ninety days of written notice. "
            "Notice must reach the other party before the end of the current term.",
        ],
    ),
    ("10 Governing Law", ["10.1 This agreement is governed by the laws of England."]),
]
DEEP = "Notice must reach the other party before the end of the current term."
PATH = "9 Term and Termination › 9.4"


def _plain() -> str:
    parts = [TITLE.upper()]
    for heading, paras in CLAUSES:
        parts += [heading, *paras]
    return "\n\n".join(parts) + "\n"


def _markdown() -> str:
    parts = [f"# {TITLE}"]
    for heading, paras in CLAUSES:
        parts += [f"## {heading}", *paras]
    return "\n\n".join(parts) + "\n"


def _html() -> str:
    body = f"<h1>{TITLE}</h1>" + "".join(
        f"<h2>{h}</h2>" + "".join(f"<p>{p}</p>" for p in paras) for h, paras in CLAUSES
    )
    return f"<html><head><title>{TITLE}</title></head><body><main>{body}</main></body></html>"


def _docx(path: Path) -> None:
    from docx import Document as Docx

    doc = Docx()
    doc.add_heading(TITLE, level=0)
    for heading, paras in CLAUSES:
        doc.add_heading(heading, level=1)
        for p in paras:
            doc.add_paragraph(p)
    doc.save(str(path))


def _pdf_lines() -> list[list[tuple[str, str, int]]]:
    """Two pages: a bold title, bold headings, body lines wrapped as a typesetter would, and on
    every page a running header, a footer and a page number in small type."""
    body: list[tuple[str, str, int]] = [(TITLE, "Helvetica-Bold", 16)]
    for heading, paras in CLAUSES:
        body.append((heading, "Helvetica-Bold", 12))
        for p in paras:
            body += [(line, "Helvetica", 10) for line in _wrap(p)]
    half = len(body) // 2
    pages = [body[:half], body[half:]]
    return [
        [("Acme Ltd - Service Agreement - Confidential", "Helvetica", 8), *lines, (f"- {n} -", "Helvetica", 8)]
        for n, lines in enumerate(pages, 1)
    ]


def _wrap(text: str, width: int = 70) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]


def write(root: Path, kind: str) -> str:
    """The contract as a file of `kind` under `root`; its name."""
    name = {"plain": "contract.txt", "markdown": "contract.md", "html": "contract.html"}.get(kind, f"contract.{kind}")
    path = root / name
    if kind == "plain":
        path.write_text(_plain())
    elif kind == "markdown":
        path.write_text(_markdown())
    elif kind == "html":
        path.write_text(_html())
    elif kind == "docx":
        _docx(path)
    else:
        path.write_bytes(typeset_pdf_bytes(_pdf_lines(), TITLE))
    return name


def sentence_with(doc, words: str):
    found = [s for s in unique_sentences(chunk(doc)) if words in " ".join(s.text.split())]
    assert found, f"no sentence holds {words!r}"
    return found[0]


@pytest.mark.parametrize("kind", ["plain", "markdown", "html", "docx", "pdf"])
def test_a_sentence_deep_inside_a_contract_knows_its_section_in_every_format(tmp_path, kind):
    doc = load(tmp_path, write(tmp_path, kind))
    s = sentence_with(doc, DEEP[:40])
    assert s.section == PATH
    assert doc.text[s.start : s.end] == s.text
    assert sentence_with(doc, "governed by the laws").section == "10 Governing Law › 10.1"
    # A clause's heading is a block of its own, never glued to the clause under it.
    assert not any(
        t.text.startswith(("Term and", "9 Term", "Governing")) and len(t.text.split()) > 4
        for t in unique_sentences(chunk(doc))
    )


def test_a_pdfs_running_header_footer_and_page_numbers_are_in_no_sentence(tmp_path):
    name = write(tmp_path, "pdf")
    doc = load(tmp_path, name)
    assert "Confidential" in doc.text and "- 2 -" in doc.text  # still in the text: offsets unchanged
    assert len(doc.page_starts) == 2
    for s in unique_sentences(chunk(doc)):
        assert doc.text[s.start : s.end] == s.text
        assert "Confidential" not in s.text and not s.text.strip("- ").isdigit()
        assert not s.text.startswith(("- 1 -", "- 2 -")) and not s.text.endswith(("- 1 -", "- 2 -"))


@pytest.mark.parametrize(
    "text, offset_of, path",
    [
        (
            "ARTICLE III\n\nTERM\n\nSection 3.1. It runs a year.\n\nARTICLE IV\n\nPAYMENT\n\nSection 4.2. Fees are due.\n",
            "Fees",
            ("ARTICLE IV", "PAYMENT", "Section 4.2"),
        ),
        ("1 Scope\n\nThe rules apply.\n\n(a) to staff; and\n(b) to visitors.\n", "to visitors", ("1 Scope", "(b)")),
        ("Intro text here.\n\nSick Leave\n\nYou may take ten days a year.\n", "ten days", ("Sick Leave",)),
        ("Sales rose.\n\n2.5 million units were sold in the year.\n", "million", ()),  # a number, no clause
    ],
)
def test_plain_text_clauses_articles_and_title_lines(text, offset_of, path):
    outline = sections.outline(text)
    assert outline.path_at(text.index(offset_of)) == path


@pytest.mark.parametrize(
    "line",
    ["7", "- 7 -", "Page 7", "Page 7 of 20", "7 / 20", "vii", "Introduction .......... 3", "(b)", "•"],
)
def test_page_numbers_contents_lines_and_lone_markers_are_furniture(line):
    text = f"A sentence before it.\n\n{line}\n\nA sentence after it.\n"
    assert [text[s:e] for s, e in sections.furniture(text)] == [line]


def test_a_line_repeated_at_the_top_of_pages_is_a_running_header_but_body_text_is_not():
    said = ["Sales rose.", "Costs fell.", "Staff grew.", "Debt was repaid."]
    pages = [f"Annual Report 2024\n{body}\nPage {n}" for n, body in enumerate(said, 1)]
    text = "\n\n".join(pages)
    starts = [text.index(p) for p in pages]
    found = {text[s:e] for s, e in sections.furniture(text, starts)}
    assert "Annual Report 2024" in found and "Page 3" in found
    assert not found & set(said)
