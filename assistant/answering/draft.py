"""Stage 7, the draft: with an LLM configured, it writes the answer from the numbered passages
and only what its sources support is kept; the extractive answer stands when the LLM fails,
refuses or says nothing supported. No LLM is asked when nothing the documents say comes near
the question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from assistant.answering import claims
from assistant.answering.cite import Evidence, TextOf, check_quotes, number
from assistant.answering.decide import Decision
from assistant.answering.retrieve import without
from assistant.answering.select import Similarity
from assistant.llm.drafter import Draft, Drafter, LlmError, OnStage, OnToken
from assistant.prompts import NOT_COVERED, REFUSAL
from assistant.trace import TracedDraft
from assistant.types import Answer, SourceSpan
from index.chunking import sentences_of
from index.search import Hit

NOTHING_SUPPORTED = "no sentence of the LLM's answer was supported by its sources; showing quotes instead"


def draft(
    question: str,
    hits: list[Hit],
    decision: Decision,
    extractive: Answer,
    *,
    drafter: Drafter | None,
    exclude: frozenset[SourceSpan],
    similarity: Similarity,
    text_of: TextOf,
    on_token: OnToken | None = None,
    on_stage: OnStage | None = None,
) -> tuple[Answer, TracedDraft | None]:
    """The draft stage: the answer to show, and the draft's record (None if no LLM was asked)."""
    if drafter is None or not hits or decision.off_topic:
        return extractive, None  # nothing the documents say comes near: no model guesses
    shown = without(hits, exclude)  # "what else?": the model doesn't see what was already quoted
    if not shown:
        return extractive, None
    return generate(question, shown, extractive, drafter, similarity, text_of, on_token, on_stage)


def generate(
    question: str,
    hits: list[Hit],
    fallback: Answer,
    drafter: Drafter,
    similarity: Similarity,
    text_of: TextOf,
    on_token: OnToken | None = None,
    on_stage: OnStage | None = None,
) -> tuple[Answer, TracedDraft | None]:
    """The LLM's answer, verified sentence by sentence; `fallback` (extractive) when it fails or nothing holds."""
    stage: Callable[[str], None] = on_stage or (lambda _: None)
    stage("writing")
    try:
        reply = drafter.draft(question, hits, on_token)
    except LlmError as exc:
        return replace(fallback, llm_error=str(exc)), None
    stage("checking")
    text, cut = (reply.text, reply.cut) if isinstance(reply, Draft) else (reply, "")
    record = TracedDraft(text, cut)
    if cut:  # said on whichever answer is shown; an extractive one carries it as the LLM's trouble
        fallback = replace(fallback, llm_error=cut, draft_cut=cut)
    if is_refusal(text):
        return replace(fallback, text=NOT_COVERED, citations=(), abstained=True, mode="llm"), record
    passages = [
        claims.Passage(
            i,
            h.chunk.source,
            h.chunk.text,
            tuple(
                Evidence(s.source, s.start, s.end, s.text, 0.0, h.chunk.page_at(s.start)) for s in sentences_of(h.chunk)
            ),
        )
        for i, h in enumerate(hits, 1)
    ]
    result = claims.verify(claims.parse(text), passages, similarity)
    record = replace(record, dropped_reasons=tuple(result.reasons), out_of_range=tuple(result.out_of_range))
    # Each kept sentence with the spans it cites, numbered in order of first mention.
    first: dict[SourceSpan, Evidence] = {}
    marked: list[tuple[str, list[SourceSpan]]] = []
    for sentence, evidence in result.kept:
        valid, _ = check_quotes(evidence, text_of)
        spans = [(ev.source, ev.start, ev.end) for ev in valid]
        for span, ev in zip(spans, valid, strict=True):
            first.setdefault(span, ev)
        marked.append((sentence, spans))
    cites = number(list(first.values()))  # the same words in several files: one number
    by_quote = {c.quote: c.n for c in cites}
    n_of = {span: by_quote[ev.quote] for span, ev in first.items()}
    sentences = []
    for sentence, spans in marked:
        if spans:
            sentences.append(f"{sentence} {''.join(dict.fromkeys(f'[{n_of[s]}]' for s in spans))}")
        else:
            result.dropped.append(sentence)
    if not sentences:
        return replace(fallback, dropped=tuple(result.dropped)), replace(record, notice=NOTHING_SUPPORTED)
    answer = Answer(
        fallback.question,
        " ".join(sentences),
        tuple(cites),
        mode="llm",
        dropped=tuple(result.dropped),
        query=fallback.query,
        draft_cut=cut or None,
    )
    return answer, record


def is_refusal(draft: str) -> bool:
    """The LLM said the fixed refusal phrase (give or take case and punctuation)."""

    def norm(text: str) -> str:
        return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())

    return norm(REFUSAL) in norm(draft)
