"""Stage 3, candidates: every distinct sentence of the retrieved passages, in a first order
(cosine + a share of BM25), with its neighbours; those that may not be quoted are set aside
with their reason (quoted earlier in the conversation, or said by someone other than the
person whose words are asked for)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.question import Ask
from assistant.answering.retrieve import overlaps
from assistant.types import SourceSpan
from index import speakers
from index.search import Hit, SentenceHit

EXCLUDED = "already quoted earlier in this conversation"
HEADER_ROW = "a table's header row: it names the columns, it answers nothing"
NO_WORDS = "no words to quote (a rule or a table's separator row)"
# A Markdown table's separator row, right under its header: | --- | :---: |
_SEPARATOR = re.compile(r"\n[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*(?:\n|$)")


@dataclass(frozen=True)
class Ranked:
    """A candidate sentence with the page of its chunk and its first-order score."""

    hit: SentenceHit
    page: int | None
    score: float


class Neighbourhood:
    """Which candidate sentences are next to each other in the retrieved chunks."""

    def __init__(self, hits: Sequence[Hit]):
        self.next_to: dict[str, set[str]] = {}
        self.text: dict[str, str] = {}
        self.section: dict[str, str] = {}
        for h in hits:
            ids = [sh.sentence.id for sh in h.sentences]
            for i, sh in enumerate(h.sentences):
                self.text[sh.sentence.id] = sh.sentence.text
                self.section[sh.sentence.id] = sh.sentence.section
                self.next_to.setdefault(sh.sentence.id, set()).update(ids[max(0, i - 1) : i] + ids[i + 1 : i + 2])

    def context(self, sid: str) -> str:
        """The sentence with its section's headings and its neighbours."""
        own = [self.section.get(sid, ""), self.text.get(sid, "")]
        return " ".join(own + [self.text[n] for n in sorted(self.next_to.get(sid, ()))]).strip()


@dataclass(frozen=True)
class Candidates:
    """Every candidate (`ranked`, best first), those that may be quoted (`allowed`), the reason
    each of the others was set aside, and who stands next to whom."""

    ranked: list[Ranked]
    allowed: list[Ranked]
    set_aside: dict[str, str]
    near: Neighbourhood


def gather(hits: Sequence[Hit], ask: Ask, exclude: frozenset[SourceSpan], keyword_weight: float) -> Candidates:
    """The candidates stage."""
    ranked = rank(hits, keyword_weight)
    headers = header_rows(hits)
    set_aside: dict[str, str] = {}
    allowed = []
    for r in ranked:
        sentence = r.hit.sentence
        if sentence.id in headers:
            set_aside[sentence.id] = HEADER_ROW
        elif not any(ch.isalnum() for ch in sentence.text):
            set_aside[sentence.id] = NO_WORDS
        elif overlaps(sentence.source, sentence.start, sentence.end, exclude):
            set_aside[sentence.id] = EXCLUDED
        elif ask.speaker and sentence.speaker and not speakers.matches(ask.speaker, sentence.speaker):
            set_aside[sentence.id] = f"said by {sentence.speaker}, not {ask.speaker}"
        else:
            allowed.append(r)
    return Candidates(ranked, allowed, set_aside, Neighbourhood(hits))


def header_rows(hits: Sequence[Hit]) -> set[str]:
    """The ids of sentences that are a Markdown table's header row (a row right above the
    separator row): quoted as an answer they would name a column, not give its value."""
    out = set()
    for h in hits:
        for sh in h.sentences:
            s = sh.sentence
            if s.text.lstrip().startswith("|") and _SEPARATOR.match(h.chunk.text, s.end - h.chunk.start):
                out.add(s.id)
    return out


def rank(hits: Sequence[Hit], keyword_weight: float) -> list[Ranked]:
    """Every distinct sentence of `hits`, best first."""
    seen: dict[str, Ranked] = {}
    for hit in hits:
        for sh in hit.sentences:
            if sh.sentence.id not in seen:  # overlapping chunks share sentences
                seen[sh.sentence.id] = Ranked(
                    sh, hit.chunk.page_at(sh.sentence.start), sh.dense + keyword_weight * sh.keyword
                )
    return sorted(seen.values(), key=lambda r: -r.score)
