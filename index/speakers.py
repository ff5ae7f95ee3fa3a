"""Speaker attribution: who said each quoted sentence, read from the attribution around the quote.

News, reports and minutes quote people: `“…,” said Capt. Jeff Scroggin, a spokesman for
the Sheriff’s Department.` Every sentence inside a quotation records its speaker at index
time, so "what did X say" can prefer X's words and never pass off another speaker's
quote as X's. A quotation may span several sentences and paragraphs (a paragraph that
opens with a quote mark while the last one never closed continues it). "he said" takes
the named speaker mentioned just before. Pure string work; no model.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from index.text import STOPWORDS, WORD

Span = tuple[int, int]
OPENING = '“"'
CLOSING = '”"'
_VERBS = (
    r"said|says|say|added|adds|told|tells|explained|explains|noted|notes|asked|asks|wrote|writes|stated|states|"
    r"argued|argues|warned|warns|insisted|insists|recalled|recalls|continued|continues|replied|replies|"
    r"declared|declares|announced|announces|claimed|claims|remarked|remarks|confirmed|confirms"
)
_PRONOUNS = {"he", "she", "they", "i", "we"}
# After a quote: `, said NAME.` / `, NAME said.` / `, he said.`
_AFTER_VERB_FIRST = re.compile(r"^[\s,]*(?:" + _VERBS + r")\s+(?P<name>[^“”\"]+)", re.I)
_AFTER_NAME_FIRST = re.compile(r"^[\s,]*(?P<name>[^“”\",.]{1,80}?)\s+(?:" + _VERBS + r")\b", re.I)
# Before a quote: `NAME said: “` / `According to NAME, “`
_BEFORE = re.compile(r"(?P<name>[^.“”\"]{1,80}?)\s+(?:" + _VERBS + r")(?:\s+\w+)?\s*[:,]\s*$", re.I)
_ACCORDING = re.compile(r"according to\s+(?P<name>[^,“”\"]{1,80}),?\s*$", re.I)
_PERSON = re.compile(r"\b[A-Z][a-z]+\.?(?:\s+[A-Z][\w’'-]+)+")  # "Bob Diaz", "Capt. Jeff Scroggin"
_STATEMENT = 40  # an unattributed quote this long, ending a sentence, is someone's words
_MIN_OVERLAP = 12  # characters of a sentence that must lie inside a quotation to count as quoted


def quotations(text: str) -> list[Span]:
    """(start, end) of each quotation, quote marks included; a paragraph that opens with a quote
    mark while the previous one is still open continues that quotation."""
    out: list[Span] = []
    start: int | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if start is None and ch in OPENING and _opens(text, i):
            start = i
        elif start is not None and ch in CLOSING and i > start and not (ch == '"' and _opens(text, i)):
            out.append((start, i + 1))
            start = None
        elif start is not None and text.startswith("\n\n", i):
            # End of paragraph inside an open quote: it continues only if the next paragraph reopens.
            j = i
            while j < len(text) and text[j].isspace():
                j += 1
            if j >= len(text) or text[j] not in OPENING:
                out.append((start, i))
                start = None
            i = j
            continue
        i += 1
    if start is not None:
        out.append((start, len(text)))
    return out


def _opens(text: str, i: int) -> bool:
    """A straight quote at `i` opens (follows a space or line start) rather than closes."""
    if text[i] == "“":
        return True
    return i == 0 or text[i - 1].isspace() or text[i - 1] in "([—–-"


def attribute(text: str, sentences: Sequence[Span]) -> list[str]:
    """The speaker of each sentence span ("" when the sentence is not a quotation)."""
    quotes = quotations(text)
    speakers = _speakers(text, quotes, sentences)
    out = []
    for s, e in sentences:
        best, overlap = "", 0
        for (qs, qe), who in zip(quotes, speakers, strict=True):
            inside = min(e, qe) - max(s, qs)
            if inside > overlap:
                best, overlap = who, inside
        out.append(best if overlap >= min(_MIN_OVERLAP, e - s) else "")
    return out


def _speakers(text: str, quotes: list[Span], sentences: Sequence[Span]) -> list[str]:
    named: list[str] = []  # speakers named so far, for "he said"
    found: list[str] = []
    ends = [e for _, e in sentences]  # sorted: sentences come in order and don't overlap
    for qs, qe in quotes:
        who = _after(text, qe, ends) or _before(text, qs)
        if who and who.lower() in _PRONOUNS:
            who = _resolve(text, qs, named)
        found.append(who)
        if who:
            named.append(who)
    # A quote with no attribution of its own belongs to the speaker of its paragraph
    # (`“A.” said X. “B.”`), or the quotation it continues.
    paragraphs = [_paragraph(text, qs) for qs, _ in quotes]
    first: dict[int, str] = {}  # paragraph -> the first speaker attributed in it
    for para, who in zip(paragraphs, found, strict=True):
        if who:
            first.setdefault(para, who)
    for i, (qs, qe) in enumerate(quotes):
        if not found[i] and paragraphs[i] in first and _statement(text, qs, qe):
            found[i] = first[paragraphs[i]]
    return found


def _statement(text: str, start: int, end: int) -> bool:
    """Someone's words rather than a name or scare quote: ends in punctuation inside the marks,
    and is long or opens a sentence."""
    inner = text[start + 1 : end].rstrip("”\"' \n")
    if not inner.endswith((".", "?", "!", ",")):
        return False
    before = text[max(0, start - 200) : start].rstrip()  # enough to see how the sentence before ends
    return end - start >= _STATEMENT or not before or before[-1] in ".?!:" or text[start - 2 : start] == "\n\n"


def _after(text: str, end: int, ends: Sequence[int]) -> str:
    """The attribution right after a quotation, up to the end of its sentence (the first
    sentence that ends at or after the quote)."""
    at = bisect.bisect_left(ends, end)
    stop = ends[at] if at < len(ends) else len(text)
    tail = text[end:stop]
    if "\n\n" in tail:
        tail = tail[: tail.index("\n\n")]
    m = _AFTER_VERB_FIRST.match(tail) or _AFTER_NAME_FIRST.match(tail)
    return _clean(m.group("name")) if m else ""


def _before(text: str, start: int) -> str:
    """The attribution just before a quotation, in the same paragraph."""
    head = text[max(0, start - 200) : start]
    head = head[head.rfind("\n\n") + 2 :] if "\n\n" in head else head
    m = _ACCORDING.search(head) or _BEFORE.search(head)
    return _clean(m.group("name")) if m else ""


def _resolve(text: str, at: int, named: list[str]) -> str:
    """A pronoun's speaker: the person named closest before `at` (two or more capitalised
    words, or the last name of someone quoted earlier), in the full form used when first quoted."""
    window = text[max(0, at - 600) : at]
    mentions = [(m.start(), m.group(0)) for m in _PERSON.finditer(window)]
    for who in named:
        last = [w for w in WORD.findall(who.split(",")[0]) if w[:1].isupper()]
        if last:
            mentions += [(m.start(), who) for m in re.finditer(r"\b" + re.escape(last[-1]) + r"\b", window)]
    if not mentions:
        return ""
    _, mention = max(mentions)
    for who in named:  # "Chief Beck" after "Los Angeles Police Chief Charlie Beck" was quoted
        last = [w for w in WORD.findall(who.split(",")[0]) if w[:1].isupper()]
        if last and mention.split()[-1] == last[-1]:
            return who
    return mention


def _clean(name: str) -> str:
    name = " ".join(name.split()).strip(" ,.;:")
    return name


def _paragraph(text: str, offset: int) -> int:
    return text.rfind("\n\n", 0, offset)


def matches(asked: str, speaker: str) -> bool:
    """`speaker` (as attributed) is who the question names: its last word ("Beck", "Department")
    or most of its words appear in the attribution."""
    if not speaker:
        return False
    have = set(_name_words(speaker))
    want = _name_words(asked)
    if not want:
        return False
    return want[-1] in have or sum(w in have for w in want) * 3 >= len(want) * 2


def _name_words(text: str) -> list[str]:
    words = [w.lower() for w in WORD.findall(text.replace("’", "'"))]
    return [w for w in words if w not in STOPWORDS and w != "s" and w not in ("said", "say", "says")]
