"""Verify an LLM's draft against its sources, claim by claim (used by the draft stage).

Pure post-processing: parse the [n] markers (and the other forms models write), drop
numbers that name no source, score
each sentence's support by the passages it cites (words shared with the best source
sentence, plus embedding similarity; every number in the claim must appear in the
passage), keep only supported sentences, and resolve each kept citation to the exact
span of the source sentence that supports it best.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.cite import Evidence
from index.sentences import ends_with_title
from index.text import WORD, content_words, stem

_LIST = r"\d{1,3}(?:\s*(?:,|;|-|–|and|&)\s*(?:sources?\s*)?\d{1,3})*"
# The forms models write: [1], [1, 2], [1][2], [1-3], [Source 2], 【1】, (1), (Source 2), Source 2.
MARKER = re.compile(
    rf"\[\s*(?:sources?\s*)?({_LIST})\s*\]|【\s*({_LIST})\s*】|\(\s*(?:sources?\s*)?({_LIST})\s*\)"
    rf"|\bsources?\s+({_LIST})\b",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[^\s\[])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
LEXICAL_SHARE = 0.5  # of support that comes from shared words; the rest is embedding similarity
SUPPORT_THRESHOLD = 0.42  # fitted in eval/fit.py; a sentence scoring below it for every source it cites is dropped


@dataclass(frozen=True)
class Claim:
    """One sentence of a generated answer: its words without markers, and the numbers it cites."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Passage:
    """A numbered source: the sentences it holds, each with its exact span."""

    n: int
    source: str
    text: str
    sentences: tuple[Evidence, ...]


@dataclass
class Verified:
    """Kept sentences with their evidence (one per kept citation), and what was dropped and why."""

    kept: list[tuple[str, list[Evidence]]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    out_of_range: list[int] = field(default_factory=list)


def parse(text: str) -> list[Claim]:
    """Sentences with their cited numbers; "[1, 2]", "[1][2]" and "[1-3]" all work, and a
    marker standing after the last full stop belongs to the sentence before it."""
    claims: list[Claim] = []
    pieces: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        if pieces and ends_with_title(pieces[-1]):
            pieces[-1] += " " + piece
        else:
            pieces.append(piece)
    for piece in pieces:
        cited = tuple(n for m in MARKER.finditer(piece) for n in _numbers(_marker_numbers(m)))
        words = _clean(MARKER.sub(" ", piece))
        if not WORD.search(words) and claims:
            claims[-1] = Claim(claims[-1].text, tuple(dict.fromkeys(claims[-1].cited + cited)))
        elif words:
            claims.append(Claim(words, tuple(dict.fromkeys(cited))))
    return claims


def verify(
    claims: Sequence[Claim],
    passages: Sequence[Passage],
    similarity: Callable[[list[str], list[str]], np.ndarray],
    threshold: float = SUPPORT_THRESHOLD,
) -> Verified:
    """Keep each claim that some passage it cites supports; resolve citations to source sentences."""
    by_n = {p.n: p for p in passages}
    out = Verified()
    # A draft with no citation at all ignored the format: each sentence is checked against
    # every source. Where the model did cite, a sentence it left uncited stays unsupported.
    cites_nothing = not any(c.cited for c in claims)
    wanted = [(c, list(by_n) if cites_nothing else [n for n in c.cited if n in by_n]) for c in claims]
    out.out_of_range = sorted({n for c in claims for n in c.cited if n not in by_n})
    pairs = [(ci, p) for ci, (c, ns) in enumerate(wanted) for p in (by_n[n] for n in ns)]
    sentence_texts = [s.quote for _, p in pairs for s in p.sentences]
    sims = similarity([c.text for c, _ in wanted], sentence_texts) if pairs and sentence_texts else None
    offset = 0
    support: dict[int, list[Evidence]] = {}
    for ci, p in pairs:
        claim = wanted[ci][0]
        count = len(p.sentences)
        best, best_score = None, -1.0
        if sims is not None and _numbers_present(claim.text, p.text):
            for j, s in enumerate(p.sentences):
                score = LEXICAL_SHARE * overlap(claim.text, s.quote) + (1 - LEXICAL_SHARE) * float(sims[ci, offset + j])
                if score > best_score:
                    best, best_score = s, score
        offset += count
        if best is not None and best_score >= threshold:
            support.setdefault(ci, []).append(
                Evidence(best.source, best.start, best.end, best.quote, best_score, best.page, best.section)
            )
    for ci, (claim, ns) in enumerate(wanted):
        if ci in support:
            out.kept.append((claim.text, support[ci]))
        else:
            out.dropped.append(claim.text)
            if cites_nothing:
                out.reasons.append("cites no source, and no source supports it")
            else:
                out.reasons.append("cites no source" if not ns else "not supported by the sources it cites")
    return out


def overlap(claim: str, source: str) -> float:
    """Share of the claim's content words that the source sentence contains."""
    words = stemmed_words(claim)
    if not words:
        return 0.0
    have = stemmed_words(source)
    return sum(1 for w in words if w in have) / len(words)


def stemmed_words(text: str) -> set[str]:
    """The stems of `text`'s content words."""
    return set(stem(content_words(text)))


def _numbers_present(claim: str, passage: str) -> bool:
    """A number the passage doesn't state is never supported (the most harmful fabrication)."""
    have = {n.replace(",", "") for n in _NUMBER.findall(passage)}
    return all(n.replace(",", "") in have for n in _NUMBER.findall(claim))


def _marker_numbers(m: re.Match[str]) -> str:
    return next(g for g in m.groups() if g is not None)


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    group = re.sub(r"sources?", " ", group, flags=re.I)
    for part in re.split(r"\s*(?:,|;|and|&)\s*", group):
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"\s*[-–]\s*", part))
            out.extend(range(a, b + 1) if 0 < b - a < 20 else [a, b])
        elif part.strip().isdigit():
            out.append(int(part))
    return out


def _clean(text: str) -> str:
    text = " ".join(text.split())
    return re.sub(r"\s+([.,;:!?])", r"\1", text)
