"""The engine: question in, cited `Answer` out. Front ends build one and call `answer`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from assistant import citations, extractive, verify
from assistant.citations import Evidence
from assistant.config import Settings
from assistant.extractive import Ranked
from assistant.llm import Drafter, LlmError, OnToken, OpenAILikeDrafter
from assistant.prompts import EMPTY_QUESTION, NOT_COVERED, REFUSAL
from assistant.types import Answer, Citation
from assistant.verify import Passage
from index.chunking import sentences_of
from index.corpus import CorpusIndex
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.onnx_embedding import OnnxEmbedder
from index.search import Hit, Weights
from index.sync import SyncReport

Span = tuple[str, int, int]  # (source, start, end)
TRACE_SENTENCES = 20  # candidate sentences kept in the trace for /why and the eval report


class Engine:
    """Holds the index and models for one corpus; answers many questions with one load.

    `embedder` and `drafter` default to the configured real ones; tests pass others
    that satisfy the same protocols."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, drafter: Drafter | None = None):
        self.settings = settings
        self.weights = Weights()
        self.drafter: Drafter | None = drafter
        if drafter is None and settings.llm.base_url:
            self.drafter = OpenAILikeDrafter(settings.llm)
        self.embedder = embedder or make_embedder(settings)
        self.index = CorpusIndex(
            settings.corpus,
            settings.data_dir,
            self.embedder,
            chroma_url=settings.chroma_url,
            chunk_tokens=settings.chunk_tokens,
            max_bytes=int(settings.max_file_mb * 1024 * 1024),
        )

    @property
    def generative(self) -> bool:
        """Answers are drafted by an LLM (and verified), rather than quoted."""
        return self.drafter is not None

    def sync(self, **options: Any) -> SyncReport | None:
        """The index's sync (`CorpusIndex.sync`, same keyword options)."""
        return self.index.sync(**options)

    def stats(self) -> dict[str, Any]:
        """Documents and chunks indexed, the model and where the index lives."""
        return self.index.stats()

    def warm_up(self) -> None:
        """Load the model now, so the first question doesn't wait for it."""
        self.embedder.embed(["warm up"])

    def text_of(self, source: str) -> str | None:
        """The canonical text of `source` as the file is now; None if it can't be read."""
        return self.index.text_of(source)

    def answer(
        self,
        question: str,
        *,
        k: int | None = None,
        query: str | None = None,
        exclude: frozenset[Span] = frozenset(),
        on_token: OnToken | None = None,
    ) -> Answer:
        """Answer `question`, retrieving with `query` when a conversation resolved it to one,
        and never quoting the `exclude`d (source, start, end) spans again. With an LLM
        configured, its draft streams to `on_token` and only verified sentences are kept."""
        question = question.strip()
        if not question:
            return Answer(question, EMPTY_QUESTION, abstained=True)
        hits = self.index.search(query or question, k or self.settings.top_k, weights=self.weights)
        extractive_answer = self.compose(question, hits, exclude=exclude)
        if self.drafter is None or not hits:
            return extractive_answer
        return self.generate(question, hits, extractive_answer, on_token=on_token)

    def generate(self, question: str, hits: list[Hit], fallback: Answer, *, on_token: OnToken | None = None) -> Answer:
        """The LLM's answer, verified sentence by sentence; `fallback` (extractive) when it fails or nothing holds."""
        if self.drafter is None:
            return fallback
        try:
            draft = self.drafter.draft(question, hits, on_token)
        except LlmError as exc:
            return replace(fallback, llm_error=str(exc))
        trace = {**fallback.trace, "draft": draft}
        if is_refusal(draft):
            return Answer(question, NOT_COVERED, abstained=True, mode="llm", trace=trace)
        passages = [
            Passage(
                i,
                h.chunk.source,
                h.chunk.text,
                tuple(
                    Evidence(s.source, s.start, s.end, s.text, 0.0, h.chunk.page_at(s.start))
                    for s in sentences_of(h.chunk)
                ),
            )
            for i, h in enumerate(hits, 1)
        ]
        result = verify.verify(verify.parse(draft), passages, self.similarity)
        trace["dropped_reasons"] = result.reasons
        trace["out_of_range"] = result.out_of_range
        numbered: dict[Span, Citation] = {}
        sentences = []
        for sentence, evidence in result.kept:
            valid, _ = citations.verify(evidence, self.text_of)
            marks = []
            for ev in valid:
                key = (ev.source, ev.start, ev.end)
                if key not in numbered:
                    numbered[key] = Citation(
                        len(numbered) + 1, ev.source, ev.start, ev.end, ev.quote, ev.score, ev.page
                    )
                marks.append(f"[{numbered[key].n}]")
            if marks:
                sentences.append(f"{sentence} {''.join(dict.fromkeys(marks))}")
            else:
                result.dropped.append(sentence)
        if not sentences:
            trace["notice"] = "no sentence of the LLM's answer was supported by its sources; showing quotes instead"
            return replace(fallback, dropped=tuple(result.dropped), trace=trace)
        return Answer(
            question,
            " ".join(sentences),
            tuple(numbered.values()),
            mode="llm",
            dropped=tuple(result.dropped),
            trace=trace,
        )

    def similarity(self, claims: list[str], sentences: list[str]) -> np.ndarray:
        """Cosine similarity of each claim to each sentence."""
        vectors = self.embedder.embed(claims + sentences)
        return np.asarray(vectors[: len(claims)] @ vectors[len(claims) :].T)

    def compose(
        self,
        question: str,
        hits: list[Hit],
        *,
        keyword_weight: float = extractive.ANSWER_KEYWORD_WEIGHT,
        margin: float = extractive.MARGIN,
        exclude: frozenset[Span] = frozenset(),
    ) -> Answer:
        """The extractive answer from retrieved `hits`: best sentences, verified and cited, or an abstention."""
        ranked = extractive.rank(hits, keyword_weight)
        allowed = [r for r in ranked if _span(r) not in exclude]
        chosen = extractive.choose(allowed, self.settings.min_score, self.settings.max_sentences, margin)
        valid, invalid = citations.verify(extractive.as_evidence(chosen), self.text_of)
        reasons = _reasons(
            ranked, allowed, chosen, invalid, self.settings.min_score, self.settings.max_sentences, margin
        )
        trace = self._trace(hits, ranked, reasons, keyword_weight, margin)
        if not valid:
            return Answer(question, NOT_COVERED, abstained=True, trace=trace)
        cites = citations.number(citations.merge(valid, self.text_of))
        return Answer(question, citations.quoted_answer(cites), tuple(cites), trace=trace)

    def _trace(
        self,
        hits: Sequence[Hit],
        ranked: Sequence[Ranked],
        reasons: dict[str, str],
        keyword_weight: float,
        margin: float,
    ) -> dict[str, Any]:
        """What `/why` and the eval report show: the weights used, hits, and every candidate
        sentence's scores with the reason it was quoted or not."""
        settings = self.settings
        return {
            "weights": {
                "sentence_share": self.weights.sentence_share,
                "passage_keyword": self.weights.keyword,
                "sentence_keyword": keyword_weight,
                "margin": margin,
            },
            "hits": [
                {
                    "source": h.chunk.source,
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                    "score": round(h.score, 4),
                    "dense_rank": h.dense_rank,
                    "keyword_rank": h.keyword_rank,
                    "page": h.chunk.page,
                    "preview": h.chunk.text[:120],
                }
                for h in hits
            ],
            "sentences": [
                {
                    "source": r.hit.sentence.source,
                    "start": r.hit.sentence.start,
                    "end": r.hit.sentence.end,
                    "score": round(r.score, 4),
                    "dense": round(r.hit.dense, 4),
                    "keyword": round(r.hit.keyword, 4),
                    "chosen": reasons[r.hit.sentence.id] == QUOTED,
                    "reason": reasons[r.hit.sentence.id],
                    "text": r.hit.sentence.text,
                }
                for r in ranked[:TRACE_SENTENCES]
            ],
            "rejected": [
                {
                    "source": r.hit.sentence.source,
                    "start": r.hit.sentence.start,
                    "end": r.hit.sentence.end,
                    "reason": STALE,
                }
                for r in ranked
                if reasons[r.hit.sentence.id] == STALE
            ],
            "min_score": settings.min_score,
            "max_sentences": settings.max_sentences,
        }


