"""Which retrieved sentences carry the answer, and whether any of them does.

Two small fitted logistic models (eval/fit.py, on the Normans questions only):
- per sentence, the chance it holds the answer, from its similarity, keywords, its
  neighbours, whether it has the kind of answer the question asks for and the question's
  names and focus words;
- per question, whether the chosen sentences answer it at all, from the best similarity
  and the question's names and numbers that the evidence lacks.
One rule sits beside them: a question that asks for a number, a date, a length of time,
a place or a person is not answered by sentences that hold none near its names.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assistant.asks import WANTED, Ask, holds_kind
from assistant.extractive import Ranked
from index.search import Hit
from index.text import WORD, content_words, stem


@dataclass(frozen=True)
class Linear:
    """A logistic model over named features, standardised by `mean` and `scale`."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(
            w * (features[n] - m) / s
            for n, m, s, w in zip(self.names, self.mean, self.scale, self.weights, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))


SENTENCE_FEATURES = ("dense", "keyword", "gap", "neighbour", "kind", "names", "focus", "length")
QUESTION_FEATURES = ("dense", "missing_names", "kind_missing")
# Fitted by eval/fit.py on the Normans questions (see its output in the README).
SENTENCE_MODEL = Linear(
    names=("dense", "keyword", "gap", "neighbour", "kind", "names", "focus", "length"),
    mean=(0.289, 0.1371, 0.3058, 0.3487, 0.6296, 0.252, 0.0715, 0.5652),
    scale=(0.1602, 0.2501, 0.1613, 0.1636, 0.3806, 0.4066, 0.16, 0.2381),
    weights=(-0.0844, 0.9128, -0.8646, 0.1599, 0.4225, 0.0131, 0.3244, 0.0871),
    bias=-5.4081,
)
QUESTION_MODEL = Linear(
    names=("dense", "missing_names", "kind_missing"),
    mean=(0.5904, 0.1295, 0.0725),
    scale=(0.1129, 0.3653, 0.2594),
    weights=(0.1209, -0.8134, -0.0388),
    bias=-0.187,
)
ANSWERABLE_THRESHOLD = 0.477  # below this the chosen sentences don't answer (fitted, 4 % of answerable Normans)
KEEP_RATIO = 0.5  # a further sentence is quoted if its chance is at least this share of the best's
NEIGHBOUR_RATIO = 0.1  # ... or this share, when it is next to the best


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with its chance of holding the answer and the features behind it."""

    ranked: Ranked
    p: float
    features: dict[str, float] = field(compare=False)

    @property
    def id(self) -> str:
        return self.ranked.hit.sentence.id


@dataclass(frozen=True)
class Verdict:
    """Whether the chosen sentences answer the question, and if not what they lack."""

    answerable: bool
    probability: float
    features: dict[str, float]
    missing_names: tuple[str, ...] = ()
    missing_kind: str = ""  # a key of asks.WANTED when no sentence holds what the question asks for


class Neighbourhood:
    """Which candidate sentences are next to each other in the retrieved chunks."""

    def __init__(self, hits: Sequence[Hit]):
        self.next_to: dict[str, set[str]] = {}
        self.text: dict[str, str] = {}
        for h in hits:
            ids = [sh.sentence.id for sh in h.sentences]
            for i, sh in enumerate(h.sentences):
                self.text[sh.sentence.id] = sh.sentence.text
                self.next_to.setdefault(sh.sentence.id, set()).update(ids[max(0, i - 1) : i] + ids[i + 1 : i + 2])

    def context(self, sid: str) -> str:
        """The sentence with its neighbours."""
        return " ".join([self.text.get(sid, "")] + [self.text[n] for n in sorted(self.next_to.get(sid, ()))])


def score(ask: Ask, ranked: Sequence[Ranked], near: Neighbourhood, model: Linear | None = None) -> list[Scored]:
    """Every candidate with its chance of holding the answer, best first."""
    model = model or SENTENCE_MODEL
    if not ranked:
        return []
    dense = {r.hit.sentence.id: r.hit.dense for r in ranked}
    bags = {r.hit.sentence.id: set(stem(content_words(r.hit.sentence.text))) for r in ranked}
    idf = _idf(bags.values())
    weights = [(w, idf.get(w, idf_default(len(bags)))) for w in ask.focus]
    total = sum(x for _, x in weights) or 1.0
    top = ranked[0].hit.dense
    out = []
    for r in ranked:
        s = r.hit.sentence
        lower = {plain(w) for w in WORD.findall(s.text)}
        features = {
            "dense": r.hit.dense,
            "keyword": r.hit.keyword,
            "gap": top - r.hit.dense,
            "neighbour": max((dense[n] for n in near.next_to.get(s.id, ()) if n in dense), default=0.0),
            "kind": float(holds_kind(ask.kind, s.text, ask.question)) if ask.kind in WANTED else 0.5,
            "names": sum(plain(n) in lower for n in ask.names) / len(ask.names) if ask.names else 1.0,
            "focus": sum(x for w, x in weights if w in bags[s.id]) / total,
            "length": len(WORD.findall(s.text)) / 40,
        }
        out.append(Scored(r, model.probability(features), features))
    return sorted(out, key=lambda x: -x.p)


def choose(
    scored: Sequence[Scored],
    near: Neighbourhood,
    max_sentences: int,
    ratio: float | None = None,
    neighbour_ratio: float | None = None,
) -> list[Scored]:
    """The best sentence, and those of the next best whose chance is close to it, or a little
    less close when they continue it (a neighbour quoted with it reads as one passage)."""
    ratio = KEEP_RATIO if ratio is None else ratio
    neighbour_ratio = NEIGHBOUR_RATIO if neighbour_ratio is None else neighbour_ratio
    if not scored:
        return []
    best = scored[0]
    beside = near.next_to.get(best.id, set())
    return [
        s
        for s in scored[:max_sentences]
        if s is best or s.p >= best.p * ratio or (s.id in beside and s.p >= best.p * neighbour_ratio)
    ]


def naming_first(ask: Ask, scored: list[Scored], near: Neighbourhood, pool: int) -> list[Scored]:
    """If the best sentence lacks some of the question's names and another of the top `pool`
    lacks fewer, that one leads: evidence must be about what the question names."""
    if not ask.names or len(scored) < 2:
        return scored
    top = scored[:pool]
    lacking = [len(missing_names(ask.names, near.context(s.id), s.ranked.hit.sentence.text)) for s in top]
    best = min(range(len(top)), key=lambda i: (lacking[i], i))
    if lacking[best] >= lacking[0]:
        return scored
    return [top[best], *[s for s in scored if s is not top[best]]]


def check(
    ask: Ask,
    pool: Sequence[Scored],
    chosen: Sequence[Scored],
    near: Neighbourhood,
    model: Linear | None = None,
    threshold: float | None = None,
) -> Verdict:
    """Do the `chosen` sentences answer `ask`? `pool` is every sentence that could have been quoted."""
    model = model or QUESTION_MODEL
    threshold = ANSWERABLE_THRESHOLD if threshold is None else threshold
    context = " ".join(near.context(s.id) for s in chosen)
    quoted = " ".join(s.ranked.hit.sentence.text for s in chosen)
    missing = tuple(missing_names(ask.names, context, quoted))
    kind_missing = ask.kind in WANTED and not any(
        holds_kind(ask.kind, s.ranked.hit.sentence.text, ask.question)
        and not missing_names(ask.names, near.context(s.id), s.ranked.hit.sentence.text)
        for s in pool
    )
    features = {
        "dense": chosen[0].ranked.hit.dense if chosen else 0.0,
        "missing_names": float(min(len(missing), 3)),
        "kind_missing": float(kind_missing),
    }
    p = model.probability(features)
    return Verdict(
        p >= threshold and not kind_missing,
        p,
        features,
        missing,
        ask.kind if kind_missing else "",
    )


def missing_names(names: Sequence[str], context: str, quoted: str) -> list[str]:
    """The question's names absent from the evidence: numbers must be in the quoted sentences
    themselves, other names may be in a neighbouring sentence ("he" refers back) and may be
    the start of a longer word ("Europe" in "European") or differ in accents ("Herve")."""
    around = {plain(w) for w in WORD.findall(context)}
    around_stems = set(stem(sorted(around)))
    said = {plain(w) for w in WORD.findall(quoted)}
    acronyms = {plain(a) for a in _acronyms(context)}
    out = []
    for name in names:
        low = plain(name)
        if name[:1].isdigit():
            if low not in said:
                out.append(name)
        elif not (
            low in around
            or stem([low])[0] in around_stems
            or (len(low) >= 4 and any(w.startswith(low) for w in around))
            or (name.isupper() and len(name) >= 2 and low in acronyms)
        ):
            out.append(name)
    return out


_CAPITALISED_RUN = re.compile(r"[A-Z][\w’'-]*(?:\s+(?:of\s+|the\s+|and\s+)?[A-Z][\w’'-]*)+")


def _acronyms(text: str) -> set[str]:
    """Initials of the capitalised runs of `text` and their parts: "The Los Angeles Police
    Department" gives "LAPD" (and "TLAPD", "LA"...), so "LAPD" in a question is found there."""
    out: set[str] = set()
    for m in _CAPITALISED_RUN.finditer(text):
        initials = "".join(w[0] for w in m.group(0).split() if w[0].isupper())
        out.update(initials[i:j] for i in range(len(initials)) for j in range(i + 2, len(initials) + 1))
    return out


def plain(word: str) -> str:
    """Lowercase, without accents."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(ch))


def _idf(bags: Iterable[set[str]]) -> dict[str, float]:
    bags = list(bags)
    df: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            df[w] = df.get(w, 0) + 1
    n = len(bags)
    return {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}


def idf_default(n: int) -> float:
    """IDF of a word no candidate holds."""
    return math.log((n + 1) / 0.5)
