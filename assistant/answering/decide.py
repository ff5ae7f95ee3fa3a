"""Stage 5, the decision: answer, or abstain, and why. The only place that decides.

- nothing: no sentence could be quoted;
- off topic: every candidate is too far from the question (best cosine below the topical
  floor, ASSISTANT_MIN_SCORE);
- near miss: on topic, but the chosen sentences don't answer it (a logistic model over the
  reader's chances, the cosine and the question's names the evidence lacks, fitted on every
  domain's fit split; and a "who" or "how long" question is not answered by sentences holding
  no name or length of time near its names): the answer says what the documents mention but
  don't say, with related passages;
- answer.
A name written out ("who is Daryl Gates") or a quote of the person asked about is strong
evidence even where a short question's cosine is low: it is answered. A clause under a heading
the question names word for word ("Governing Law") is on topic whatever its cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.answering.candidates import Neighbourhood
from assistant.answering.question import WANTED, Ask, holds_kind
from assistant.answering.select import Scored, Selection, by, headed, missing_names, names_subject
from assistant.answering.tuning import TUNING, Linear, Tuning

Kind = Literal["answer", "near_miss", "off_topic", "nothing"]

# The kinds of answer whose absence refuses outright (the kind_gate rule). Counted on the fit
# splits, the gate was right (an unanswerable question) more often than wrong only for "who"
# (27 to 16); for dates (6 to 19), numbers (11 to 13), places and reasons it mostly refused
# answerable questions ("opens at nine" is no date to a pattern), so there it is only a
# feature of the question model. "How long" stays gated on the suite's evidence: with no
# duration near the names, "How long has Charlie Beck been the LAPD's chief?" would be
# answered with a sentence that doesn't say.
GATED_KINDS = frozenset({"person", "duration"})


@dataclass(frozen=True)
class Verdict:
    """Whether the chosen sentences answer the question, and if not what they lack."""

    answerable: bool
    probability: float
    features: dict[str, float]
    missing_names: tuple[str, ...] = ()
    missing_kind: str = ""  # a key of WANTED when no sentence holds what the question asks for


@dataclass(frozen=True)
class Decision:
    """What to do with the question, the reason ("" when answering) and the verdict behind it."""

    kind: Kind
    reason: str
    verdict: Verdict | None

    @property
    def answers(self) -> bool:
        return self.kind == "answer"

    @property
    def off_topic(self) -> bool:
        """Nothing the documents say comes near the question (so no LLM is asked either)."""
        return self.kind in ("nothing", "off_topic")


def decide(
    ask: Ask, selection: Selection, near: Neighbourhood, *, min_score: float, tuning: Tuning = TUNING
) -> Decision:
    """The decision stage."""
    chosen = selection.chosen
    if not chosen:
        return Decision("nothing", "nothing retrieved", None)
    rules = tuning.rules
    named = "named" in rules and (names_subject(ask, chosen[0]) or by(ask, chosen[0]))
    verdict = check(
        ask, selection.pool, chosen, near, tuning.question_model, tuning.answerable_threshold, "kind_gate" in rules
    )
    # Off topic: nothing retrieved comes near the question (the best cosine of any candidate,
    # not of the chosen sentence, which the reader may prefer for other reasons).
    top = max(s.ranked.hit.dense for s in selection.scored)
    if "off_topic" in rules and top < min_score and not named and not headed(ask, chosen[0]):
        return Decision("off_topic", f"abstained: top cosine {top:.3f} < {min_score:.3f}", verdict)
    if not verdict.answerable and not named:
        return Decision("near_miss", "abstained: " + _lacks(verdict, tuning.answerable_threshold), verdict)
    return Decision("answer", "", verdict)


def check(
    ask: Ask,
    pool: Sequence[Scored],
    chosen: Sequence[Scored],
    near: Neighbourhood,
    model: Linear | None = None,
    threshold: float | None = None,
    kind_gate: bool = True,
) -> Verdict:
    """Do the `chosen` sentences answer `ask`? `pool` is every sentence that could have been quoted.
    The features are the question model's (it reads those it names): the chosen sentences' chances
    and cosine, the question's names they lack, whether any sentence holds the kind asked for."""
    model = model or TUNING.question_model
    threshold = TUNING.answerable_threshold if threshold is None else threshold
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
        "keyword": chosen[0].ranked.hit.keyword if chosen else 0.0,
        "best": chosen[0].p if chosen else 0.0,
        "context": chosen[0].features.get("context", chosen[0].ranked.hit.dense) if chosen else 0.0,
        "second": pool[1].p if len(pool) > 1 else 0.0,
        "missing_names": float(min(len(missing), 3)),
        "kind_missing": float(kind_missing),
    }
    p = model.probability(features)
    gated = kind_gate and kind_missing and ask.kind in GATED_KINDS
    return Verdict(p >= threshold and not gated, p, features, missing, ask.kind if gated else "")


def _lacks(verdict: Verdict, threshold: float) -> str:
    if verdict.missing_kind:
        return f"no sentence gives {WANTED[verdict.missing_kind]}"
    if verdict.missing_names:
        return f"the evidence lacks {', '.join(verdict.missing_names)} (chance {verdict.probability:.2f})"
    return f"chance it answers {verdict.probability:.2f} < {threshold:.2f}"