QUOTED = "quoted"
STALE = "quote no longer matches the file"
EXCLUDED = "already quoted earlier in this conversation"


def _span(r: Ranked) -> Span:
    return (r.hit.sentence.source, r.hit.sentence.start, r.hit.sentence.end)


def _reasons(
    ranked: Sequence[Ranked],
    allowed: Sequence[Ranked],
    chosen: Sequence[Ranked],
    invalid: Sequence[Evidence],
    min_score: float,
    max_sentences: int,
    margin: float,
) -> dict[str, str]:
    """Why each candidate sentence was quoted or not, as the engine decided it."""
    allowed_ids = {r.hit.sentence.id for r in allowed}
    chosen_ids = {r.hit.sentence.id for r in chosen}
    stale = {(e.source, e.start, e.end) for e in invalid}
    top = allowed[0] if allowed else None
    out = {}
    for r in ranked:
        sid = r.hit.sentence.id
        if sid not in allowed_ids:
            out[sid] = EXCLUDED
        elif sid in chosen_ids:
            out[sid] = STALE if _span(r) in stale else QUOTED
        elif top is not None and top.hit.dense < min_score:
            out[sid] = f"abstained: top cosine {top.hit.dense:.3f} < {min_score:.3f}"
        elif top is not None and r.score < top.score - margin:
            out[sid] = f"more than {margin:.2f} below the best"
        else:
            out[sid] = f"below the top {max_sentences}"
    return out


def is_refusal(draft: str) -> bool:
    """The LLM said the fixed refusal phrase (give or take case and punctuation)."""

    def norm(text: str) -> str:
        return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())

    return norm(REFUSAL) in norm(draft)


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; both backends give the same vectors, so they share an index."""
    if settings.embedding_backend == "torch":
        return SentenceTransformerEmbedder(settings.embedding_model)
    return OnnxEmbedder(settings.embedding_model, cache_dir=settings.model_dir or settings.data_dir / "models")
