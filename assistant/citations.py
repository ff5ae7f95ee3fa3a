"""Citations: verify evidence against its source, merge neighbours, number, and mark the text.

Pure functions over plain data: a citation reaches the user only if its quote is
exactly `text_of(source)[start:end]` now, so a stale index can't cite the wrong words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.types import Citation

# Spans this close (whitespace only between them) are one passage, cited once.
MAX_MERGE_GAP = 3


@dataclass(frozen=True)
class Evidence:
    """A span chosen to support an answer, before numbering."""

    source: str
    start: int
    end: int
    quote: str
    score: float
    page: int | None = None


def quote_matches(text: str | None, start: int, end: int, quote: str) -> bool:
    """The contract of every citation: `quote == text[start:end]`, with sane offsets."""
    return text is not None and 0 <= start < end <= len(text) and text[start:end] == quote


def verify(evidence: Sequence[Evidence], text_of: Callable[[str], str | None]) -> tuple[list[Evidence], list[Evidence]]:
    """Split into (valid, invalid): valid means the quote is exactly the source's text at its offsets."""
    valid: list[Evidence] = []
    invalid: list[Evidence] = []
    for ev in evidence:
        (valid if quote_matches(text_of(ev.source), ev.start, ev.end, ev.quote) else invalid).append(ev)
    return valid, invalid


def merge(evidence: Sequence[Evidence], text_of: Callable[[str], str | None]) -> list[Evidence]:
    """Join spans of one source that overlap or touch across whitespace (on the same page, so a
    citation names one page); keep best-first order of groups."""
    by_source: dict[str, list[Evidence]] = {}
    for ev in evidence:
        by_source.setdefault(ev.source, []).append(ev)
    groups: list[Evidence] = []
    for source, items in by_source.items():
        text = text_of(source) or ""
        items = sorted(items, key=lambda e: e.start)
        current = items[0]
        for ev in items[1:]:
            gap = text[current.end : ev.start] if ev.start > current.end else ""
            if ev.start - current.end <= MAX_MERGE_GAP and not gap.strip() and ev.page == current.page:
                start, end = current.start, max(current.end, ev.end)
                current = Evidence(source, start, end, text[start:end], max(current.score, ev.score), current.page)
            else:
                groups.append(current)
                current = ev
        groups.append(current)
    best_first = {s: max(e.score for e in items) for s, items in by_source.items()}
    # Sources by their best evidence; passages within a source in reading order.
    return sorted(groups, key=lambda e: (-best_first[e.source], e.start))


def number(evidence: Sequence[Evidence]) -> list[Citation]:
    """Citations [1]..[n] in the given order."""
    return [Citation(i + 1, e.source, e.start, e.end, e.quote, e.score, e.page) for i, e in enumerate(evidence)]


def quoted_answer(citations: Sequence[Citation]) -> str:
    """An extractive answer: each cited passage on one line of prose, followed by its marker."""
    return " ".join(f"{_one_line(c.quote)} [{c.n}]" for c in citations)


def _one_line(quote: str) -> str:
    return re.sub(r"\s*\n\s*", " ", quote)
