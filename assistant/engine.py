"""The engine: question in, cited `Answer` out. Front ends build one and call `answer`.

It owns the spaces, their indexes and the models; answering itself is the stages of
`assistant.answering`, which `answer` runs in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant import links
from assistant.answering.candidates import gather
from assistant.answering.cite import cite
from assistant.answering.decide import decide
from assistant.answering.draft import draft
from assistant.answering.explain import Extracted, explain
from assistant.answering.question import Question, read, spelled_out
from assistant.answering.reader import MODEL, OnnxReader, Reader
from assistant.answering.retrieve import retrieve, search, unspace
from assistant.answering.select import select
from assistant.answering.tuning import TUNING, Tuning
from assistant.config import Settings
from assistant.llm.drafter import Drafter, OnStage, OnToken, OpenAILikeDrafter, Rewriter
from assistant.prompts import EMPTY_QUESTION, NO_SPACE
from assistant.spaces import Space, split_source
from assistant.spaces import load as load_spaces
from assistant.trace import Trace
from assistant.types import Answer, Citation, SourceSpan
from index.contained import NoSuchDocument, contained
from index.corpus import CorpusIndex
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.errors import Error
from index.onnx_embedding import OnnxEmbedder
from index.search import Hit, Weights
from index.sync import SyncReport


class Engine:
    """Holds the index and models for one corpus; answers many questions with one load.

    `embedder`, `drafter` and `rewriter` default to the configured real ones (with an LLM
    configured, one client drafts answers and rewrites follow-ups); tests pass others that
    satisfy the same protocols."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        drafter: Drafter | None = None,
        rewriter: Rewriter | None = None,
        spaces: Sequence[Space] | None = None,
        reader: Reader | None = None,
    ):
        self.settings = settings
        # The learned reader scores candidate sentences (eval/train_reader.py); without its
        # weights the earlier logistic sentence model does.
        self.reader: Reader | None = reader or (OnnxReader() if MODEL.exists() else None)
        self.weights = Weights()
        self.tuning: Tuning = TUNING  # the fitted values of answering (eval/fit.py refits by replacing it)
        self.drafter: Drafter | None = drafter
        self.rewriter: Rewriter | None = rewriter
        if settings.llm.base_url and (drafter is None or rewriter is None):
            client = OpenAILikeDrafter(settings.llm)
            self.drafter = drafter or client
            self.rewriter = rewriter or client
        self.embedder = embedder or make_embedder(settings)
        if spaces is None:
            spaces = load_spaces(settings.spaces) if settings.spaces else [Space("", settings.corpus)]
        self.spaces = list(spaces)
        # Named spaces: sources are "space/path" inside the engine, and citations name their space.
        self.named = any(s.name for s in self.spaces)
        self.indexes = {
            s.name: CorpusIndex(
                s.corpus,
                settings.data_dir,
                self.embedder,
                chroma=settings.chroma_server,
                chunk_tokens=settings.chunk_tokens,
                max_bytes=int(settings.max_file_mb * 1024 * 1024),
            )
            for s in self.spaces
        }

    @property
    def index(self) -> CorpusIndex:
        """The index of the first space (the only one without a spaces file)."""
        return next(iter(self.indexes.values()))

    @property
    def generative(self) -> bool:
        """Answers are drafted by an LLM (and verified), rather than quoted."""
        return self.drafter is not None

    def sync(self, **options: Any) -> SyncReport | None:
        """Every space's sync (`CorpusIndex.sync`, same keyword options), as one report;
        None if another process is syncing one of them."""
        reports = self.sync_each(**options)
        if len(reports) == 1:
            return next(iter(reports.values()))
        if any(r is None for r in reports.values()):
            return None
        return SyncReport.combine([(name, r) for name, r in reports.items() if r is not None])

    def sync_each(self, **options: Any) -> dict[str, SyncReport | None]:
        """Each space's own sync report, by space name."""
        return {name: index.sync(**options) for name, index in self.indexes.items()}

    def stats(self) -> dict[str, Any]:
        """Documents and chunks indexed (in every space), the model and where the index lives."""
        each = [index.stats() for index in self.indexes.values()]
        if len(each) == 1:
            return each[0]
        return {**each[0], "documents": sum(e["documents"] for e in each), "chunks": sum(e["chunks"] for e in each)}

    def warm_up(self) -> None:
        """Load the model and open each local index now (caught up with its store), so the first
        question waits for neither and the watcher follows the store from the start."""
        self.embedder.embed(["warm up"])
        for index in self.indexes.values():
            index.local  # noqa: B018 - opening it is the point

    def link(self, citation: Citation) -> str | None:
        """Where people read a citation's source: its space's URL template, else ASSISTANT_SOURCE_URL."""
        template = next((s.source_url for s in self.spaces if s.name == citation.space and s.source_url), None)
        return links.link(template or self.settings.source_url, citation)

    def documents(self, spaces: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """(space, source) of every document indexed in `spaces` (all if None), sorted."""
        return sorted(
            (name, source)
            for name, index in self.indexes.items()
            if spaces is None or name in spaces
            for source in index.store.files()
        )

    def locate(self, source: str) -> Path | None:
        """The file behind a sync report's `source` ("space/path" with spaces), if it is one inside its folder."""
        space, path = split_source(source, self.named)
        index = self.indexes.get(space or "")
        try:
            return contained(index.root, path) if index is not None else None
        except Error:
            return None

    def document(self, name: str, space: str | None = None) -> str:
        """The canonical text of document `name` in `space` (None: the one folder, without a
        spaces file): the one way a front end reads a document a person or request names. The
        name must be one the space's index holds, read inside its folder; anything else raises
        NoSuchDocument, the same whether or not such a file exists. Callers check first that
        the space is one the asker may see."""
        index = self.indexes.get(space or "") if self.named == (space is not None) else None
        if index is None:
            raise NoSuchDocument()
        return index.document(name)

    def text_of(self, source: str, space: str | None = None) -> str | None:
        """The canonical text of `source` (in `space`, or "space/path" inside the engine) as the
        file is now; None if it can't be read."""
        if space is None:
            head, rest = split_source(source, self.named)
            if head in self.indexes:
                space, source = head, rest
        index = self.indexes.get(space) if space is not None else self.index
        return index.text_of(source) if index is not None else None

    def answer(
        self,
        question: str,
        *,
        k: int | None = None,
        query: str | None = None,
        understood: str | None = None,
        queries: Sequence[str] = (),
        exclude: frozenset[SourceSpan] = frozenset(),
        on_token: OnToken | None = None,
        spaces: Sequence[str] | None = None,
        on_stage: OnStage | None = None,
    ) -> Answer:
        """Answer `question` from the `spaces` named (every space if None; no other space is
        searched, so nothing of it can be quoted). A conversation passes what it resolved: `query` to retrieve with,
        `understood` (the follow-up written out as a question of its own, which is what the
        answer reads and the LLM is asked), further `queries` whose hits are added (an LLM's
        rewrite, which so can add passages but never lose the rules' ones), and spans never
        to quote again. With an LLM configured, its draft streams to `on_token` and only
        verified sentences are kept; `on_stage` hears "writing" and "checking" as that goes.

        The stages, each called once, in order: question, retrieve, then (`extract`)
        candidates, select, decide, cite, and last draft."""
        asked = read(question, understood)
        if asked.problem:
            text = EMPTY_QUESTION if not asked.text else asked.problem
            return Answer(asked.text[:200], text, abstained=True, error=asked.problem)
        if spaces is not None and not spaces:
            return Answer(asked.text, NO_SPACE, abstained=True)
        k = k or self.settings.top_k
        found = retrieve(self.indexes, [query or asked.query, *queries], k, spaces, self.weights, self.named)
        spelled = spelled_out(asked.ask.names, " ".join(h.chunk.text for h in found.hits))
        if spelled:  # "Do I need MFA?" searched again as "... (multi-factor authentication)"
            more = f"{query or asked.query} ({'; '.join(spelled)})"
            found = retrieve(self.indexes, [*found.queries, more], k, spaces, self.weights, self.named)
        extracted = self.extract(asked, found.hits, exclude)
        extractive = extracted.cited.answer
        read_as = understood or asked.text
        if read_as != asked.text or found.queries != [asked.text]:
            extractive = replace(extractive, query=read_as if read_as != asked.text else found.queries[0])
        answer, drafted = draft(
            read_as,
            found.hits,
            extracted.decision,
            extractive,
            drafter=self.drafter,
            exclude=exclude,
            similarity=self.similarity,
            text_of=self.text_of,
            on_token=on_token,
            on_stage=on_stage,
        )
        trace = self._explain(asked, found.hits, extracted, retrieval=found, drafted=drafted)
        answer = replace(answer, trace=trace)
        return unspace(answer) if self.named else answer

    def extract(self, asked: Question, hits: list[Hit], exclude: frozenset[SourceSpan] = frozenset()) -> Extracted:
        """What to quote from `hits`, and whether to answer at all: the stages candidates,
        select, decide and cite, each called once, in order."""
        settings, tuning = self.settings, self.tuning
        candidates = gather(hits, asked.ask, exclude, tuning.keyword_weight)
        selection = select(
            asked.ask,
            candidates,
            self.similarity,
            max_sentences=settings.max_sentences,
            tuning=tuning,
            reader=self.reader,
        )
        decision = decide(asked.ask, selection, candidates.near, min_score=settings.min_score, tuning=tuning)
        cited = cite(asked.text, asked.ask, decision, selection, self.text_of)
        return Extracted(candidates, selection, decision, cited)

    def _explain(self, asked: Question, hits: list[Hit], extracted: Extracted, **more: Any) -> Trace:
        settings = self.settings
        return explain(
            asked,
            hits,
            extracted,
            weights=self.weights,
            tuning=self.tuning,
            min_score=settings.min_score,
            max_sentences=settings.max_sentences,
            **more,
        )

    def search(self, queries: Sequence[str], k: int, spaces: Sequence[str] | None = None) -> list[Hit]:
        """The top `k` passages of each query in each of `spaces` (all if None), merged into one
        ranked list (each passage once, at its best score)."""
        return search(self.indexes, queries, k, spaces, self.weights, self.named)

    def similarity(self, claims: list[str], sentences: list[str]) -> np.ndarray:
        """Cosine similarity of each claim to each sentence."""
        vectors = self.embedder.embed(claims + sentences)
        return np.asarray(vectors[: len(claims)] @ vectors[len(claims) :].T)


def _onnx(settings: Settings) -> Embedder:
    return OnnxEmbedder(
        settings.embedding_model,
        cache_dir=settings.models,
        precision=settings.embedding_precision,
    )


def _torch(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(settings.embedding_model)


# Embedding backends by the name ASSISTANT_EMBEDDING_BACKEND gives; both give the same fp32
# vectors, so they share an index (int8 ones have an index of their own).
EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {"onnx": _onnx, "torch": _torch}


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder."""
    return EMBEDDERS[settings.embedding_backend](settings)
