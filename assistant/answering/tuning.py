"""The fitted values of answering, as one frozen object.

`eval/fit.py` fits them on the Normans questions only (its output is in the README) and
prints a `Tuning` to paste here; it refits by building new `Tuning`s and handing them to
the stages, never by reassigning module globals.
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
    question_model=Linear(
        names=QUESTION_FEATURES,
        mean=(0.5904, 0.1295, 0.0725),
        scale=(0.1129, 0.3653, 0.2594),
        weights=(0.1209, -0.8134, -0.0388),
        bias=-0.187,
    ),
    answerable_threshold=0.477,  # fitted: 4 % of the answerable Normans questions fall below it
)
