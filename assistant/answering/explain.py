"""The trace of one answer, made from the stages' outputs: what `/why`, Slack's "why?" and the
eval report show, with the reason each candidate sentence was quoted or not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.candidates import Candidates
from assistant.answering.cite import Cited
from assistant.answering.decide import Decision
from assistant.answering.question import Question
from assistant.answering.retrieve import Retrieval
from assistant.answering.select import Scored, Selection
from assistant.answering.tuning import Tuning
from assistant.trace import Trace, TracedAsk, TracedDraft, TracedHit, TracedSentence, TracedVerdict
from index.search import Hit, Weights

QUOTED = "quoted"
STALE = "quote no longer matches the file"
TRACE_SENTENCES = 20  # candidate sentences kept in the trace for /why and the eval report


@dataclass(frozen=True)
class Extracted:
    """The outputs of the stages that choose what to quote: candidates, selection, decision, citations."""

    candidates: Candidates
    selection: Selection
    decision: Decision
    cited: Cited


def explain(
    asked: Question,
    hits: Sequence[Hit],
    extracted: Extracted,
    *,
    weights: Weights,
    tuning: Tuning,
    min_score: float,
    max_sentences: int,
    retrieval: Retrieval | None = None,
    drafted: TracedDraft | None = None,
) -> Trace:
    """Every stage's record of one answer, as plain data."""
    candidates, selection, decision = extracted.candidates, extracted.selection, extracted.decision
    reasons = _reasons(extracted, max_sentences)
    chance = {s.id: s.p for s in selection.scored}
    # The first-order best (so sentences set aside, e.g. quoted earlier, still show), by chance.
    shown = {r.hit.sentence.id: r for r in candidates.ranked[:TRACE_SENTENCES]}
    shown.update({s.id: s.ranked for s in selection.scored[:max_sentences]})
    listed = sorted(shown.values(), key=lambda r: -chance.get(r.hit.sentence.id, -1.0))
    ask, verdict = asked.ask, decision.verdict
    return Trace(
        ask=TracedAsk(ask.kind, tuple(ask.names), ask.subject, ask.speaker),
        hits=tuple(
            TracedHit(
                h.chunk.source,
                h.chunk.start,
                h.chunk.end,
                round(h.score, 4),
                h.dense_rank,
                h.keyword_rank,
                h.chunk.page,
                h.chunk.text[:120],
            )
            for h in hits
        ),
        sentences=tuple(
            TracedSentence(
                r.hit.sentence.source,
                r.hit.sentence.start,
                r.hit.sentence.end,
                round(r.score, 4),
                round(r.hit.dense, 4),
                round(r.hit.keyword, 4),
                round(chance[r.hit.sentence.id], 4) if r.hit.sentence.id in chance else None,
                r.hit.sentence.speaker,
                reasons[r.hit.sentence.id] == QUOTED,
                reasons[r.hit.sentence.id],
                r.hit.sentence.text,
            )
            for r in listed
        ),
        rejected=tuple(
            (r.hit.sentence.source, r.hit.sentence.start, r.hit.sentence.end, STALE)
            for r in candidates.ranked
            if reasons[r.hit.sentence.id] == STALE
        ),
        verdict=None
        if verdict is None
        else TracedVerdict(
            round(verdict.probability, 4),
            tuning.answerable_threshold,
            verdict.features,
            tuple(verdict.missing_names),
            verdict.missing_kind,
        ),
        off_topic=decision.off_topic,
        weights={
            "sentence_share": weights.sentence_share,
            "passage_keyword": weights.keyword,
            "sentence_keyword": tuning.keyword_weight,
            "keep_ratio": selection.keep_ratio,
        },
        min_score=min_score,
        max_sentences=max_sentences,
        queries=tuple(retrieval.queries) if retrieval else None,
        spaces=tuple(retrieval.spaces) if retrieval else None,
        draft=drafted,
    )


def _reasons(extracted: Extracted, max_sentences: int) -> dict[str, str]:
    """Why each candidate was quoted or not, by sentence id."""
    selection, decision, cited = extracted.selection, extracted.decision, extracted.cited
    reasons = dict(extracted.candidates.set_aside)
    for s in selection.scored:
        if s.id in cited.quoted:
            reasons[s.id] = STALE if _span(s) in cited.stale else QUOTED
        elif decision.reason:
            reasons[s.id] = decision.reason
        elif s in selection.pool:
            best = selection.chosen[0].p
            reasons[s.id] = f"chance {s.p:.2f} < {selection.keep_ratio:g} × the best's {best:.2f}"
        else:
            reasons[s.id] = f"below the top {max_sentences}"
    return reasons


def _span(s: Scored) -> tuple[str, int, int]:
    sentence = s.ranked.hit.sentence
    return (sentence.source, sentence.start, sentence.end)
