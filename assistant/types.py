"""Plain data every front end renders: an `Answer` and its `Citation`s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.trace import Trace

SourceSpan = tuple[str, int, int]  # (source, start, end): a passage of one document


@dataclass(frozen=True)
class Place:
    """Where a citation's words stand again, word for word: another file (a copy, or a near
    copy) or another place in the same one. `quote == text_of(source)[start:end]` holds here too."""

    source: str
    start: int
    end: int
    space: str | None = None

    @property
    def location(self) -> str:
        path = f"{self.space}/{self.source}" if self.space else self.source
        return f"{path}:{self.start}-{self.end}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "start": self.start, "end": self.end}
        if self.space is not None:
            out["space"] = self.space
        return out


@dataclass(frozen=True)
class Citation:
    """Citation `[n]`: `quote == text_of(source)[start:end]`, checked before it is shown."""

    n: int
    source: str
    start: int
    end: int
    quote: str
    score: float
    page: int | None = None
    space: str | None = None  # the space it comes from, when spaces are configured
    also: tuple[Place, ...] = ()  # the same words elsewhere, quoted once here
    section: str = ""  # the headings above the quote, outermost first: "9 Term and Termination › 9.4"

    @property
    def path(self) -> str:
        """Where it is: its file, inside its space when spaces are configured ("hr/leave.md")."""
        return f"{self.space}/{self.source}" if self.space else self.source

    @property
    def location(self) -> str:
        """Its file and offsets, as every front end shows them: "hr/leave.md:120-188"."""
        return f"{self.path}:{self.start}-{self.end}"

    @property
    def titled(self) -> str:
        """Its file and section, as a reader would name the place: "contract.txt › 9 Term › 9.4"."""
        return f"{self.path} › {self.section}" if self.section else self.path

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "score": round(self.score, 4),
        }
        if self.page is not None:
            out["page"] = self.page
        if self.space is not None:
            out["space"] = self.space
        if self.section:
            out["section"] = self.section
        if self.also:
            out["also"] = [p.to_json() for p in self.also]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Citation:
        fields = ("n", "source", "start", "end", "quote", "score", "page", "space", "section")
        also = tuple(Place(**p) for p in data.get("also", ()))
        return cls(**{k: data[k] for k in fields if k in data}, also=also)


@dataclass(frozen=True)
class Answer:
    """An answer whose text carries `[n]` markers, or an abstention with no citations (and
    perhaps `related` passages that touch the question without answering it)."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    mode: str = "extractive"
    dropped: tuple[str, ...] = ()
    llm_error: str | None = None
    trace: Trace = field(default_factory=Trace, compare=False)
    related: tuple[Citation, ...] = ()  # an abstention's closest passages: on topic, not an answer
    query: str | None = None  # the question as answered, when a conversation resolved a follow-up
    draft_cut: str | None = None  # why the LLM's draft was stopped early (token cap, repetition)
    error: str | None = None  # the question couldn't be answered at all (bad input, a failure), in one line

    def to_json(self) -> dict[str, Any]:
        """The answer JSON contract (one object per question; see "Answer JSON" in the docs). A
        question that couldn't be answered at all has "error" and no "answer"."""
        if self.error:
            return {"question": self.question, "abstained": True, "citations": [], "error": self.error}
        out: dict[str, Any] = {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
        }
        if self.query and self.query != self.question:
            out["query"] = self.query
        if self.related:
            out["related"] = [c.to_json() for c in self.related]
        if self.dropped:
            out["dropped"] = list(self.dropped)
        if self.llm_error:
            out["llm_error"] = self.llm_error
        if self.draft_cut:
            out["draft_cut"] = self.draft_cut
        if self.error:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        """The answer back from `to_json` (without its trace), e.g. a stored conversation's."""
        return cls(
            question=data["question"],
            text=data.get("answer", ""),
            citations=tuple(Citation.from_json(c) for c in data.get("citations", [])),
            abstained=data.get("abstained", False),
            mode=data.get("mode", "extractive"),
            dropped=tuple(data.get("dropped", [])),
            llm_error=data.get("llm_error"),
            related=tuple(Citation.from_json(c) for c in data.get("related", [])),
            query=data.get("query"),
            draft_cut=data.get("draft_cut"),
            error=data.get("error"),
        )
