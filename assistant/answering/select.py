"""Stage 4, selection: the one place that orders the candidates and chooses the sentences to
quote.

Each allowed candidate gets its chance of holding the answer (a fitted logistic model over
its similarity, keywords, neighbours, whether it has the kind of answer the question asks
for, the question's names and focus words). Then, in this order: sentences by the person
whose words are asked for and sentences naming the subject of "who is X" go first; among a
speaker's own sentences, those closest to the topic asked about; a sentence that lacks fewer
of the question's names leads. The best few are the pool; the chosen are the best and those
close to it (a neighbour of the best needs less).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.candidates import Candidates, Neighbourhood, Ranked
from assistant.answering.question import SPOKESPERSON, WANTED, Ask, holds_kind, names_of, spelled_out, topic_of
from assistant.answering.reader import SCALARS, Reader, features
from assistant.answering.tuning import TUNING, Linear, Tuning
from index import speakers
from index.sections import SEPARATOR
from index.text import WORD, content_words, idf, idf_unseen, plain, stem

Similarity = Callable[[list[str], list[str]], np.ndarray]


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
class Selection:
    """Every allowed candidate in its final order (`scored`), the best `max_sentences` of them
    (`pool`), and those chosen to be quoted, best first."""

    scored: list[Scored]
    pool: list[Scored]
    chosen: list[Scored]
    keep_ratio: float


def select(
    ask: Ask,
    candidates: Candidates,
    similarity: Similarity,
    *,
    max_sentences: int,
    tuning: Tuning = TUNING,
    keep_ratio: float | None = None,
    reader: Reader | None = None,
) -> Selection:
    """The selection stage: with a `reader`, its chances order the candidates; without one,
    the logistic `tuning.sentence_model` (the earlier, single-article fit)."""
    keep_ratio = tuning.keep_ratio if keep_ratio is None else keep_ratio
    near, rules = candidates.near, tuning.rules
    if reader is not None:
        scored = read(ask, candidates.allowed, near, reader)
    else:
        scored = score(ask, candidates.allowed, near, tuning.sentence_model)  # best chance first
    if "prefer" in rules:
        scored = _prefer(ask, scored)  # the speaker's own words, or the subject named, first
    if "by_topic" in rules:
        scored = _by_topic(ask, scored, similarity)  # the speaker's sentences by closeness to the topic
    if "naming_first" in rules:
        scored = naming_first(ask, scored, near, max_sentences)  # fewer of the question's names missing leads
    pool = scored[:max_sentences]
    chosen = choose(pool, near, max_sentences, keep_ratio, tuning.neighbour_ratio)
    if "their_words" in rules and ask.speaker and any(by(ask, s) for s in chosen):
        chosen = [s for s in chosen if by(ask, s)]  # their words, not the narration beside them
    return Selection(scored, pool, chosen, keep_ratio)


def read(ask: Ask, ranked: Sequence[Ranked], near: Neighbourhood, reader: Reader) -> list[Scored]:
    """Every candidate with the reader's chance that it answers, best first."""
    x = features(ask, ranked, near)
    p = reader.probabilities(x)
    out = [
        Scored(r, float(pi), {n: float(v) for n, v in zip(SCALARS, row[: len(SCALARS)], strict=True)})
        for r, pi, row in zip(ranked, p, x, strict=True)
    ]
    return sorted(out, key=lambda s: -s.p)


def score(ask: Ask, ranked: Sequence[Ranked], near: Neighbourhood, model: Linear | None = None) -> list[Scored]:
    """Every candidate with its chance of holding the answer, best first."""
    model = model or TUNING.sentence_model
    if not ranked:
        return []
    dense = {r.hit.sentence.id: r.hit.dense for r in ranked}
    bags = {r.hit.sentence.id: set(stem(content_words(r.hit.sentence.text))) for r in ranked}
    by_word = idf(bags.values())
    weights = [(w, by_word.get(w, idf_unseen(len(bags)))) for w in ask.focus]
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
    ratio = TUNING.keep_ratio if ratio is None else ratio
    neighbour_ratio = TUNING.neighbour_ratio if neighbour_ratio is None else neighbour_ratio
    if not scored:
        return []
    best = scored[0]
    beside = near.next_to.get(best.id, set())
    return [
        s
        for s in scored[:max_sentences]
        if s is best
        or (
            not _heading(s)  # a title above the answer is no part of what it says
            and (s.p >= best.p * ratio or (s.id in beside and s.p >= best.p * neighbour_ratio))
        )
    ]


