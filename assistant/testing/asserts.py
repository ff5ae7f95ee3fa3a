"""Assertions for your own pytest suites: an answer cites what it should, or abstains.

    def test_leave_policy(ask):                 # the `ask` fixture of the pytest plugin
        assert_cites(ask("How many days of leave do I get?"), source="handbook.md", contains="30 days")

A failure shows the question, the answer, and every citation (source, offsets, page,
quote) next to what was expected.
"""

from __future__ import annotations

from assistant.types import Answer, Citation
from index.text import short

QUOTE_CHARS = 160  # of each cited quote shown in a failure message


def assert_cites(
    answer: Answer,
    source: str | None = None,
    contains: str | None = None,
    *,
    page: int | None = None,
    quote: str | None = None,
) -> None:
    """Fail unless `answer` has a citation of `source` (path relative to the corpus, with its
    space when spaces are configured) whose quote contains `contains` (whitespace-insensitive),
    on `page`, or whose quote is exactly `quote`; each criterion is optional."""
    want = _want(source, contains, page, quote)
    if answer.abstained or not answer.citations:
        raise AssertionError(f"expected a citation{want}, but the answer abstained\n{describe(answer)}")
    if not any(_matches(c, source, contains, page, quote) for c in answer.citations):
        raise AssertionError(f"expected a citation{want}\n{describe(answer)}")


def assert_not_cites(answer: Answer, source: str | None = None, contains: str | None = None) -> None:
    """Fail if `answer` cites `source` (or a quote containing `contains`)."""
    found = [c for c in answer.citations if _matches(c, source, contains, None, None)]
    if found:
        raise AssertionError(f"expected no citation{_want(source, contains, None, None)}\n{describe(answer)}")


def assert_abstains(answer: Answer) -> None:
    """Fail unless `answer` is an abstention with no citations."""
    if not answer.abstained or answer.citations:
        raise AssertionError(f"expected an abstention\n{describe(answer)}")


def assert_answers(answer: Answer) -> None:
    """Fail if `answer` abstained."""
    if answer.abstained:
        raise AssertionError(f"expected an answer, but it abstained\n{describe(answer)}")


def describe(answer: Answer) -> str:
    """The question, the answer and each citation, as a failure message shows them."""
    lines = [f"  question: {answer.question!r}", f"  answer:   {short(' '.join(answer.text.split()), 300)!r}"]
    if answer.citations:
        lines.append("  cited:")
    for c in answer.citations:
        page = f" (page {c.page})" if c.page is not None else ""
        lines.append(f"    [{c.n}] {c.location}{page} {short(' '.join(c.quote.split()), QUOTE_CHARS)!r}")
    return "\n".join(lines)


def _matches(c: Citation, source: str | None, contains: str | None, page: int | None, quote: str | None) -> bool:
    return (
        (source is None or source in (c.source, c.path))
        and (contains is None or _squash(contains) in _squash(c.quote))
        and (page is None or c.page == page)
        and (quote is None or c.quote == quote)
    )


def _want(source: str | None, contains: str | None, page: int | None, quote: str | None) -> str:
    parts = [f" of {source}"] if source else []
    parts += [f" on page {page}"] if page is not None else []
    parts += [f" quoting {contains!r}"] if contains else []
    parts += [f" whose quote is exactly {quote!r}"] if quote is not None else []
    return "".join(parts)


def _squash(text: str) -> str:
    return " ".join(text.split())
