"""One conversation session for every front end: chat and Slack answer through `Session`,
and `/why` shows what the engine recorded, not numbers of its own."""

from __future__ import annotations

import io
import shutil
import threading

import pytest
from rich.console import Console

from data import ARTICLE, BECK, BUNDLED, FOLLOW_UP, RESULTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("session")
    shutil.copytree(BUNDLED, root / "corpus")
    e = Engine(Settings(corpus=root / "corpus", data_dir=root / "data"), embedder=embedder)
    e.sync()
    return e


def test_a_session_resolves_a_follow_up_answers_and_records_the_turn(engine):
    from assistant.conversation.session import Session

    session = Session(engine)
    first = session.ask(BECK)
    second = session.ask(FOLLOW_UP)
    assert session.last is second and len(session.conversation.turns) == 2
    assert "Chief Beck" in second.resolved.carried and second.resolved.query != FOLLOW_UP
    assert any(RESULTS in c.quote for c in second.answer.citations)
    assert first.answer.citations and not first.resolved.carried
    session.reset()
    assert session.last is None and not session.ask(FOLLOW_UP).resolved.carried


def test_a_cancelled_question_is_not_part_of_the_conversation(engine):
    from assistant.conversation.session import Session

    session = Session(engine)
    cancelled = threading.Event()
    cancelled.set()
    turn = session.ask(BECK, cancelled=cancelled)
    assert turn.answer.citations and session.last is None


def test_chat_and_slack_give_the_follow_up_the_same_answer_as_a_session(engine, tmp_path):
    """The terminal chat and the Slack responder both answer through a Session: same turns, same answers."""
    from assistant.conversation.session import Session
    from assistant.types import Answer
    from bots.repl import Chat
    from bots.slack.responder import Responder
    from bots.state import Job, State

    expected = Session(engine)
    expected.ask(BECK)
    want = expected.ask(FOLLOW_UP).answer

    chat = Chat(engine, Console(file=io.StringIO(), width=200))
    chat.handle(BECK)
    chat.handle(FOLLOW_UP)
    assert chat.session.last is not None and chat.session.last.answer.to_json() == want.to_json()

    responder = Responder(engine, State(f"sqlite:///{tmp_path}/state.db"))

    def ask(question: str, thread: str) -> Answer:
        # As a replica does: answer against the stored conversation, then store the turn.
        payload = {"question": question, "channel": "C1", "thread_ts": thread, "user": "U1"}
        turn, spaces = responder.converse(payload)
        responder.finish(Job("", payload), turn, spaces)
        return turn.answer

    ask(BECK, "1.0")
    assert ask(FOLLOW_UP, "1.0").to_json() == want.to_json()
    other = ask(FOLLOW_UP, "2.0")  # another thread: a conversation of its own
    assert other.to_json() != want.to_json() or not other.citations


def test_why_shows_the_weights_and_reasons_the_engine_recorded(engine):
    from assistant.conversation.session import Session
    from bots.repl import render_why
    from index.search import Weights

    saved = engine.weights
    engine.weights = Weights(keyword=0.3, sentence_share=0.7)
    try:
        session = Session(engine)
        session.ask(BECK)
        turn = session.ask("What else did he say?")
    finally:
        engine.weights = saved
    trace = turn.answer.trace
    assert trace["weights"]["sentence_share"] == 0.7 and trace["weights"]["passage_keyword"] == 0.3
    shown = " ".join(render_why(turn).plain.split())
    assert "0.7 × best sentence + 0.3 × passage" in shown and "cosine + 0.3 × BM25" in shown
    assert f"cosine + {trace['weights']['sentence_keyword']:g} × BM25" in shown
    reasons = [s["reason"] for s in trace["sentences"]]
    assert "already quoted earlier in this conversation" in reasons  # "what else" skipped the first answer's quotes
    assert "quoted" in reasons
    for s in trace["sentences"][:10]:
        assert f"{s['source']}:{s['start']}-{s['end']}" in shown and f"[{s['reason']}]" in shown
    assert all(s["source"] == ARTICLE for s in trace["sentences"])


def test_why_gives_the_abstention_threshold_as_the_reason(engine):
    from assistant.conversation.session import Session
    from bots.repl import render_why

    turn = Session(engine).ask("Who won the 2020 World Series?")
    assert turn.answer.abstained
    reasons = {s["reason"] for s in turn.answer.trace["sentences"]}
    assert len(reasons) == 1 and reasons.pop().startswith("abstained: top cosine")
    assert "abstained: top cosine" in render_why(turn).plain
