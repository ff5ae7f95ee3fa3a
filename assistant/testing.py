"""Helpers for your own pytest suites: assert that answers cite what they should.

from assistant.testing import assert_cites, assert_abstains

def test_leave_policy(engine):
    answer = engine.answer("How many days of leave do I get?")
    assert_cites(answer, source="handbook.md", contains="30 days")
"""

from __future__ import annotations

from assistant.types import Answer
from index.text import short

QUOTE_CHARS = 100  # of each cited quote shown in a failure message


def assert_cites(answer: Answer, source: str | None = None, contains: str | None = None) -> None:
    """Fail unless `answer` has a citation of `source` (path relative to the corpus) whose quote
    contains `contains` (both optional; whitespace-insensitive), with a message listing what it did cite."""
    if answer.abstained or not answer.citations:
        raise AssertionError(f"expected a citation{_want(source, contains)}, but the answer abstained: {answer.text!r}")
    for c in answer.citations:
        if source is not None and c.source != source:
            continue
        if contains is not None and _squash(contains) not in _squash(c.quote):
            continue
        return
    cited = "\n".join(
        f"  [{c.n}] {c.source}:{c.start}-{c.end} {short(c.quote, QUOTE_CHARS)!r}" for c in answer.citations
    )
    raise AssertionError(f"expected a citation{_want(source, contains)} for {answer.question!r}; it cited:\n{cited}")


def assert_abstains(answer: Answer) -> None:
    """Fail unless `answer` is an abstention with no citations."""
    if not answer.abstained or answer.citations:
        raise AssertionError(f"expected an abstention for {answer.question!r}, got: {answer.text!r}")


def _want(source: str | None, contains: str | None) -> str:
    parts = ([f" of {source}"] if source else []) + ([f" quoting {contains!r}"] if contains else [])
    return "".join(parts)


def _squash(text: str) -> str:
    return " ".join(text.split())
