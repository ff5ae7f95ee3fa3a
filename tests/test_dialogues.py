"""The conversational evaluation (eval/dialogues): follow-ups resolved by the rules, through the
real engine; the floor sits just under the measured rules-only figure (README)."""

from __future__ import annotations

import pytest

from assistant.evaluation import evaluate

from data import BECK, BUNDLED, REPO

pytestmark = pytest.mark.slow

DIALOGUES = REPO / "eval" / "dialogues" / "dialogues.jsonl"
RULES_FLOOR = 0.85  # measured 0.857 (24 of 28 turns; 0.964 before the reader); each question alone: 0.679


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    e = Engine(Settings(corpus=BUNDLED, data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    e.sync()
    return e


def test_the_dialogues_are_well_formed():
    dialogues = evaluate.load_dialogues(DIALOGUES)
    text = (BUNDLED / dialogues[0].doc).read_text(encoding="utf-8")
    assert len(dialogues) >= 8 and all(3 <= len(d.turns) <= 5 for d in dialogues)
    assert all(text[s : s + len(t)] == t for d in dialogues for _, _, gold in d.turns for t, s in gold)


def test_rules_resolve_follow_ups_in_the_dialogues(engine):
    rules = evaluate.run_dialogues(engine, evaluate.load_dialogues(DIALOGUES))
    alone = evaluate.run_dialogues(engine, evaluate.load_dialogues(DIALOGUES), alone=True)
    print(rules, alone)
    assert rules["all"] >= RULES_FLOOR and rules["all"] > alone["all"] + 0.2


def test_a_resolved_follow_up_shows_its_query_in_the_answer_json(engine):
    from assistant.conversation.session import Session

    session = Session(engine)
    session.ask(BECK)
    data = session.ask("What about the sheriff?").answer.to_json()
    assert data["query"] == "What did the sheriff say about working with Homeland Security?"
    assert "query" not in session.ask("Who is Daryl Gates?").answer.to_json()  # a new topic is its own query
