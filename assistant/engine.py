"""The engine: question in, cited `Answer` out. Front ends build one and call `answer`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from assistant import citations, extractive, verify
from assistant.citations import Evidence
from assistant.config import Settings
from assistant.llm import LlmAnswerer, LlmError
from assistant.prompts import EMPTY_QUESTION, NOT_COVERED, REFUSAL
from assistant.types import Answer, Citation
from assistant.verify import Passage
from index.chunking import sentences_of
from index.corpus import CorpusIndex
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.onnx_embedding import OnnxEmbedder
from index.errors import DocumentError
from index.search import Hit
from index.sync import SyncReport


class Engine:
    """Holds the index and models for one corpus; answers many questions with one load."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.llm = (
            LlmAnswerer(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)
            if settings.llm_base_url else None
        )
        self.embedder = embedder or make_embedder(settings)
        self.index = CorpusIndex(
            settings.corpus,
            settings.data_dir,
            self.embedder,
            chroma_url=settings.chroma_url,
            chunk_tokens=settings.chunk_tokens,
            max_bytes=int(settings.max_file_mb * 1024 * 1024),
        )

    def sync(self, *args, **kwargs) -> SyncReport | None:
        """The index's sync (`CorpusIndex.sync`); front ends call it here and never reach into `index`."""
        return self.index.sync(*args, **kwargs)

    def answer(
        self,
        question: str,
        k: int | None = None,
        query: str | None = None,
        exclude: frozenset[tuple[str, int, int]] = frozenset(),
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer `question`, retrieving with `query` when a conversation resolved it to one,
        and never quoting the `exclude`d (source, start, end) spans again. With an LLM
        configured, its draft streams to `on_token` and only verified sentences are kept."""
        question = question.strip()
        if not question:
            return Answer(question, EMPTY_QUESTION, abstained=True)
        hits = self.index.search(query or question, k or self.settings.top_k)
        extractive_answer = self.compose(question, hits, exclude=exclude)
        if self.llm is None or not hits:
            return extractive_answer
        return self.generate(question, hits, extractive_answer, on_token)

    def generate(
        self, question: str, hits: list[Hit], fallback: Answer, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        """The LLM's answer, verified sentence by sentence; `fallback` (extractive) when it fails or nothing holds."""
        try:
            draft = self.llm.draft(question, hits, on_token)
        except LlmError as exc:
            return replace(fallback, llm_error=str(exc))
        trace = {**fallback.trace, "draft": draft}
        if is_refusal(draft):
            return Answer(question, NOT_COVERED, abstained=True, mode="llm", trace=trace)
        passages = [
            Passage(i, h.chunk.source, h.chunk.text,
                    tuple(Evidence(s.source, s.start, s.end, s.text, 0.0, h.chunk.page_at(s.start)) for s in sentences_of(h.chunk)))
            for i, h in enumerate(hits, 1)
        ]
        result = verify.verify(verify.parse(draft), passages, self._similarity)
        trace["dropped_reasons"] = result.reasons
        trace["out_of_range"] = result.out_of_range
        text_of = self.text_reader()
        numbered: dict[tuple[str, int, int], Citation] = {}
        sentences = []
        for sentence, evidence in result.kept:
            valid, _ = citations.verify(evidence, text_of)
            marks = []
            for ev in valid:
                key = (ev.source, ev.start, ev.end)
                if key not in numbered:
                    numbered[key] = Citation(len(numbered) + 1, ev.source, ev.start, ev.end, ev.quote, ev.score, ev.page)
                marks.append(f"[{numbered[key].n}]")
            if marks:
                sentences.append(f"{sentence} {''.join(dict.fromkeys(marks))}")
            else:
                result.dropped.append(sentence)
        if not sentences:
            trace["notice"] = "no sentence of the LLM's answer was supported by its sources; showing quotes instead"
            return replace(fallback, dropped=tuple(result.dropped), trace=trace)
        return Answer(question, " ".join(sentences), tuple(numbered.values()), mode="llm",
                      dropped=tuple(result.dropped), trace=trace)

    def _similarity(self, claims: list[str], sentences: list[str]):
        vectors = self.embedder.embed(claims + sentences)
        return vectors[: len(claims)] @ vectors[len(claims):].T

    def compose(
        self,
        question: str,
        hits: list[Hit],
        keyword_weight: float = extractive.KEYWORD_WEIGHT,
        margin: float = extractive.MARGIN,
        text_of: Callable[[str], str | None] | None = None,
        exclude: frozenset[tuple[str, int, int]] = frozenset(),
    ) -> Answer:
        """The extractive answer from retrieved `hits`: best sentences, verified and cited, or an abstention."""
        ranked = extractive.rank(hits, keyword_weight)
        if exclude:
            ranked = [r for r in ranked if (r.hit.sentence.source, r.hit.sentence.start, r.hit.sentence.end) not in exclude]
        chosen = extractive.choose(ranked, self.settings.min_score, self.settings.max_sentences, margin)
        text_of = text_of or self.text_reader()
        valid, invalid = citations.verify(extractive.as_evidence(chosen), text_of)
        trace = _trace(hits, ranked, chosen, invalid, self.settings.min_score, self.settings.max_sentences)
        if not valid:
            return Answer(question, NOT_COVERED, abstained=True, trace=trace)
        cites = citations.number(citations.merge(valid, text_of))
        return Answer(question, citations.quoted_answer(cites), tuple(cites), trace=trace)

    def text_reader(self) -> Callable[[str], str | None]:
        """A cached `source -> canonical text` lookup (None if the file can't be read now)."""
        @lru_cache(maxsize=None)
        def text_of(source: str) -> str | None:
            try:
                return self.index.text_of(source)
            except (DocumentError, OSError):  # unreadable, or deleted since it was indexed
                return None

        return text_of


def _trace(hits, ranked, chosen, invalid, min_score, max_sentences) -> dict:
    """What `/why` and the eval report show: hits, sentence scores, what was chosen and dropped."""
    chosen_ids = {r.hit.sentence.id for r in chosen}
    return {
        "hits": [
            {"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end, "score": round(h.score, 4),
             "dense_rank": h.dense_rank, "keyword_rank": h.keyword_rank, "page": h.chunk.page,
             "preview": h.chunk.text[:120]}
            for h in hits
        ],
        "sentences": [
            {"source": r.hit.sentence.source, "start": r.hit.sentence.start, "end": r.hit.sentence.end,
             "score": round(r.score, 4), "dense": round(r.hit.dense, 4), "keyword": round(r.hit.keyword, 4),
             "chosen": r.hit.sentence.id in chosen_ids, "text": r.hit.sentence.text}
            for r in ranked[:20]
        ],
        "rejected": [{"source": e.source, "start": e.start, "end": e.end, "reason": "quote no longer matches the file"}
                     for e in invalid],
        "min_score": min_score,
        "max_sentences": max_sentences,
    }


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
