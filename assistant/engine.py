"""The engine: question in, cited `Answer` out. Front ends build one and call `answer`."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from assistant import citations, extractive
from assistant.config import Settings
from assistant.prompts import EMPTY_QUESTION, NOT_COVERED
from assistant.types import Answer
from index.corpus import CorpusIndex
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.errors import DocumentError
from index.search import search
from index.sync import SyncReport


class Engine:
    """Holds the index and models for one corpus; answers many questions with one load."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or SentenceTransformerEmbedder(settings.embedding_model)
        self.index = CorpusIndex(
            settings.corpus,
            settings.data_dir,
            self.embedder,
            chroma_url=settings.chroma_url,
            chunk_tokens=settings.chunk_tokens,
        )

    def sync(self, on_file: Callable[[str], None] | None = None) -> SyncReport:
        return self.index.sync(on_file)

    def answer(self, question: str, k: int | None = None) -> Answer:
        question = question.strip()
        if not question:
            return Answer(question, EMPTY_QUESTION, abstained=True)
        k = k or self.settings.top_k
        qvec = self.embedder.embed([question])[0]
        hits = search(question, k, self.index.store, self.embedder, vector=qvec)
        scored = extractive.score_sentences(qvec, hits, self.embedder)
        chosen = extractive.choose(scored, self.settings.min_score, self.settings.max_sentences)
        text_of = self.text_reader()
        valid, invalid = citations.verify(extractive.as_evidence(chosen), text_of)
        trace = {
            "hits": [
                {"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end, "score": round(h.score, 4),
                 "dense_rank": h.dense_rank, "keyword_rank": h.keyword_rank}
                for h in hits
            ],
            "sentences": [
                {"source": s.source, "start": s.start, "end": s.end, "score": round(s.score, 4),
                 "sentence_score": round(s.sentence_score, 4), "chosen": s in chosen}
                for s in scored[:20]
            ],
            "rejected": [{"source": e.source, "start": e.start, "end": e.end, "reason": "quote no longer matches the file"}
                         for e in invalid],
            "min_score": self.settings.min_score,
        }
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
            except DocumentError:
                return None

        return text_of
