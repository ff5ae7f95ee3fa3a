"""The engine: question in, cited `Answer` out. Front ends build one and call `answer`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from assistant import answerable, asks, citations, extractive, links, prompts, verify
from assistant.citations import Evidence
from assistant.config import Settings
from assistant.extractive import Ranked
from assistant.llm import Draft, Drafter, LlmError, OnStage, OnToken, OpenAILikeDrafter, Rewriter
from assistant.prompts import EMPTY_QUESTION, MAX_QUESTION_CHARS, NO_SPACE, NOT_COVERED, REFUSAL
from assistant.spaces import Space
from assistant.spaces import load as load_spaces
from assistant.types import Answer, Citation
from assistant.verify import Passage
from index import speakers
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
    ):
        self.settings = settings
        self.weights = Weights()
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

    def text_of(self, source: str, space: str | None = None) -> str | None:
        """The canonical text of `source` (in `space`, or "space/path" inside the engine) as the
        file is now; None if it can't be read."""
        if space is None and self.named and "/" in source:
            head, rest = source.split("/", 1)
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
        exclude: frozenset[Span] = frozenset(),
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
        verified sentences are kept; `on_stage` hears "writing" and "checking" as that goes."""
        question = question.strip()
        problem = question_problem(question)
        if problem:
            return Answer(question[:200], EMPTY_QUESTION if not question else problem, abstained=True, error=problem)
        searched = list(dict.fromkeys(q for q in (query or question, *queries) if q and q.strip()))
        if spaces is not None and not spaces:
            return Answer(question, NO_SPACE, abstained=True)
        hits = self.search(searched, k or self.settings.top_k, spaces)
        asked = understood or question
        extractive_answer = self.compose(question, hits, exclude=exclude, understood=asked)
        extractive_answer.trace["queries"] = searched
        extractive_answer.trace["spaces"] = list(spaces) if spaces is not None else list(self.indexes)
        if asked != question or searched != [question]:
            extractive_answer = replace(extractive_answer, query=asked if asked != question else searched[0])
        if self.drafter is None or not hits or extractive_answer.trace.get("off_topic"):
            return self._spaced(extractive_answer)  # nothing the documents say comes near: no model guesses
        shown = without(hits, exclude)  # "what else?": the model doesn't see what was already quoted
        if not shown:
            return self._spaced(extractive_answer)
        return self._spaced(self.generate(asked, shown, extractive_answer, on_token=on_token, on_stage=on_stage))

    def search(self, queries: Sequence[str], k: int, spaces: Sequence[str] | None = None) -> list[Hit]:
        """The top `k` passages of each query in each of `spaces` (all if None), merged into one
        ranked list (each passage once, at its best score)."""
        best: dict[tuple[str, str], Hit] = {}
        for name in spaces if spaces is not None else list(self.indexes):
            index = self.indexes[name]
            for q in queries:
                for h in index.search(q, k, weights=self.weights):
                    key = (name, h.chunk.id)
                    if key not in best or h.score > best[key].score:
                        best[key] = _in_space(h, name) if self.named else h
        return sorted(best.values(), key=lambda h: -h.score)[: k * len(queries)]

    def _spaced(self, answer: Answer) -> Answer:
        """Citations as the contract has them: the path in its space, and the space's name."""
        if not self.named:
            return answer

        def split(c: Citation) -> Citation:
            space, source = c.source.split("/", 1)
            return replace(c, space=space, source=source)

        return replace(
            answer, citations=tuple(split(c) for c in answer.citations), related=tuple(split(c) for c in answer.related)
        )

    def generate(
        self,
        question: str,
        hits: list[Hit],
        fallback: Answer,
        *,
        on_token: OnToken | None = None,
        on_stage: OnStage | None = None,
    ) -> Answer:
        """The LLM's answer, verified sentence by sentence; `fallback` (extractive) when it fails or nothing holds."""
        if self.drafter is None:
            return fallback
        stage = on_stage or (lambda _: None)
        stage("writing")
        try:
            reply = self.drafter.draft(question, hits, on_token)
        except LlmError as exc:
            return replace(fallback, llm_error=str(exc))
        stage("checking")
        draft, cut = (reply.text, reply.cut) if isinstance(reply, Draft) else (reply, "")
        trace = {**fallback.trace, "draft": draft}
        if cut:  # said on whichever answer is shown; an extractive one carries it as the LLM's trouble
            trace["draft_cut"] = cut
            fallback = replace(fallback, llm_error=cut, draft_cut=cut, trace=trace)
        if is_refusal(draft):
            return replace(fallback, text=NOT_COVERED, citations=(), abstained=True, mode="llm", trace=trace)
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
            fallback.question,
            " ".join(sentences),
            tuple(numbered.values()),
            mode="llm",
            dropped=tuple(result.dropped),
            trace=trace,
            query=fallback.query,
            draft_cut=cut or None,
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
        keep_ratio: float | None = None,
        exclude: frozenset[Span] = frozenset(),
        understood: str | None = None,
    ) -> Answer:
        """The extractive answer from retrieved `hits`: the sentences that carry the answer,
        verified and cited; or an abstention, with related passages when the documents touch
        the question without answering it."""
        settings = self.settings
        keep_ratio = answerable.KEEP_RATIO if keep_ratio is None else keep_ratio
        ask = asks.ask_of(understood or question)
        ranked = extractive.rank(hits, keyword_weight)
        near = answerable.Neighbourhood(hits)
        reasons: dict[str, str] = {}
        allowed = []
        for r in ranked:
            sentence = r.hit.sentence
            if _quoted_before(r, exclude):
                reasons[sentence.id] = EXCLUDED
            elif ask.speaker and sentence.speaker and not speakers.matches(ask.speaker, sentence.speaker):
                reasons[sentence.id] = f"said by {sentence.speaker}, not {ask.speaker}"
            else:
                allowed.append(r)
        scored = answerable.naming_first(
            ask, self._by_topic(ask, _prefer(ask, answerable.score(ask, allowed, near))), near, settings.max_sentences
        )
        pool = scored[: settings.max_sentences]
        chosen = answerable.choose(pool, near, settings.max_sentences, keep_ratio)
        if ask.speaker and any(_by(ask, s) for s in chosen):
            chosen = [s for s in chosen if _by(ask, s)]  # their words, not the narration beside them
        # A name written out ("who is Daryl Gates") or a quote of the person asked about is
        # strong evidence even where a short question's cosine is low.
        named = bool(chosen) and (_names_subject(ask, chosen[0]) or _by(ask, chosen[0]))
        verdict = answerable.check(ask, pool, chosen, near) if chosen else None
        near_miss = False  # on topic, but the evidence doesn't answer: show related passages
        if not chosen:
            outcome = "nothing retrieved"
        elif chosen[0].ranked.hit.dense < settings.min_score and not named:
            outcome = f"abstained: top cosine {chosen[0].ranked.hit.dense:.3f} < {settings.min_score:.3f}"
        elif verdict is not None and not verdict.answerable and not named:
            outcome, near_miss = "abstained: " + _lacks(verdict), True
        else:
            outcome = ""
        quoted = [] if outcome else chosen
        valid, invalid = citations.verify(_evidence(quoted), self.text_of)
        stale = {(e.source, e.start, e.end) for e in invalid}
        quoted_ids = {s.id for s in quoted}
        for s in scored:
            if s.id in quoted_ids:
                reasons[s.id] = STALE if _span(s.ranked) in stale else QUOTED
            elif outcome:
                reasons[s.id] = outcome
            elif s in pool:
                reasons[s.id] = f"chance {s.p:.2f} < {keep_ratio:g} × the best's {chosen[0].p:.2f}"
            else:
                reasons[s.id] = f"below the top {settings.max_sentences}"
        trace = self._trace(hits, ranked, scored, reasons, keyword_weight, keep_ratio, ask, verdict)
        trace["off_topic"] = bool(outcome) and not near_miss
        if near_miss and verdict is not None:
            related = self._related(pool)
            if related:
                text = prompts.missing(ask, verdict, " ".join(c.quote for c in related))
                return Answer(question, text, abstained=True, related=tuple(related), trace=trace)
        if not valid:
            return Answer(question, NOT_COVERED, abstained=True, trace=trace)
        cites = citations.number(citations.merge(valid, self.text_of))
        return Answer(question, citations.quoted_answer(cites), tuple(cites), trace=trace)

    def _by_topic(self, ask: asks.Ask, scored: list[answerable.Scored]) -> list[answerable.Scored]:
        """For "what did X say about Y", X's sentences in order of how close they are to Y: the
        name matches only the sentence that attributes the quote, not the words quoted."""
        theirs = [s for s in scored if _by(ask, s)]
        topic = asks.topic_of(ask)
        if len(theirs) < 2 or not topic:
            return scored
        closeness = self.similarity([topic], [s.ranked.hit.sentence.text for s in theirs])[0]
        ordered = [s for _, s in sorted(zip(closeness, theirs, strict=True), key=lambda x: -x[0])]
        return ordered + [s for s in scored if not _by(ask, s)]

    def _related(self, pool: Sequence[answerable.Scored]) -> list[Citation]:
        """The closest passages of an abstention, checked like citations, best first."""
        valid, _ = citations.verify(_evidence(pool), self.text_of)
        return citations.number(citations.merge(valid, self.text_of))

    def _trace(
        self,
        hits: Sequence[Hit],
        ranked: Sequence[Ranked],
        scored: Sequence[answerable.Scored],
        reasons: dict[str, str],
        keyword_weight: float,
        keep_ratio: float,
        ask: asks.Ask,
        verdict: answerable.Verdict | None,
    ) -> dict[str, Any]:
        """What `/why` and the eval report show: the weights used, hits, the question's ask,
        and every candidate sentence's scores with the reason it was quoted or not."""
        settings = self.settings
        chance = {s.id: s.p for s in scored}
        # The first-order best (so sentences set aside, e.g. quoted earlier, still show), by chance.
        shown = {r.hit.sentence.id: r for r in ranked[:TRACE_SENTENCES]}
        shown.update({s.id: s.ranked for s in scored[: settings.max_sentences]})
        candidates = sorted(shown.values(), key=lambda r: -chance.get(r.hit.sentence.id, -1.0))
        return {
            "weights": {
                "sentence_share": self.weights.sentence_share,
                "passage_keyword": self.weights.keyword,
                "sentence_keyword": keyword_weight,
                "keep_ratio": keep_ratio,
            },
            "ask": {"kind": ask.kind, "names": list(ask.names), "subject": ask.subject, "speaker": ask.speaker},
            "answerable": None
            if verdict is None
            else {
                "probability": round(verdict.probability, 4),
                "threshold": answerable.ANSWERABLE_THRESHOLD,
                "features": verdict.features,
                "missing_names": list(verdict.missing_names),
                "missing_kind": verdict.missing_kind,
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
                    "chance": round(chance[r.hit.sentence.id], 4) if r.hit.sentence.id in chance else None,
                    "speaker": r.hit.sentence.speaker,
                    "chosen": reasons[r.hit.sentence.id] == QUOTED,
                    "reason": reasons[r.hit.sentence.id],
                    "text": r.hit.sentence.text,
                }
                for r in candidates
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


def _in_space(hit: Hit, space: str) -> Hit:
    """`hit` with its sources written "space/path", so every later step keeps them apart."""
    chunk = replace(hit.chunk, source=f"{space}/{hit.chunk.source}")
    sentences = tuple(replace(sh, sentence=replace(sh.sentence, source=chunk.source)) for sh in hit.sentences)
    return replace(hit, chunk=chunk, sentences=sentences)


def without(hits: Sequence[Hit], spans: frozenset[Span]) -> list[Hit]:
    """`hits` with the sentences overlapping `spans` blanked out (same length, so every offset
    still holds) and dropped from their chunks; a chunk with nothing left goes."""
    if not spans:
        return list(hits)
    out = []
    for h in hits:
        c = h.chunk
        gone = [(s, e) for s, e in c.sentences if any(src == c.source and a < e and s < b for src, a, b in spans)]
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


def _quoted_before(r: Ranked, spans: frozenset[Span]) -> bool:
    """The sentence overlaps a span quoted earlier (citations may merge sentences)."""
    s = r.hit.sentence
    return any(source == s.source and start < s.end and s.start < end for source, start, end in spans)


def _evidence(items: Sequence[answerable.Scored]) -> list[Evidence]:
    return extractive.as_evidence([s.ranked for s in items])


def _prefer(ask: asks.Ask, scored: list[answerable.Scored]) -> list[answerable.Scored]:
    """Sentences by the person whose words are asked for, and sentences naming the subject of
    "who is X", ahead of the rest (each group best first)."""
    return sorted(scored, key=lambda s: not (_by(ask, s) or _names_subject(ask, s)))


def _by(ask: asks.Ask, s: answerable.Scored) -> bool:
    """The sentence is a quotation of the person whose words the question asks for."""
    return bool(ask.speaker) and speakers.matches(ask.speaker or "", s.ranked.hit.sentence.speaker)


def _names_subject(ask: asks.Ask, s: answerable.Scored) -> bool:
    """A "who/what is X" question whose X is a name (capitalised) written out in this sentence:
    an exact match of a name is strong evidence even when the short question's cosine is low."""
    subject = ask.subject
    if not subject or not any(w[:1].isupper() for w in subject.split()):
        return False
    return subject.lower() in s.ranked.hit.sentence.text.lower()


def _lacks(verdict: answerable.Verdict) -> str:
    if verdict.missing_kind:
        return f"no sentence gives {asks.WANTED[verdict.missing_kind]}"
    if verdict.missing_names:
        return f"the evidence lacks {', '.join(verdict.missing_names)} (chance {verdict.probability:.2f})"
    return f"chance it answers {verdict.probability:.2f} < {answerable.ANSWERABLE_THRESHOLD:.2f}"


def question_problem(question: str) -> str:
    """Why `question` can't be asked ("" if it can): empty, too long, or with control characters."""
    if not question.strip():
        return "the question is empty"
    if len(question) > MAX_QUESTION_CHARS:
        return f"the question is too long ({len(question):,} characters; at most {MAX_QUESTION_CHARS:,})"
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in question):
        return "the question contains control characters (a NUL byte?)"
    if not any(ch.isalnum() for ch in question):
        return "the question has no words"
    return ""


def is_refusal(draft: str) -> bool:
    """The LLM said the fixed refusal phrase (give or take case and punctuation)."""

    def norm(text: str) -> str:
        return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())

    return norm(REFUSAL) in norm(draft)


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; both backends give the same fp32 vectors, so they share an index
    (int8 ones have an index of their own)."""
    if settings.embedding_backend == "torch":
        return SentenceTransformerEmbedder(settings.embedding_model)
    return OnnxEmbedder(
        settings.embedding_model,
        cache_dir=settings.model_dir or settings.data_dir / "models",
        precision=settings.embedding_precision,
    )
