"""Sections: the chain of headings above each place in a document, and its page furniture.

A heading is a line of the canonical text; its level comes from the kind of heading it is.
Styled headings come from the file (Markdown `#`, HTML `h1`-`h6`, Word heading styles, PDF
lines in a larger or bold font: `Document.headings`); in any text, numbered clauses and
articles (`9.4`, `ARTICLE IV`, `Section 12.`, `(a)`) and short all-caps or title lines over
body text count too. As reStructuredText does with its underlines, each kind of heading gets
the next level the first time it appears, so "1 Definitions" over "1.1" over "(a)" nests
whatever the document's own numbering looks like.

Furniture (running headers and footers, page numbers, table-of-contents lines with dot
leaders) stays in the text, so no offset moves, but is never a heading and never a quote.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from index.sentences import trim

Span = tuple[int, int]
SEPARATOR = " › "
TITLE_WORDS = 10  # a title line is at most this many words
LABEL_CHARS = 60  # a heading is shown cut to this many characters

_LINE = re.compile(r"[^\n]*")
_MD = re.compile(r"[ \t]{0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_ROMAN = r"[IVXLC]{1,6}"
_KEYWORD = re.compile(
    r"(?P<key>ARTICLE|Article|PART|Part|CHAPTER|Chapter|SECTION|Section|SCHEDULE|Schedule|ANNEX|Annex|APPENDIX|Appendix)"
    r"\s+(?P<num>\d{1,3}(?:\.\d{1,3})*[A-Z]?|" + _ROMAN + r"|[A-Z])\b[.:]?"
)
# "9.4", "9.4.1", "12." and "1)" at a line's start; "9" alone only before a title.
_NUMBERED = re.compile(r"(?P<num>\d{1,3}(?:\.\d{1,3})+)\.?(?=\s|$)|(?P<top>\d{1,3})[.)]?(?=\s)")
_LETTERED = re.compile(r"\((?P<num>[a-z]{1,3}|\d{1,2})\)(?=\s)")
_END = re.compile(r"[.!?;:,”\"')\]]$")  # a sentence's end
_TITLE_END = re.compile(r"[.!?;:,”\"']$")  # a title may end in a bracket: "FALSE MARKET (RULE 7.5.1(b))"
# A page number on a line of its own: "7", "- 7 -", "Page 7", "Page 7 of 20", "7 / 20", "vii".
_PAGE_NUMBER = re.compile(
    r"[-–—\s]*(?:(?:page|p\.)\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:/|of)\s*\d{1,4})?[-–—\s]*", re.I
)
_LEADER = re.compile(r".*\S(?:\s*\.){4,}\s*(?:\d{1,4}|[ivxlc]{1,6})\s*$|.*\S[ \t]*(?:\.\s?){3,}\s*\d{1,4}\s*$", re.I)
_MARKER = re.compile(r"[-–—•*·▪◦]|\(?[a-z0-9]{1,3}[.)]", re.I)
_NUMBERED_KINDS = ("num", "key-", "paren", "roman")  # kinds that number a clause: never a title
_SMALL = frozenset("a an and as at by for from in into of on or the to with under per via".split())


@dataclass(frozen=True)
class Heading:
    """One heading line: where it is, its kind ("md2", "num2", "caps", ...), and its label."""

    start: int
    end: int
    kind: str
    label: str
    alone: bool = True  # the whole line is the heading (not a clause number before its body)


class Outline:
    """The headings of one text, levelled, with the path at any offset. The document's title
    (an unnumbered heading opening the text, of a kind used nowhere else) heads no section: the
    file name stands for it."""

    def __init__(self, headings: Sequence[Heading], opening: int = 0):
        headings = sorted(headings, key=lambda h: h.start)
        kinds = Counter(h.kind for h in headings)
        if (
            headings
            and headings[0].start <= opening
            and kinds[headings[0].kind] == 1
            and not headings[0].kind.startswith(_NUMBERED_KINDS)
        ):
            headings = headings[1:]
        # Where heading lines start. The title is not among them: it stays a sentence, the one
        # place its words (often the only naming of the subject) are read.
        self.lines = frozenset(h.start for h in headings if h.alone)
        levels: dict[str, int] = {}
        self.starts: list[int] = []
        self.paths: list[tuple[str, ...]] = []
        stack: list[tuple[int, str]] = []
        for h in headings:
            level = levels.setdefault(h.kind, len(levels))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, h.label))
            self.starts.append(h.start)
            self.paths.append(tuple(label for _, label in stack))

    def path_at(self, offset: int) -> tuple[str, ...]:
        """The headings above `offset`, outermost first (the heading it lies on included)."""
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.paths[i] if i >= 0 else ()


def outline(
    text: str,
    styled: Sequence[tuple[int, int, int]] = (),
    markdown: bool = False,
    furniture_spans: Sequence[Span] | None = None,
) -> Outline:
    """The outline of `text`: its `styled` headings (start, end, level) from the file, Markdown
    headings if `markdown`, and numbered, keyword, all-caps and title lines; no furniture line
    (`furniture_spans`, else found here without pages) is a heading."""
    skip = set(furniture(text) if furniture_spans is None else furniture_spans)
    styled_at = {s: (e, lvl) for s, e, lvl in styled}
    headings: list[Heading] = []
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text)]
    for i, (s, e) in enumerate(lines):
        line = text[s:e].strip()
        if not line or (s, e) in skip or trim(text, s, e) in skip:
            continue
        ts = s + (len(text[s:e]) - len(text[s:e].lstrip()))
        if ts in styled_at:
            headings.append(
                Heading(ts, styled_at[ts][0], f"style{styled_at[ts][1]}", _label(text[ts : styled_at[ts][0]]))
            )
            continue
        if markdown and (m := _MD.match(text, s, e)):
            headings.append(Heading(ts, e, f"md{len(m.group(1))}", _label(m.group(2))))
            continue
        after_break = (
            i == 0
            or not text[lines[i - 1][0] : lines[i - 1][1]].strip()
            or bool(re.search(r"[.!?:;]\s*$", text[lines[i - 1][0] : lines[i - 1][1]]))
        )
        h = _clause(text, ts, e, line, _following(text, lines, i), after_break)
        if h is not None:
            headings.append(h)
    opening = next((s for s, e in lines if text[s:e].strip() and trim(text, s, e) not in skip), 0)
    return Outline(headings, opening + len(text[opening:]) - len(text[opening:].lstrip()))


def _clause(text: str, s: int, e: int, line: str, following: list[str], after_break: bool) -> Heading | None:
    """A numbered, keyword, all-caps or title line at `s`, or None. Only a line that follows a
    blank line or a finished sentence can be a title (else it is a wrapped line's end)."""
    if m := _KEYWORD.match(line):
        rest = line[m.end() :].strip()
        alone = not rest or _title_like(rest)
        label = line if alone else f"{m.group('key')} {m.group('num')}"
        return Heading(s, e, "key-" + m.group("key").lower(), _label(label), alone)
    if m := _NUMBERED.match(line):
        rest = line[m.end() :].strip()
        if rest[:1].islower():
            return None  # "2.5 million people": a number in running text
        if m.group("num"):
            alone = not rest or _title_like(rest)
            return Heading(
                s, e, f"num{m.group('num').count('.') + 1}", _label(line if alone else m.group("num")), alone
            )
        if after_break and rest and _title_like(rest) and _leads_to_body(following):
            return Heading(s, e, "num1", _label(line))
        return None
    if m := _LETTERED.match(line):
        kind = "roman" if re.fullmatch(r"[ivx]+", m.group("num")) and m.group("num") != "i" else "paren"
        kind = "paren-digit" if m.group("num").isdigit() else kind
        return Heading(s, e, kind, f"({m.group('num')})", False)
    if after_break and _title_like(line) and _leads_to_body(following) and not _MARKER.fullmatch(line):
        letters = [c for c in line if c.isalpha()]
        kind = "caps" if letters and all(c.isupper() for c in letters) and len(letters) > 1 else "title"
        return Heading(s, e, kind, _label(line))
    return None


def _title_like(line: str) -> bool:
    """A short line ending in no punctuation, its words mostly capitalised: "Term and Termination"."""
    words = line.split()
    if not words or len(words) > TITLE_WORDS or _TITLE_END.search(line) or not words[0][:1].isupper():
        return False
    big = [w for w in words if w.lower() not in _SMALL]
    return sum(w[:1].isupper() or w[:1].isdigit() for w in big) * 2 >= len(big)


def _body(line: str) -> bool:
    """Body text: a sentence or more, not another heading."""
    return len(line.split()) > TITLE_WORDS or bool(line and _END.search(line) and len(line.split()) >= 3)


def _leads_to_body(following: list[str]) -> bool:
    """Body text comes next, maybe under further headings ("FEES" over "Supervision fees" over
    the clause)."""
    for line in following:
        if _body(line):
            return True
        if not _title_like(line):
            return False
    return False


def _following(text: str, lines: list[Span], i: int, n: int = 3) -> list[str]:
    """The next `n` lines after line `i` that hold anything."""
    out: list[str] = []
    j = i + 1
    while j < len(lines) and len(out) < n:
        s, e = lines[j]
        if text[s:e].strip():
            out.append(text[s:e].strip())
        j += 1
    return out


def _label(line: str) -> str:
    line = " ".join(line.lstrip("#").split())
    return line if len(line) <= LABEL_CHARS else line[: LABEL_CHARS - 1].rstrip() + "…"


def furniture(text: str, page_starts: Sequence[int] = ()) -> list[Span]:
    """Spans (trimmed lines) that are page furniture: page numbers, dot-leader contents lines,
    lone list markers, and in a paged text the lines repeated at the top or bottom of pages."""
    out: list[Span] = []
    for m in _LINE.finditer(text):
        s, e = trim(text, m.start(), m.end())
        if s >= e:
            continue
        line = text[s:e]
        if _PAGE_NUMBER.fullmatch(line) or _MARKER.fullmatch(line) or _LEADER.match(line):
            out.append((s, e))
    if len(page_starts) >= 2:
        out.extend(_running(text, page_starts))
    return sorted(set(out))


def _running(text: str, page_starts: Sequence[int]) -> list[Span]:
    """Lines among the first or last three of their page that recur (digits aside) on at least a
    third of the pages: running headers and footers."""
    ends = [*page_starts[1:], len(text)]
    edges: list[tuple[str, Span]] = []
    for start, end in zip(page_starts, ends, strict=True):
        spans = [trim(text, start + m.start(), start + m.end()) for m in _LINE.finditer(text[start:end])]
        spans = [sp for sp in spans if sp[0] < sp[1]]
        for sp in dict.fromkeys(spans[:3] + spans[-3:]):
            edges.append((re.sub(r"\d+", "#", " ".join(text[sp[0] : sp[1]].split()).lower()), sp))
    counts = Counter(key for key, _ in dict.fromkeys(edges))
    pages = len(page_starts)
    return [sp for key, sp in edges if counts[key] >= max(2, pages / 3) and len(key.split()) <= 15]
