"""Chunking: pack a document's sentences into chunks that fit the embedder's window.

A chunk is always a slice of the document, `doc.text[start:end]`, and remembers the
sentence spans inside it, so answers can quote sentences without re-splitting.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index import sections, sentences, speakers
from index.documents import Document

Span = tuple[int, int]
_WORD = re.compile(r"\S+")  # a whitespace-separated piece, where an over-long sentence may be cut
DEFAULT_CHUNK_TOKENS = 200  # largest chunk, in model tokens (ASSISTANT_CHUNK_TOKENS)


@dataclass(frozen=True)
class Chunk:
    """A passage of one document; `text == document.text[start:end]`."""

    id: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None
    sentences: tuple[Span, ...] = ()
    page_breaks: tuple[int, ...] = ()  # offsets inside the chunk where a new page begins
    speakers: tuple[str, ...] = ()  # who said each sentence ("" unless quoted); empty when nobody is quoted
    sections: tuple[str, ...] = ()  # each sentence's section path ("9 Term › 9.4"); empty when none has one

    def page_at(self, offset: int) -> int | None:
        """The page holding document offset `offset` (within this chunk); None if unpaged."""
        if self.page is None:
            return None
        return self.page + sum(1 for b in self.page_breaks if b <= offset)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a document, the unit of evidence; `text == document.text[start:end]`."""

    id: str
    source: str
    start: int
    end: int
    text: str
    speaker: str = ""  # who said it, when the sentence is a quotation (index.speakers)
    section: str = ""  # the headings above it, outermost first, joined by " › " (index.sections)


_NUMBER_ONLY = re.compile(r"[\d.()]+|\([a-z]{1,3}\)")


def in_context(s: Sentence) -> str:
    """The sentence as it is keyword-indexed: under its section's headings ("Term and
    Termination: Either party may…"), so a clause whose own words don't name its topic is still
    found by them. Bare clause numbers add nothing and are left out. (Embedded so too, every
    cosine the thresholds read moved and three domains lost: docs/quality.md.)"""
    if not s.section:
        return s.text
    heads = [h for h in s.section.split(sections.SEPARATOR) if not _NUMBER_ONLY.fullmatch(h)]
    return f"{' › '.join(heads)}: {s.text}" if heads else s.text


def chunk_id(source: str, start: int, end: int, text: str) -> str:
    """Deterministic id, so syncing unchanged content twice writes nothing new."""
    return hashlib.sha256(f"{source}\0{start}\0{end}\0{text}".encode()).hexdigest()[:32]


def sentences_of(c: Chunk) -> list[Sentence]:
    """The sentences inside chunk `c`, with ids that don't depend on which chunk holds them."""
    out = []
    for i, (s, e) in enumerate(c.sentences):
        text = c.text[s - c.start : e - c.start]
        speaker = c.speakers[i] if i < len(c.speakers) else ""
        section = c.sections[i] if i < len(c.sections) else ""
        out.append(Sentence(chunk_id(c.source, s, e, text), c.source, s, e, text, speaker, section))
    return out


def unique_sentences(chunks: Sequence[Chunk]) -> list[Sentence]:
    """Sentences of `chunks` once each (overlapping chunks share some)."""
    seen: dict[str, Sentence] = {}
    for c in chunks:
        for sent in sentences_of(c):
            seen.setdefault(sent.id, sent)
    return list(seen.values())


def approx_tokens(texts: Sequence[str]) -> list[int]:
    """Word-piece estimate for when no tokenizer is at hand (about 4 pieces per 3 words)."""
    return [(len(t.split()) * 4 + 2) // 3 for t in texts]


def chunk(
    doc: Document,
    max_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap: int = 1,
    count: Callable[[Sequence[str]], list[int]] = approx_tokens,
) -> list[Chunk]:
    """Split `doc` into chunks of whole sentences, each at most `max_tokens` by `count`.

    Consecutive chunks share their last/first `overlap` sentences, so a fact stated
    across a boundary is whole in at least one chunk. A sentence longer than the
    window is cut at word boundaries.
    """
    markdown = doc.source.lower().endswith((".md", ".markdown"))
    furniture = sections.furniture(doc.text, doc.page_starts)
    outline = sections.outline(doc.text, doc.headings, markdown, furniture)
    spans = sentences.split(doc.text, alone=outline.lines, skip={s for s, _ in furniture})
    sizes = count([doc.text[s:e] for s, e in spans])
    pieces: list[tuple[Span, int]] = []
    for span, size in zip(spans, sizes, strict=True):
        pieces.extend(_cut(doc.text, span, size, max_tokens))
    said = dict(zip((p[0] for p in pieces), speakers.attribute(doc.text, [p[0] for p in pieces]), strict=True))
    placed = {p[0]: sections.SEPARATOR.join(outline.path_at(p[0][0])) for p in pieces}

    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j, total = i, 0
        while j < len(pieces) and (j == i or total + pieces[j][1] <= max_tokens):
            total += pieces[j][1]
            j += 1
        chunks.append(_make(doc, [p[0] for p in pieces[i:j]], said, placed))
        if j >= len(pieces):
            break
        # Step back for overlap, but always move forward.
        i = max(j - overlap, i + 1)
    return chunks


def _make(doc: Document, spans: list[Span], said: dict[Span, str], placed: dict[Span, str]) -> Chunk:
    start, end = spans[0][0], spans[-1][1]
    text = doc.text[start:end]
    page = page_of(doc, start)
    breaks = tuple(p for p in doc.page_starts if start < p < end)
    who = tuple(said.get(s, "") for s in spans)
    where = tuple(placed.get(s, "") for s in spans)
    return Chunk(
        chunk_id(doc.source, start, end, text),
        doc.source,
        start,
        end,
        text,
        page,
        tuple(spans),
        breaks,
        who if any(who) else (),
        where if any(where) else (),
    )


def page_of(doc: Document, offset: int) -> int | None:
    """1-based page holding `offset`, for paged documents (PDF); None otherwise."""
    if not doc.page_starts:
        return None
    page = 0
    for i, p in enumerate(doc.page_starts):
        if p <= offset:
            page = i
    return page + 1


def _cut(text: str, span: Span, size: int, max_tokens: int) -> list[tuple[Span, int]]:
    """A sentence over the window, cut into word-aligned pieces of about `max_tokens`."""
    if size <= max_tokens:
        return [(span, size)]
    words = [(m.start() + span[0], m.end() + span[0]) for m in _WORD.finditer(text[span[0] : span[1]])]
    per_word = size / max(len(words), 1)
    step = max(1, int(max_tokens / per_word))
    out = []
    for k in range(0, len(words), step):
        group = words[k : k + step]
        out.append(((group[0][0], group[-1][1]), int(len(group) * per_word) + 1))
    return out
