"""The fitted values of answering, as one frozen object.

`eval/train_reader.py` fits the question model and its threshold on the fit splits of every
domain (eval/domains, and the Normans questions) and prints them to paste here; the rest
(`eval/fit.py`, Normans only) is the earlier fit: the keyword weight, the keep ratios, and the
sentence model used when no reader is loaded. Refits build new `Tuning`s and hand them to
the stages, never reassign module globals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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
# The hand rules of selection and decision, each switched on by name (eval/train_reader.py
# prints what removing each one does on the check splits):
#   prefer        the asked speaker's quotes and sentences naming a "who is X" subject lead
#   by_topic      a speaker's quotes ordered by closeness to the topic asked about
#   naming_first  a sentence lacking fewer of the question's names leads
#   their_words   only the speaker's own words are quoted when they are among the chosen
#   off_topic     a best cosine under ASSISTANT_MIN_SCORE abstains as off topic
#   kind_gate     no sentence holding the kind of answer asked for (a number, a date...) abstains
#   named         a written-out name or the speaker's quote answers even below the bars
RULES = frozenset({"prefer", "by_topic", "naming_first", "their_words", "off_topic", "kind_gate", "named"})
# Those that earned their place: removing each made the check figures worse (README "Rules"),
# or broke what the check splits hold no question of and the suite does: without off_topic a
# question about nothing in the documents reads as a near miss ("The documents mention won but
# don't say who") with unrelated passages; without by_topic "What did the Sheriff's Department
# say about immigration status?" quotes the wrong one of its statements. their_words moved
# no figure and no case, so it is off.
KEPT = RULES - {"their_words"}
QUESTION_FEATURES = ("dense", "missing_names", "kind_missing")


@dataclass(frozen=True)
class Tuning:
    """Every fitted number the answering stages use."""

    # A sentence's first-order score is its cosine plus this share of its BM25 score.
    keyword_weight: float
    # Per sentence: the chance it holds the answer (select).
    sentence_model: Linear
    # A further sentence is quoted if its chance is at least this share of the best's, or
    # `neighbour_ratio` of it when it is next to the best (select).
    keep_ratio: float
    neighbour_ratio: float
    # Per question: whether the chosen sentences answer it at all, and the chance below
    # which they don't (decide).
    question_model: Linear
    answerable_threshold: float
    # The hand rules in force (of RULES above).
    rules: frozenset[str] = KEPT


TUNING = Tuning(
    keyword_weight=0.4,
    sentence_model=Linear(
        names=SENTENCE_FEATURES,
        mean=(0.289, 0.1371, 0.3058, 0.3487, 0.6296, 0.252, 0.0715, 0.5652),
        scale=(0.1602, 0.2501, 0.1613, 0.1636, 0.3806, 0.4066, 0.16, 0.2381),
        weights=(-0.0844, 0.9128, -0.8646, 0.1599, 0.4225, 0.0131, 0.3244, 0.0871),
        bias=-5.4081,
    ),
    keep_ratio=0.5,
    neighbour_ratio=0.1,
    # Fitted by eval/train_reader.py on the fit splits of every domain, over the reader's chances.
    question_model=Linear(
        names=("best", "second", "dense", "context", "keyword", "missing_names", "kind_missing"),
        mean=(0.5203, 0.3292, 0.5883, 0.5898, 0.7955, 0.0941, 0.0501),
        scale=(0.239, 0.2001, 0.1726, 0.1412, 0.2956, 0.3575, 0.2182),
        weights=(0.0088, 0.7357, 0.4006, 0.1376, -0.1811, -0.4159, -0.0517),
        bias=1.8762,
    ),
    answerable_threshold=0.4151,  # at most 3 % of each fit domain's answerable questions fall below it
)
