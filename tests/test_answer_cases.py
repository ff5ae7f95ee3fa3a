"""Answer files (`*.answers.yml`): what they may say, and one clear error for what they may not."""

from __future__ import annotations

import pytest

from assistant.testing.cases import Case, CaseError, load


def write(tmp_path, text: str):
    path = tmp_path / "hr.answers.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_file_loads_every_kind_of_case(tmp_path):
    path = write(
        tmp_path,
        "corpus: ../docs\n"
        "cases:\n"
        "  - question: How much leave?\n"
        "    cites: {source: leave.md, contains: 30 days, page: 2}\n"
        "  - question: Who won?\n"
        "    abstains: true\n"
        "  - question: And after that?\n"
        "    after: ['How much leave?', 'Who decides?']\n"
        "    cites: [{contains: 30}, {quote: Staff get 30 days.}]\n"
        "    not_cites: {source: old-policy.md}\n"
        "    mode: llm\n",
    )
    corpus, cases = load(path)
    assert corpus == (tmp_path.parent / "docs").resolve()
    assert cases[0] == Case("How much leave?", 3, ({"source": "leave.md", "contains": "30 days", "page": 2},))
    assert cases[1].abstains is True and cases[1].line == 5
    assert cases[2].after == ("How much leave?", "Who decides?") and cases[2].mode == "llm"
    assert cases[2].cites == ({"contains": "30"}, {"quote": "Staff get 30 days."})  # a number is text here
    assert cases[2].not_cites == ({"source": "old-policy.md"},)


def test_the_corpus_is_optional(tmp_path):
    corpus, cases = load(write(tmp_path, "cases:\n  - question: Q?\n    abstains: true\n"))
    assert corpus is None and len(cases) == 1


@pytest.mark.parametrize(
    "text, where",
    [
        ("cases:\n  - question: Q?\n    cites: {source: [a}\n", ":3: yaml:"),
        ("- question: Q?\n", ":1: file: expected a mapping"),
        ("corpus: x\n", ":1: cases: missing"),
        ("cases: []\n", ":1: cases: expected a list of cases"),
        ("cases:\n  - cites: {source: a.md}\n", ":2: question: missing"),
        ("cases:\n  - question: '  '\n    abstains: true\n", ":2: question: empty"),
        ("cases:\n  - question: Q?\n", ":2: case: expects nothing"),
        ("cases:\n  - question: Q?\n    cites: {sorce: a.md}\n", ":3: sorce: unknown key in cites"),
        ("cases:\n  - question: Q?\n    cite: {source: a.md}\n", ":3: cite: unknown key in case"),
        ("cases:\n  - question: Q?\n    cites: {page: two}\n", ":3: cites.page: expected int"),
        ("cases:\n  - question: Q?\n    cites: {}\n", ":3: cites: give at least one of"),
        ("cases:\n  - question: Q?\n    abstains: yes please\n", ":3: abstains: expected bool"),
        ("cases:\n  - question: Q?\n    abstains: true\n    cites: {source: a}\n", ":3: abstains: a case can't both"),
        ("cases:\n  - question: Q?\n    abstains: true\n    mode: gpt\n", ":4: mode: unknown mode 'gpt'"),
        ("cases:\n  - question: [a, b]\n    abstains: true\n", ":2: question: expected text"),
        ("cases:\n  - Q?\n", ":2: case: expected a mapping"),
    ],
)
def test_a_malformed_file_names_its_line_and_key(tmp_path, text, where):
    with pytest.raises(CaseError) as err:
        load(write(tmp_path, text))
    assert where in str(err.value) and str(err.value).startswith(str(tmp_path / "hr.answers.yml"))
