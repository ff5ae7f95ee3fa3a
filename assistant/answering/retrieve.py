"""Stage 2, retrieval: the passages of the visible spaces closest to the question's queries.

With several spaces, a passage's source is written "space/path" from here on, so every later
stage keeps the spaces apart; `unspace` splits the citations back at the end. `without`
blanks out what a conversation already quoted, for the LLM's eyes ("what else?").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from assistant.types import Answer, Citation, SourceSpan
from index.corpus import CorpusIndex
from index.search import Hit, Weights


@dataclass(frozen=True)
class Retrieval:
    """What was searched (each query, in which spaces) and the passages found, best first."""

    queries: list[str]
    spaces: list[str]
    hits: list[Hit]


def retrieve(
    indexes: Mapping[str, CorpusIndex],
    queries: Sequence[str],
    k: int,
    spaces: Sequence[str] | None,
    weights: Weights,
    named: bool,
) -> Retrieval:
    """The retrieval stage: `queries` (blank and repeated ones dropped) in `spaces` (all if None)."""
    searched = list(dict.fromkeys(q for q in queries if q and q.strip()))
    hits = search(indexes, searched, k, spaces, weights, named)
    return Retrieval(searched, list(spaces) if spaces is not None else list(indexes), hits)


def search(
    indexes: Mapping[str, CorpusIndex],
    queries: Sequence[str],
    k: int,
    spaces: Sequence[str] | None,
    weights: Weights,
    named: bool,
) -> list[Hit]:
    """The top `k` passages of each query in each of `spaces` (all if None), merged into one
    ranked list (each passage once, at its best score)."""
    best: dict[tuple[str, str], Hit] = {}
    for name in spaces if spaces is not None else list(indexes):
        index = indexes[name]
        for q in queries:
            for h in index.search(q, k, weights=weights):
                key = (name, h.chunk.id)
                if key not in best or h.score > best[key].score:
                    best[key] = in_space(h, name) if named else h
    return sorted(best.values(), key=lambda h: -h.score)[: k * len(queries)]


def in_space(hit: Hit, space: str) -> Hit:
    """`hit` with its sources written "space/path", so every later step keeps them apart."""
    chunk = replace(hit.chunk, source=f"{space}/{hit.chunk.source}")
    sentences = tuple(replace(sh, sentence=replace(sh.sentence, source=chunk.source)) for sh in hit.sentences)
    return replace(hit, chunk=chunk, sentences=sentences)


def unspace(answer: Answer) -> Answer:
    """Citations as the contract has them: the path in its space, and the space's name."""

    def split(c: Citation) -> Citation:
        space, source = c.source.split("/", 1)
        also = tuple(replace(p, space=head, source=rest) for p in c.also for head, rest in [p.source.split("/", 1)])
        return replace(c, space=space, source=source, also=also)

    return replace(
        answer, citations=tuple(split(c) for c in answer.citations), related=tuple(split(c) for c in answer.related)
    )


def overlaps(source: str, start: int, end: int, spans: frozenset[SourceSpan]) -> bool:
    """[start, end) of `source` shares text with one of `spans` (citations may merge sentences)."""
    return any(src == source and a < end and start < b for src, a, b in spans)


def without(hits: Sequence[Hit], spans: frozenset[SourceSpan]) -> list[Hit]:
    """`hits` with the sentences overlapping `spans` blanked out (same length, so every offset
    still holds) and dropped from their chunks; a chunk with nothing left goes."""
    if not spans:
        return list(hits)
    out = []
    for h in hits:
        c = h.chunk
        gone = [(s, e) for s, e in c.sentences if overlaps(c.source, s, e, spans)]
        if not gone:
            out.append(h)
            continue
        kept = tuple(span for span in c.sentences if span not in gone)
        if not kept:
            continue
        text = list(c.text)
        for s, e in gone:
            text[s - c.start : e - c.start] = " " * (e - s)
        chunk = replace(c, text="".join(text), sentences=kept)
        out.append(
            replace(
                h,
                chunk=chunk,
                sentences=tuple(sh for sh in h.sentences if (sh.sentence.start, sh.sentence.end) in kept),
            )
        )
    return out
