"""Our own question set (eval/own) through the real engine: near misses and their twins,
"who is X", and "what did X say". Floors sit at or just under the measured figures (README)."""

from __future__ import annotations

import pytest

from assistant.evaluation import evaluate

from data import REPO

pytestmark = pytest.mark.slow

OWN = REPO / "eval" / "own"
FLOORS = {  # measured on all 63 questions
    "near_miss_refused": 0.15,  # 0.150 (3 of 20; 0.300 before the kind gate was narrowed to who and how long); target 0.70 not met
    "who_is_named": 0.90,  # 1.000
    "said_no_other_speaker": 0.90,  # 1.000
    "said_speaker_quoted": 0.90,  # 1.000
    "citation_validity": 1.0,  # 1.000
}
CEILINGS = {"twin_refused": 0.05}  # 0.050 (1 of 20)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    engine = Engine(Settings(corpus=OWN / "corpus", data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    engine.sync()
    groups, _ = evaluate.run(engine, evaluate.load_questions(OWN / "questions.jsonl"))
    print("\n" + evaluate.table(groups))
    return groups["all"]


def test_the_set_has_every_kind_of_question():
    questions = evaluate.load_questions(OWN / "questions.jsonl")
    kinds = {c: sum(q.category == c for q in questions) for c in ("near-miss", "twin", "who-is", "said")}
    assert len(questions) >= 60 and kinds["near-miss"] == kinds["twin"] >= 20 and min(kinds.values()) >= 10
    for q in questions:  # gold spans are exact text of their documents
        text = (OWN / "corpus" / q.doc).read_text(encoding="utf-8")
        assert all(text[s : s + len(t)] == t for t, s in q.answers + q.others), q.id


@pytest.mark.parametrize("metric", FLOORS)
def test_own_set_metric_stays_above_its_floor(metrics, metric):
    assert metrics[metric] >= FLOORS[metric] - 1e-9, (metric, metrics[metric])


@pytest.mark.parametrize("metric", CEILINGS)
def test_own_set_metric_stays_below_its_ceiling(metrics, metric):
    assert metrics[metric] <= CEILINGS[metric] + 1e-9, (metric, metrics[metric])
