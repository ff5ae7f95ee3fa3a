"""What answering recorded on the way to an answer: plain, typed data made from the stages'
outputs, for `/why`, Slack's "why?" and the eval report.

A `Trace` reads as a mapping too (`trace["sentences"]`), which is its JSON form: the form
`assistant eval --report` writes and scripts read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class TracedAsk:
    """What the question asks for (the question stage)."""

    kind: str
    names: tuple[str, ...]
    subject: str | None
    speaker: str | None


@dataclass(frozen=True)
class TracedHit:
    """A retrieved passage with its scores (the retrieval stage)."""

    source: str
    start: int
    end: int
    score: float
    dense_rank: int | None
    keyword_rank: int | None
    page: int | None
    preview: str


@dataclass(frozen=True)
class TracedSentence:
    """A candidate sentence with its scores and why it was quoted or not."""

    source: str
    start: int
    end: int
    score: float
    dense: float
    keyword: float
    chance: float | None
    speaker: str | None
    chosen: bool
    reason: str
    text: str


@dataclass(frozen=True)
class TracedVerdict:
    """Whether the chosen sentences answer the question (the decide stage)."""

    probability: float
    threshold: float
    features: dict[str, float]
    missing_names: tuple[str, ...]
    missing_kind: str


@dataclass(frozen=True)
class TracedDraft:
    """The LLM's draft and what its check kept (the draft stage). `dropped_reasons` and
    `out_of_range` are None when the draft was never checked (a refusal)."""

    text: str
    cut: str = ""
    dropped_reasons: tuple[str, ...] | None = None
    out_of_range: tuple[int, ...] | None = None
    notice: str = ""


@dataclass(frozen=True)
class Rewrite:
    """An LLM's standalone version of a follow-up: what it said, whether it was used, and why not."""

    text: str
    accepted: bool
    why: str


@dataclass(frozen=True)
class Trace(Mapping[str, Any]):
    """Every stage's record of one answer; empty for a question that could not be asked."""

    ask: TracedAsk | None = None
    hits: tuple[TracedHit, ...] | None = None
    sentences: tuple[TracedSentence, ...] = ()
    rejected: tuple[tuple[str, int, int, str], ...] = ()  # (source, start, end, reason) of quotes no longer in the file
    verdict: TracedVerdict | None = None
    off_topic: bool = False
    weights: dict[str, float] = field(default_factory=dict)
    min_score: float = 0.0
    max_sentences: int = 0
    queries: tuple[str, ...] | None = None
    spaces: tuple[str, ...] | None = None
    draft: TracedDraft | None = None
    rewrite: Rewrite | None = None

    @cached_property
    def _json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.hits is not None:  # answered (or abstained) after retrieval
            out |= self._stages()
        if self.queries is not None:
            out["queries"] = list(self.queries)
        if self.spaces is not None:
            out["spaces"] = list(self.spaces)
        if self.draft is not None:
            d = self.draft
            out["draft"] = d.text
            if d.cut:
                out["draft_cut"] = d.cut
            if d.dropped_reasons is not None:
                out["dropped_reasons"] = list(d.dropped_reasons)
            if d.out_of_range is not None:
                out["out_of_range"] = list(d.out_of_range)
            if d.notice:
                out["notice"] = d.notice
        if self.rewrite is not None:
            out["rewrite"] = asdict(self.rewrite)
        return out

    def _stages(self) -> dict[str, Any]:
        if self.hits is None:
            raise RuntimeError("a trace without hits has no stages")
        return {
            "weights": dict(self.weights),
            "ask": {**asdict(self.ask), "names": list(self.ask.names)} if self.ask else None,
            "answerable": None
            if self.verdict is None
            else {**asdict(self.verdict), "missing_names": list(self.verdict.missing_names)},
            "hits": [asdict(h) for h in self.hits],
            "sentences": [asdict(s) for s in self.sentences],
            "rejected": [{"source": s, "start": a, "end": b, "reason": why} for s, a, b, why in self.rejected],
            "min_score": self.min_score,
            "max_sentences": self.max_sentences,
            "off_topic": self.off_topic,
        }

    def to_json(self) -> dict[str, Any]:
        """The trace as JSON (a copy)."""
        return dict(self._json)

    def __getitem__(self, key: str) -> Any:
        return self._json[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)
