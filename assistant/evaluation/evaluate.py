"""Evaluation: run gold questions through the engine and score retrieval, answers, citations
and abstention. The metric functions are pure so they can be tested on hand-made cases."""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answering.cite import quote_matches
from assistant.types import Answer
from index.errors import Error

if TYPE_CHECKING:
    from assistant.engine import Engine

Span = tuple[int, int]


@dataclass(frozen=True)
class GoldQuestion:
    """One evaluation record: answers are (text, start) spans in `doc`'s text."""

    id: str
    question: str
    doc: str
    answerable: bool
    answers: tuple[tuple[str, int], ...] = ()
    # Our own set (eval/own) sorts questions: "near-miss" and its answerable "twin", "who-is",
    # and "said" (answers are the speaker's words, `others` everybody else's quotes).
    category: str = ""
    others: tuple[tuple[str, int], ...] = ()
    split: str = ""  # a domain's questions are split by document: "fit" (fit and tune on these) or "check"
    # "span": answers are exact answer spans (SQuAD); "passage": the passages that answer, so a
    # citation inside one (not holding all of it) is the gold one.
    evidence: str = "span"
    history: tuple[str, ...] = ()  # earlier turns of the conversation, asked first in one session
    # The document of each answer where they are not all in `doc` (passages of several files).
    answer_docs: tuple[str, ...] = ()

    def gold_by_doc(self) -> dict[str, tuple[tuple[str, int], ...]]:
        """The gold spans grouped by the document they are in."""
        docs = self.answer_docs or (self.doc,) * len(self.answers)
        out: dict[str, list[tuple[str, int]]] = {}
        for d, a in zip(docs, self.answers, strict=True):
            out.setdefault(d, []).append(a)
        return {d: tuple(v) for d, v in out.items()}


