"""Sentence spans: (start, end) offsets of each sentence of a text, whitespace excluded.

Sentences are the unit of evidence: chunks are packed from them and extractive answers
quote them, so every span must slice the original text exactly. Splitting uses Punkt,
the splitter behind llama-index's SentenceSplitter, plus an abbreviation list and two
repairs for its common misses ("Capt. Jeff", "the U.S. live").
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

Span = tuple[int, int]

_LINE = re.compile(r"[^\n]*\n?")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}\s")
# Lines that start a new block: headings, list items, table rows.
_STRUCTURE = re.compile(r"[ \t]*(?:#{1,6}\s|[-*+]\s|\d{1,3}[.)]\s|\|)")
# Titles precede a name, so a split after one is always wrong; "No. 5" likewise.
_TITLES = "mr mrs ms dr prof capt gen col lt sgt cpl maj adm gov sen rep rev hon fr st".split()
_NUMBERED = "no nos vol fig figs eq ch sec pp art".split()
_ABBREVIATIONS = (
    _TITLES
    + _NUMBERED
    + (
        "jr sr vs etc e.g i.e cf al inc corp ltd co bros dept est approx "
        "u.s u.k u.n e.u a.m p.m jan feb mar apr jun jul aug sep sept oct nov dec mt ft"
    ).split()
)
_TITLE_END = re.compile(r"(?:^|\W)(?:" + "|".join(_TITLES) + r")\.$", re.I)
_NUMBERED_END = re.compile(r"(?:^|\W)(?:" + "|".join(_NUMBERED) + r")\.$", re.I)
_STARTS_LOWER = re.compile(r"^[\"'“‘(\[]*[a-z]")
# A clause number: "9.3.1", "1.2.7.Guidance", "(2)", "Part 2.4.(1)".
_NUMBER = r"(?:Part\s+)?(?:\d{1,3}(?:\.[0-9A-Za-z()]+)*[.)]?|\(\w{1,4}\)"
# One before a clause's words ("9.3.1 A Person", "A. INTRODUCTION") is kept out of the quote,
# which starts at the words. Needs a capital after it, so "2.5 million" stays whole.
_CLAUSE_NUMBER = re.compile(_NUMBER + r"|[A-Z][.)])[ \t]+(?=[A-Z“\"(])")
# A clause number, list marker or page number alone ("2.", "(b)", "Part 2.4.", "- 10 -"): no sentence.
_MARKER_ONLY = re.compile(_NUMBER + r"|[A-Za-z][.)]|[-–—•*]?\s*\d{1,4}\s*[-–—]?)")


@lru_cache(maxsize=1)
def _punkt():
    # Imported here, and without nltk/__init__: that imports all of nltk (and scipy), about
    # 1.5 s, where Punkt alone takes 0.2 s. A bare package stands in for it during this
    # import only, and the modules it loaded are forgotten after, so a later `import nltk`
    # elsewhere loads the real package whole.
    import importlib.util
    import sys
    import types

    if "nltk" not in sys.modules and (spec := importlib.util.find_spec("nltk")) is not None:
        bare = types.ModuleType("nltk")
        bare.__path__ = list(spec.submodule_search_locations or [])
        sys.modules["nltk"] = bare
        try:
            from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
        finally:
            for name in [m for m in sys.modules if m == "nltk" or m.startswith("nltk.")]:
                del sys.modules[name]
    else:
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(_ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def blocks(text: str, alone: Collection[int] = (), skip: Collection[int] = ()) -> list[Span]:
    """Paragraph-like blocks: split at blank lines, before Markdown list items and table
    rows, and around headings (a heading is its own block). Lines starting (after their
    indent) at an offset in `alone` are blocks of their own too (headings found elsewhere);
    those in `skip` (page furniture) are in no block."""
    spans: list[Span] = []
    start = 0
    prev_heading = False
    for m in _LINE.finditer(text):
        line = m.group()
        blank = not line.strip()
        first = m.start() + len(line) - len(line.lstrip())
        skipped = first in skip
        own = first in alone
        structural = bool(_STRUCTURE.match(line)) or own
        if blank or skipped or structural or prev_heading:
            spans.append((start, m.start()))
            start = m.end() if blank or skipped else m.start()
        prev_heading = bool(_HEADING.match(line)) or own
    spans.append((start, len(text)))
    return [s for s in (trim(text, a, b) for a, b in spans) if s[0] < s[1]]


def split(text: str, alone: Collection[int] = (), skip: Collection[int] = ()) -> list[Span]:
    """Sentence spans of `text`, in order, never crossing a block break (`blocks`). A heading
    found elsewhere (a line starting in `alone`) is no sentence: its words reach the sentences
    under it as their section (index.sections), and alone it answers nothing."""
    out: list[Span] = []
    tokenizer = _punkt()
    for b_start, b_end in blocks(text, alone, skip):
        if b_start in alone:
            continue
        block = text[b_start:b_end]
        for s, e in tokenizer.span_tokenize(block):
            span = _without_number(text, *trim(text, b_start + s, b_start + e))
            if span[0] >= span[1] or _MARKER_ONLY.fullmatch(text, *span):
                continue
            if out and out[-1][1] > b_start and _should_merge(text, out[-1], span):
                out[-1] = (out[-1][0], span[1])
            elif out and _lead_in(text, out[-1], span, alone):
                out[-1] = (out[-1][0], span[1])  # "As he remembers:" is read with what it leads into
            else:
                out.append(span)
    return out


LEAD_IN_WORDS = 12  # a lead-in ending in ":" is at most this many words


def _lead_in(text: str, prev: Span, nxt: Span, alone: Collection[int]) -> bool:
    """`prev` is a short lead-in ending in a colon (not a heading), and only white space (a line
    break, a blank line) stands between it and `nxt`, which is no heading either."""
    before = text[prev[0] : prev[1]]
    return (
        before.endswith(":")
        and not _HEADING.match(before)
        and len(before.split()) <= LEAD_IN_WORDS
        and not text[prev[1] : nxt[0]].strip()
        and text.rfind("\n", 0, nxt[0]) + 1 not in alone
        and not _HEADING.match(text, text.rfind("\n", 0, nxt[0]) + 1)
    )


def ends_with_title(text: str) -> bool:
    """ "Dr." or "Capt." at the end: a full stop that doesn't end the sentence."""
    return bool(_TITLE_END.search(text))


def _should_merge(text: str, prev: Span, nxt: Span) -> bool:
    """Punkt split after an abbreviation, or before a lowercase word: one sentence really."""
    before, after = text[prev[0] : prev[1]], text[nxt[0] : nxt[1]]
    if _TITLE_END.search(before) or _STARTS_LOWER.match(after):
        return True
    return bool(_NUMBERED_END.search(before) and after[:1].isdigit())


def _without_number(text: str, start: int, end: int) -> Span:
    """The span less a leading clause number, when words follow it."""
    m = _CLAUSE_NUMBER.match(text, start, end)
    return (m.end(), end) if m and m.end() < end else (start, end)


def trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