HEADING_WORDS = 10  # a heading is a line of at most this many words


def _heading(s: Scored) -> bool:
    """A heading: a Markdown one ("# Parking"), or a short line that ends in no punctuation
    ("Approval of an Offer document", "INTRODUCTION")."""
    text = s.ranked.hit.sentence.text.strip()
    if text.startswith("#"):
        return True
    return "\n" not in text and len(text.split()) <= HEADING_WORDS and text[-1:].isalnum()


def naming_first(ask: Ask, scored: list[Scored], near: Neighbourhood, pool: int) -> list[Scored]:
    """If the best sentence lacks some of the question's names and another of the top `pool`
    lacks fewer, that one leads: evidence must be about what the question names."""
    if not ask.names or len(scored) < 2:
        return scored
    if by(ask, scored[0]):
        return scored  # the speaker's own words: the attribution names them, not each quoted sentence
    top = scored[:pool]
    lacking = [len(missing_names(ask.names, near.context(s.id), s.ranked.hit.sentence.text)) for s in top]
    best = min(range(len(top)), key=lambda i: (lacking[i], i))
    if lacking[best] >= lacking[0]:
        return scored
    return [top[best], *[s for s in scored if s is not top[best]]]


def _prefer(ask: Ask, scored: list[Scored]) -> list[Scored]:
    """Sentences by the person whose words are asked for, sentences naming the subject of
    "who is X", and for "who spoke for X" those naming someone in that role, ahead of the rest
    (each group best first)."""
    return sorted(scored, key=lambda s: not (by(ask, s) or names_subject(ask, s) or names_spokesperson(ask, s)))


def names_spokesperson(ask: Ask, s: Scored) -> bool:
    """ "Who spoke for X?": the sentence names a person in a speaking role for X ("Steve
    Whitmore, a spokesman for the Sheriff's Department")."""
    if not ask.spoke_for:
        return False
    text = s.ranked.hit.sentence.text
    org = {plain(w) for w in WORD.findall(ask.spoke_for) if w.lower() not in ("the", "of", "s")}
    said = {plain(w) for w in WORD.findall(text)}
    people = [n for n in names_of(text) if plain(n) not in org and not n[:1].isdigit()]
    return bool(SPOKESPERSON.search(text)) and len(people) >= 2 and bool(org & said)


def _by_topic(ask: Ask, scored: list[Scored], similarity: Similarity) -> list[Scored]:
    """For "what did X say about Y", X's sentences in order of how close they are to Y: the
    name matches only the sentence that attributes the quote, not the words quoted."""
    theirs = [s for s in scored if by(ask, s)]
    topic = topic_of(ask)
    if len(theirs) < 2 or not topic:
        return scored
    closeness = similarity([topic], [s.ranked.hit.sentence.text for s in theirs])[0]
    ordered = [s for _, s in sorted(zip(closeness, theirs, strict=True), key=lambda x: -x[0])]
    return ordered + [s for s in scored if not by(ask, s)]


def by(ask: Ask, s: Scored) -> bool:
    """The sentence is a quotation of the person whose words the question asks for."""
    return bool(ask.speaker) and speakers.matches(ask.speaker or "", s.ranked.hit.sentence.speaker)


def names_subject(ask: Ask, s: Scored) -> bool:
    """A "who/what is X" question whose X is a name (capitalised) written out in this sentence:
    an exact match of a name is strong evidence even when the short question's cosine is low."""
    subject = ask.subject
    if not subject or not any(w[:1].isupper() for w in subject.split()):
        return False
    return subject.lower() in s.ranked.hit.sentence.text.lower()


HEADING_MIN_WORDS = 2  # a heading of one word ("Fees") names too little to vouch for a topic


def headed(ask: Ask, s: Scored) -> bool:
    """The sentence's own heading (the innermost of its section path with words, not a bare
    clause number) is named by the question, every word of at least two: "Which law governs?
    governing law" under "6 Governing Law › 6.1"."""
    for label in reversed(s.ranked.hit.sentence.section.split(SEPARATOR)):
        words = set(stem(content_words(re.sub(r"[\d.()]+", " ", label))))
        if words:
            return len(words) >= HEADING_MIN_WORDS and words <= set(ask.focus)
    return False


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
            or spelled_out([name], context)
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