def _records(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSONL file with their line numbers, blank lines skipped; a file that
    can't be read or a line that isn't a JSON object is an `Error` naming the file and line."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise Error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise Error(f"{path}: a folder without {QUESTIONS} beside a {CORPUS}/ folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Error(f"{path}: can't be read as UTF-8 text ({exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise Error(
                f"{path} line {n}: not JSON ({exc.args[0] if exc.args else exc}); expected JSONL questions"
            ) from None
        if not isinstance(record, dict):
            raise Error(f"{path} line {n}: not a JSON object; expected JSONL questions") from None
        yield n, record


def _spans(items: Iterable[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
    return tuple((a["text"], int(a["start"])) for a in items)


def load_questions(path: Path) -> list[GoldQuestion]:
    """The gold questions of a JSONL file; an `Error` naming the file and line if one is malformed."""
    out = []
    for n, r in _records(path):
        try:
            out.append(_question(r))
        except (KeyError, TypeError, ValueError) as exc:
            raise Error(
                f"{path} line {n}: not a gold question ({type(exc).__name__}: {exc}); see docs/quality.md"
            ) from None
    if not out:
        raise Error(f"{path}: no questions in it")
    return out


def _question(r: dict[str, Any]) -> GoldQuestion:
    return GoldQuestion(
        r["id"],
        r["question"],
        r["doc"],
        bool(r["answerable"]),
        _spans(r.get("answers", [])),
        r.get("category", ""),
        _spans(r.get("others", [])),
        r.get("split", ""),
        r.get("evidence", "span"),
        tuple(r.get("history", ())),
        tuple(a.get("doc", r["doc"]) for a in r.get("answers", []))
        if any("doc" in a for a in r.get("answers", []))
        else (),
    )


QUESTIONS = "questions.jsonl"
CORPUS = "corpus"


def domains_in(folder: Path) -> dict[str, Path]:
    """The domains of an evaluation folder, by name: the folder itself if it holds
    `questions.jsonl` and `corpus/` (one domain), else each subfolder that does."""
    if (folder / QUESTIONS).is_file() and (folder / CORPUS).is_dir():
        return {folder.name: folder}
    return {
        d.name: d
        for d in sorted(folder.iterdir())
        if d.is_dir() and (d / QUESTIONS).is_file() and (d / CORPUS).is_dir()
    }


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCT = set(string.punctuation) | set("“”‘’–—")


def answer_correct(answer_text: str, gold: Sequence[tuple[str, int]]) -> bool:
    """A gold answer appears in the answer (both normalised)."""
    hay = f" {normalize(answer_text)} "
    return any(normalize(t) and f" {normalize(t)} " in hay for t, _ in gold)


def retrieval_rank(
    hits: Sequence[dict], doc: str, gold: Sequence[tuple[str, int]], passage: bool = False
) -> int | None:
    """1-based rank of the first hit of `doc` whose span contains a gold answer start (shares
    text with a gold passage, for `passage` evidence)."""
    for rank, h in enumerate(hits, 1):
        if h["source"] == doc and any(
            (h["start"] < s + len(t) and s < h["end"]) if passage else h["start"] <= s < h["end"] for t, s in gold
        ):
            return rank
    return None


def citation_valid(c: dict[str, Any], text_of: Callable[[str], str | None]) -> bool:
    """A citation in answer JSON whose quote is exactly its source's text at its offsets, in
    every place it names (`also`: the same words elsewhere)."""
    return all(quote_matches(text_of(p["source"]), p["start"], p["end"], c["quote"]) for p in [c, *c.get("also", ())])


def covers_gold(c: dict, doc: str, gold: Sequence[tuple[str, int]], passage: bool = False) -> bool:
    """The citation span, or one of its other places, contains a whole gold answer span (lies
    inside a gold passage, for `passage` evidence)."""
    return any(
        p["source"] == doc
        and any(
            (s <= p["start"] and p["end"] <= s + len(t)) if passage else p["start"] <= s and s + len(t) <= p["end"]
            for t, s in gold
        )
        for p in [c, *c.get("also", ())]
    )


def paragraph_of(text: str, offset: int) -> Span:
    """The blank-line-delimited paragraph holding `offset`."""
    start = text.rfind("\n\n", 0, offset)
    end = text.find("\n\n", offset)
    return (0 if start < 0 else start + 2, len(text) if end < 0 else end)


def citation_precise(c: dict, doc: str, gold: Sequence[tuple[str, int]], text: str, passage: bool = False) -> bool:
    """The citation lies inside the paragraph of a gold answer (inside a gold passage)."""
    if c["source"] != doc:
        return False
    if passage:
        return covers_gold(c, doc, gold, passage=True)
    for _, s in gold:
        p0, p1 = paragraph_of(text, s)
        if p0 <= c["start"] and c["end"] <= p1:
            return True
    return False


def judge(q: GoldQuestion, answer: Answer, text_of: Callable[[str], str | None]) -> dict[str, Any]:
    """Per-question verdicts; metrics are averages of these."""
    data = answer.to_json()
    cites = data["citations"]
    verdict: dict[str, Any] = {
        "id": q.id,
        "doc": q.doc,
        "answerable": q.answerable,
        "abstained": answer.abstained,
        "citations": len(cites),
        "valid_citations": sum(citation_valid(c, text_of) for c in cites),
    }
    if q.answerable:
        passage = q.evidence == "passage"
        gold = q.gold_by_doc()
        ranks = [r for d, g in gold.items() if (r := retrieval_rank(answer.trace.get("hits", []), d, g, passage))]
        texts = {d: text_of(d) or "" for d in gold}
        cited_gold = any(covers_gold(c, d, g, passage) for c in cites for d, g in gold.items())
        verdict.update(
            rank=min(ranks, default=None),
            # A passage is no short answer to find in the text: correct is quoting from it.
            correct=not answer.abstained and (cited_gold if passage else answer_correct(data["answer"], q.answers)),
            cited_gold=cited_gold,
            precise_citations=sum(
                any(citation_precise(c, d, g, texts[d], passage) for d, g in gold.items()) for c in cites
            ),
        )
    if q.category:
        verdict["category"] = q.category
    if q.category == "who-is":
        verdict["named"] = not answer.abstained and any(_mentions(c["quote"], q.answers) for c in cites)
    if q.category == "said":
        verdict["speaker_quoted"] = any(_overlaps(c, q.doc, q.answers) for c in cites)
        verdict["other_speaker"] = any(_overlaps(c, q.doc, q.others) for c in cites)
    return verdict


def _mentions(quote: str, gold: Sequence[tuple[str, int]]) -> bool:
    return any(normalize(t) in normalize(quote) for t, _ in gold)


def _overlaps(c: dict, doc: str, spans: Sequence[tuple[str, int]]) -> bool:
    """The citation shares text with one of the gold spans."""
    return c["source"] == doc and any(c["start"] < s + len(t) and s < c["end"] for t, s in spans)


def summarize(verdicts: Iterable[dict[str, Any]]) -> dict[str, float | int]:
    """Aggregate metrics over a set of verdicts."""
    vs = list(verdicts)
    ans = [v for v in vs if v["answerable"]]
    una = [v for v in vs if not v["answerable"]]
    n_cites = sum(v["citations"] for v in vs)
    ans_cites = sum(v["citations"] for v in ans)

    def share(xs: list[dict[str, Any]], pred: Callable[[dict[str, Any]], bool]) -> float:
        return sum(1 for x in xs if pred(x)) / len(xs) if xs else float("nan")

    return {
        "questions": len(vs),
        "answerable": len(ans),
        "unanswerable": len(una),
        "hit@1": share(ans, lambda v: v["rank"] == 1),
        "hit@5": share(ans, lambda v: v["rank"] is not None and v["rank"] <= 5),
        "mrr": sum(1 / v["rank"] for v in ans if v["rank"]) / len(ans) if ans else float("nan"),
        "answer_correct": share(ans, lambda v: v["correct"]),
        "citation_validity": sum(v["valid_citations"] for v in vs) / n_cites if n_cites else 1.0,
        "citation_recall": share(ans, lambda v: v["cited_gold"]),
        "citation_precision": sum(v["precise_citations"] for v in ans) / ans_cites if ans_cites else float("nan"),
        "cited_if_retrieved": share(
            [v for v in ans if v["rank"] is not None and v["rank"] <= 5], lambda v: v["cited_gold"]
        ),
        "unanswerable_abstained": share(una, lambda v: v["abstained"]),
        "false_abstention": share(ans, lambda v: v["abstained"]),
        **_categories(vs, share),
    }


def _categories(vs: list[dict[str, Any]], share: Callable) -> dict[str, float]:
    """Figures for our own set's kinds of question (NaN when there are none of a kind)."""
    of = {c: [v for v in vs if v.get("category") == c] for c in ("near-miss", "twin", "who-is", "said")}
    if not any(of.values()):
        return {}
    answered = [v for v in of["said"] if not v["abstained"]]
    return {
        "near_miss_refused": share(of["near-miss"], lambda v: v["abstained"]),
        "twin_refused": share(of["twin"], lambda v: v["abstained"]),
        "who_is_named": share(of["who-is"], lambda v: v["named"]),
        "said_no_other_speaker": share(answered, lambda v: not v["other_speaker"]),
        "said_speaker_quoted": share(of["said"], lambda v: v["speaker_quoted"]),
    }


METRICS = [
    ("hit@1", "retrieval hit@1"),
    ("hit@5", "retrieval hit@5"),
    ("mrr", "retrieval MRR"),
    ("answer_correct", "answer correctness (answerable)"),
    ("citation_validity", "citation validity"),
    ("citation_recall", "citation recall"),
    ("citation_precision", "citation precision"),
    ("cited_if_retrieved", "gold cited, when retrieved in the top 5"),
    ("unanswerable_abstained", "unanswerable abstained"),
    ("false_abstention", "false abstention on answerable"),
    ("near_miss_refused", "near misses refused"),
    ("twin_refused", "their answerable twins refused"),
    ("who_is_named", "who-is answered with the naming sentence"),
    ("said_no_other_speaker", "what-did-X-say quoting no other speaker"),
    ("said_speaker_quoted", "what-did-X-say quoting X"),
]


# Short names a CI step may use for the report's metrics.
ALIASES = {
    "correctness": "answer_correct",
    "validity": "citation_validity",
    "recall": "citation_recall",
    "precision": "citation_precision",
    "abstained": "unanswerable_abstained",
    "refused": "false_abstention",
}


def metric_key(name: str) -> str | None:
    """The report key of a metric named by its key or short name ("correctness"); None if unknown."""
    key = ALIASES.get(name, name).replace("-", "_")
    return key if key in dict(METRICS) else None


def missed_bounds(
    metrics: dict[str, float | int],
    *,
    minimum: Sequence[tuple[str, float]] = (),
    maximum: Sequence[tuple[str, float]] = (),
) -> list[str]:
    """One line per metric outside its bound (a metric not measured, NaN, misses too)."""
    out = []
    for bounds, word, outside in (
        (minimum, "below its floor", float.__lt__),
        (maximum, "above its ceiling", float.__gt__),
    ):
        for key, bound in bounds:
            value = float(metrics.get(key, float("nan")))
            name = next((a for a, k in ALIASES.items() if k == key), key)
            if math.isnan(value):
                out.append(f"{name} was not measured (no questions of that kind), so it can't meet {bound:g}")
            elif outside(value, bound):
                out.append(f"{name} {value:.3f} is {word} {bound:g}")
    return out


def table(groups: dict[str, dict[str, float | int]]) -> str:
    """A Markdown table: one row per metric, one column per group of questions."""
    names = list(groups)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    counts = " | ".join(f"{groups[n]['answerable']} / {groups[n]['unanswerable']}" for n in names)
    lines.append(f"| questions (answerable / unanswerable) | {counts} |")
    for key, label in METRICS:
        if key not in groups.get("all", groups[names[0]]):
            continue
        lines.append(f"| {label} | " + " | ".join(_cell(groups[n].get(key, float("nan"))) for n in names) + " |")
    return "\n".join(lines)


# The columns of the table of domains: what says whether answers hold up in a kind of text.
DOMAIN_COLUMNS = [
    ("hit@5", "hit@5"),
    ("answer_correct", "correct"),
    ("citation_validity", "valid"),
    ("citation_recall", "gold cited"),
    ("cited_if_retrieved", "cited if in top 5"),
    ("citation_precision", "precision"),
    ("false_abstention", "answerable refused"),
    ("unanswerable_abstained", "unanswerable refused"),
]


def domain_table(groups: dict[str, dict[str, float | int]]) -> str:
    """A Markdown table: one row per domain and an "all" row, the key metrics as columns."""
    head = "| domain | questions (answerable / unanswerable) | " + " | ".join(n for _, n in DOMAIN_COLUMNS) + " |"
    lines = [head, "|---|---|" + "---:|" * len(DOMAIN_COLUMNS)]
    for name, m in groups.items():
        cells = " | ".join(_cell(m.get(key, float("nan"))) for key, _ in DOMAIN_COLUMNS)
        lines.append(f"| {name} | {m['answerable']} / {m['unanswerable']} | {cells} |")
    return "\n".join(lines)


def _cell(value: float | int) -> str:
    """A metric as shown; "-" where it was not measured (no questions of its kind), never "nan"."""
    return "-" if math.isnan(float(value)) else f"{float(value):.3f}"


def missed_by_domain(
    groups: dict[str, dict[str, float | int]],
    *,
    minimum: Sequence[tuple[str, float]] = (),
    maximum: Sequence[tuple[str, float]] = (),
) -> list[str]:
    """`missed_bounds` for every row (each domain, and "all"), each line naming its row. A row
    with no questions of a kind (NaN) is not held to that metric; a metric no row measured misses."""
    out = []
    for key, bound, side in [(k, b, "minimum") for k, b in minimum] + [(k, b, "maximum") for k, b in maximum]:
        rows = {name: float(m.get(key, float("nan"))) for name, m in groups.items()}
        if all(math.isnan(v) for v in rows.values()):
            out += missed_bounds({}, **{side: [(key, bound)]})
            continue
        for name, value in rows.items():
            if not math.isnan(value):
                out += [f"{name}: {line}" for line in missed_bounds({key: value}, **{side: [(key, bound)]})]
    return out


def run(
    engine: Engine,
    questions: Sequence[GoldQuestion],
    on_done: Callable[[], None] | None = None,
) -> tuple[dict[str, dict[str, float | int]], list[dict[str, Any]]]:
    """Ask every question through `engine`; return metrics per document (and "all") and per-question records."""
    text_of = engine.text_of
    verdicts, records = [], []
    for q in questions:
        answer = answer_gold(engine, q)
        verdict = judge(q, answer, text_of)
        verdicts.append(verdict)
        records.append(
            {**answer.to_json(), "gold": [t for t, _ in q.answers], "verdict": verdict, "trace": dict(answer.trace)}
        )
        if on_done:
            on_done()
    groups = {doc: summarize(v for v in verdicts if v["doc"] == doc) for doc in sorted({v["doc"] for v in verdicts})}
    groups["all"] = summarize(verdicts)
    return groups, records


def answer_gold(engine: Engine, q: GoldQuestion) -> Answer:
    """The question's answer; after its earlier turns, in one conversation, if it has any."""
    if not q.history:
        return engine.answer(q.question)
    from assistant.conversation.session import Session

    session = Session(engine)
    for turn in q.history:
        session.ask(turn)
    return session.ask(q.question).answer


@dataclass(frozen=True)
class Dialogue:
    """A conversation of gold turns: each question, its standalone form, and the gold evidence spans."""

    id: str
    doc: str
    turns: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...]


def load_dialogues(path: Path) -> list[Dialogue]:
    return [
        Dialogue(
            r["id"],
            r["doc"],
            tuple((t["question"], t.get("standalone") or t["question"], _spans(t["gold"])) for t in r["turns"]),
        )
        for _, r in _records(path)
    ]


class ScriptedRewriter:
    """A rewriter that knows the gold standalone question of every turn: the best a model could do."""

    def __init__(self, dialogues: Sequence[Dialogue]):
        self.standalone = {q: s for d in dialogues for q, s, _ in d.turns}

    def rewrite(self, history: Sequence[tuple[str, str]], question: str) -> str:
        return self.standalone.get(question, question)


def run_dialogues(engine: Engine, dialogues: Sequence[Dialogue], *, alone: bool = False) -> dict[str, float]:
    """Citation hit per turn (a citation shares text with the turn's gold evidence): "turn N" for
    each position and "all". `alone` asks every question with no conversation, as a baseline."""
    from assistant.conversation.session import Session

    hits: dict[int, list[bool]] = {}
    for d in dialogues:
        session = Session(engine)
        for i, (question, _, gold) in enumerate(d.turns, 1):
            if alone:
                session = Session(engine)
            answer = session.ask(question).answer
            hit = any(_overlaps(c.to_json(), d.doc, gold) for c in answer.citations)
            hits.setdefault(i, []).append(hit)
    out = {f"turn {i}": sum(v) / len(v) for i, v in sorted(hits.items())}
    everything = [h for v in hits.values() for h in v]
    out["all"] = sum(everything) / len(everything)
    return out
