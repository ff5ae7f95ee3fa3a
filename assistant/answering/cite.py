"""Stage 6, citing: the decision's evidence checked against its source, merged, numbered, and
written into the extractive answer (or an abstention, with related passages for a near miss).

Pure functions over plain data: a citation reaches the user only if its quote is exactly
`text_of(source)[start:end]` now, so a stale index can't cite the wrong words; evidence
whose every quote went stale leaves nothing to answer with, and the answer says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from assistant import prompts
from assistant.answering.decide import Decision
from assistant.answering.question import Ask
from assistant.answering.select import Scored, Selection
from assistant.prompts import NOT_COVERED
from assistant.types import Answer, Citation, Place, SourceSpan

TextOf = Callable[[str], str | None]

# Spans this close (whitespace only between them) are one passage, cited once.
MAX_MERGE_GAP = 3
# How far back a quotation's opening mark is looked for, within the paragraph.
MAX_QUOTE_REACH = 800


@dataclass(frozen=True)
class Evidence:
    """A span chosen to support an answer, before numbering."""

    source: str
    start: int
    end: int
    quote: str
    score: float
    page: int | None = None
    section: str = ""


def quote_matches(text: str | None, start: int, end: int, quote: str) -> bool:
    """The contract of every citation: `quote == text[start:end]`, with sane offsets."""
    return text is not None and 0 <= start < end <= len(text) and text[start:end] == quote


@dataclass(frozen=True)
class Cited:
    """The extractive answer, the spans of chosen sentences whose quote no longer matches the
    file, and the ids of the sentences quoted."""

    answer: Answer
    stale: frozenset[SourceSpan]
    quoted: frozenset[str]


def cite(question: str, ask: Ask, decision: Decision, selection: Selection, text_of: TextOf) -> Cited:
    """The citing stage."""
    quoted = selection.chosen if decision.answers else []
    valid, invalid = check_quotes(as_evidence(quoted), text_of)
    valid = [whole_words(from_opening_quote(e, text_of(e.source) or ""), text_of(e.source) or "") for e in valid]
    stale = frozenset((e.source, e.start, e.end) for e in invalid)
    ids = frozenset(s.id for s in quoted)
    if decision.kind == "near_miss" and decision.verdict is not None:
        related = number(merge(check_quotes(as_evidence(selection.pool), text_of)[0], text_of))
        if related:
            text = prompts.missing(ask, decision.verdict, " ".join(c.quote for c in related))
            return Cited(Answer(question, text, abstained=True, related=tuple(related)), stale, ids)
    if not valid:
        return Cited(Answer(question, NOT_COVERED, abstained=True), stale, ids)
    cites = number(merge(valid, text_of))
    return Cited(Answer(question, quoted_answer(cites), tuple(cites)), stale, ids)


def as_evidence(chosen: Sequence[Scored]) -> list[Evidence]:
    return [
        Evidence(
            s.hit.sentence.source,
            s.hit.sentence.start,
            s.hit.sentence.end,
            s.hit.sentence.text,
            s.score,
            s.page,
            s.hit.sentence.section,
        )
        for s in (c.ranked for c in chosen)
    ]


def check_quotes(evidence: Sequence[Evidence], text_of: TextOf) -> tuple[list[Evidence], list[Evidence]]:
    """Split into (valid, invalid): valid means the quote is exactly the source's text at its offsets."""
    valid: list[Evidence] = []
    invalid: list[Evidence] = []
    for ev in evidence:
        (valid if quote_matches(text_of(ev.source), ev.start, ev.end, ev.quote) else invalid).append(ev)
    return valid, invalid


def from_opening_quote(ev: Evidence, text: str) -> Evidence:
    """A sentence inside a quotation that opened in an earlier sentence of its paragraph, cited
    from the opening quotation mark: the speaker's words read from their start, not from the
    middle. Anything else is returned as it is."""
    if not quote_matches(text, ev.start, ev.end, ev.quote):
        return ev
    paragraph = text.rfind("\n\n", 0, ev.start)
    paragraph = 0 if paragraph < 0 else paragraph + 2
    at = open_quote(text[paragraph : ev.start])
    if at < 0 or ev.start - (paragraph + at) > MAX_QUOTE_REACH:
        return ev
    start = paragraph + at
    return replace(ev, start=start, quote=text[start : ev.end])


def whole_words(ev: Evidence, text: str) -> Evidence:
    """The span widened to whole words, so no quote begins or ends inside a word ("ment is due"
    cut from a sentence over the window is quoted as "payment is due")."""
    if not quote_matches(text, ev.start, ev.end, ev.quote):
        return ev
    start, end = ev.start, ev.end
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return ev if (start, end) == (ev.start, ev.end) else replace(ev, start=start, end=end, quote=text[start:end])


def open_quote(text: str) -> int:
    """Where in `text` a quotation opens that is still open at its end (the outermost), or -1.
    Curly marks pair “ with ”; straight double quotes alternate."""
    curly: list[int] = []
    straight = -1
    for i, ch in enumerate(text):
        if ch == "“":
            curly.append(i)
        elif ch == "”" and curly:
            curly.pop()
        elif ch == '"':
            straight = i if straight < 0 else -1
    candidates = [p for p in (curly[0] if curly else -1, straight) if p >= 0]
    return min(candidates, default=-1)


def merge(evidence: Sequence[Evidence], text_of: TextOf) -> list[Evidence]:
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
                current = replace(current, end=end, quote=text[start:end], score=max(current.score, ev.score))
            else:
                groups.append(current)
                current = ev
        groups.append(current)
    best_first = {s: max(e.score for e in items) for s, items in by_source.items()}
    # Sources by their best evidence; passages within a source in reading order.
    return sorted(groups, key=lambda e: (-best_first[e.source], e.start))


def number(evidence: Sequence[Evidence]) -> list[Citation]:
    """Citations [1]..[n] in the given order. Words that stand in several places (copies of a
    file, near copies) are quoted once, at their first place; the others are listed `also`."""
    out: list[Citation] = []
    first: dict[str, int] = {}  # a quote → where it is in `out`
    for e in evidence:
        if e.quote in first:
            i = first[e.quote]
            out[i] = replace(out[i], also=(*out[i].also, Place(e.source, e.start, e.end)))
            continue
        first[e.quote] = len(out)
        out.append(Citation(len(out) + 1, e.source, e.start, e.end, e.quote, e.score, e.page, section=e.section))
    return out


def quoted_answer(citations: Sequence[Citation]) -> str:
    """An extractive answer: each cited passage on one line of prose, followed by its marker."""
    return " ".join(f"{_one_line(c.quote)} [{c.n}]" for c in citations)


def _one_line(quote: str) -> str:
    return re.sub(r"\s*\n\s*", " ", quote)
