"""The quality gate: the full vendored SQuAD 2.0 set through the real engine.

Floors sit just under the figures measured with the shipped reader (README table); a change
that makes answers worse fails here. Nothing was fitted on Computational_complexity_theory
(the reader and the question model saw Normans among the fit splits), so it is held out.
"""

from __future__ import annotations

import pytest

from assistant.evaluation import evaluate
from assistant.testing import assert_abstains, assert_cites

from data import REPO

pytestmark = pytest.mark.slow

EVAL = REPO / "eval" / "squad2-small"
HELD_OUT = "Computational_complexity_theory.txt"
FLOORS = {  # measured with the reader and the default int8 model: held-out / all
    "hit@5": (0.98, 0.97),  # 1.000 / 0.990
    "mrr": (0.89, 0.89),  # 0.903 / 0.903
    "answer_correct": (0.89, 0.87),  # 0.914 / 0.887 (before the reader: 0.827 / 0.802)
    "citation_validity": (1.0, 1.0),  # 1.000 / 1.000
    "citation_recall": (0.88, 0.87),  # 0.904 / 0.887
    "citation_precision": (0.48, 0.52),  # 0.506 / 0.541 (before: 0.659 / 0.678; more is quoted)
    "unanswerable_abstained": (0.07, 0.12),  # 0.090 / 0.138 (before: 0.190 / 0.249)
}
CEILINGS = {"false_abstention": (0.02, 0.04)}  # 0.005 / 0.020


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    e = Engine(Settings(corpus=EVAL / "corpus", data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    e.sync()
    return e


@pytest.fixture(scope="module")
def metrics(engine):
    groups, _ = evaluate.run(engine, evaluate.load_questions(EVAL / "questions.jsonl"))
    print("\n" + evaluate.table(groups))
    return groups


@pytest.mark.parametrize("metric", FLOORS)
def test_metric_stays_above_its_floor(metrics, metric):
    held_out, everything = FLOORS[metric]
    assert metrics[HELD_OUT][metric] >= held_out, (metric, metrics[HELD_OUT][metric])
    assert metrics["all"][metric] >= everything, (metric, metrics["all"][metric])


@pytest.mark.parametrize("metric", CEILINGS)
def test_metric_stays_below_its_ceiling(metrics, metric):
    held_out, everything = CEILINGS[metric]
    assert metrics[HELD_OUT][metric] <= held_out and metrics["all"][metric] <= everything, metrics


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2020 World Series?",
        "What is the boiling point of water at sea level?",
        "How do I reset my password?",
        "What is the recipe for chocolate chip cookies?",
        "Which team did Michael Jordan play for?",
        "What is the capital of Australia?",
        "When does the next train to Boston leave?",
    ],
)
def test_questions_no_document_mentions_are_refused(engine, question):
    assert_abstains(engine.answer(question))


@pytest.mark.parametrize(
    "question, source, contains",
    [
        ("Who was the Norse leader?", "Normans.txt", "Rollo"),
        (
            "What is the term for a task that generally lends itself to being solved by a computer?",
            HELD_OUT,
            "A computational problem is understood to be a task",
        ),
    ],
)
def test_assert_cites_on_real_answers(engine, question, source, contains):
    assert_cites(engine.answer(question), source=source, contains=contains)
