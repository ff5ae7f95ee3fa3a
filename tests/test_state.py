"""The state store, on SQLite and on a real PostgreSQL server: exactly-once acceptance under
races, leases and take-over, conversations, feedback, and schema upgrades that keep rows."""

from __future__ import annotations

import json
import threading
import time

import pytest

from bots.state import MAX_TURNS, Job, State, StateError


def race(n: int, make, act) -> list:
    """`n` callers, each with its own connection pool (as separate replicas have), released together."""
    stores = [make() for _ in range(n)]
    go = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        go.wait()
        results[i] = act(stores[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    return results


def test_a_delivery_racing_on_many_replicas_is_accepted_once(state_url):
    State(state_url).close()  # schema first, as the first replica to start creates it
    job = Job("event:Ev1", {"question": "q", "channel": "C1"})
    results = race(8, lambda: State(state_url), lambda s: s.accept(["event:Ev1", "msg:C1:1.0"], job, owner="r"))
    assert results.count(True) == 1
    # A delivery that shares only its message key (the mention's `message` twin) is a duplicate too,
    # and rolls back entirely: its own event key stays free.
    state = State(state_url)
    assert not state.accept(["event:Ev2", "msg:C1:1.0"])
    assert state.accept(["event:Ev2"])


def test_a_question_whose_replica_stopped_renewing_is_taken_over_once(state_url):
    state = State(state_url)
    lease = 3.0  # long enough that the next three calls come well inside it, even on a loaded machine
    state.accept(["event:A"], Job("event:A", {"question": "a"}), owner="dead", lease=lease)
    state.accept(["event:B"], Job("event:B", {"question": "b"}), owner="alive", lease=lease)
    assert state.claim("other", 10) is None  # both leases still run
    state.renew("alive", ["event:B"], 30)
    time.sleep(lease + 0.5)  # what this waits for is the clock itself: A's lease has run out, B's renewed one hasn't
    claims = race(4, lambda: State(state_url), lambda s: s.claim("taker", 10))
    taken = [c for c in claims if c is not None]
    assert [c.id for c in taken] == ["event:A"] and taken[0].payload == {"question": "a"}
    assert taken[0].attempts == 2
    assert state.holds("event:A", "taker") and not state.holds("event:A", "dead")
    state.finish("event:A")
    assert not state.holds("event:A", "taker") and state.claim("x", 10) is None


def test_a_placeholder_travels_with_the_question_to_the_replica_taking_over(state_url):
    state = State(state_url)
    state.accept(["event:P"], Job("event:P", {"question": "p"}), owner="dead", lease=0.1)
    state.set_placeholder("event:P", "1700.1")
    time.sleep(0.2)  # the clock itself: the 0.1 s lease has run out
    job = state.claim("taker", 10)
    assert job is not None and job.placeholder == "1700.1"


def test_a_question_that_keeps_killing_replicas_is_left_alone(state_url):
    state = State(state_url)
    state.accept(["event:K"], Job("event:K", {}), owner="r0", lease=0)
    owners = []
    for n in range(5):
        job = state.claim(f"r{n + 1}", 0)
        owners.append(job and job.attempts)
    assert owners == [2, 3, None, None, None]


def test_conversations_are_followed_from_acceptance_and_keep_their_newest_turns(state_url):
    state = State(state_url)
    assert not state.follows("C1", "1.0") and state.conversation("C1", "1.0") is None
    state.accept(["k1"], Job("k1", {}), owner="r", conversation=("C1", "1.0"), spaces=["hr"])
    assert state.follows("C1", "1.0") and state.conversation("C1", "1.0") == (["hr"], [])
    for n in range(MAX_TURNS + 3):
        state.finish("", conversation=("C1", "1.0"), spaces=["hr"], turn={"n": n})
    spaces, turns = state.conversation("C1", "1.0")
    assert spaces == ["hr"] and [t["n"] for t in turns] == list(range(3, MAX_TURNS + 3))
    state.finish("", conversation=("D1", "user:U1"), turn={"n": 0})  # a DM: created by its first turn
    assert state.conversation("D1", "user:U1") == (None, [{"n": 0}])


def test_feedback_is_listed_with_its_answer_and_filtered_by_time(state_url, tmp_path):
    state = State(state_url)
    old = tmp_path / "feedback.jsonl"
    record = {"time": 1000.0, "user": "U0", "value": "down", "question": "old?", "answer": "a", "citations": []}
    old.write_text(json.dumps(record) + "\n{not json\n", encoding="utf-8")
    assert state.import_feedback_log(old) == 1 and not old.exists()
    answer = {"question": "Who?", "answer": "Beck [1].", "citations": [{"n": 1, "source": "a.txt"}]}
    state.finish("", answer=("key1", answer), channel="C1", user="U1", spaces=["hr"])
    state.record_feedback("key1", "up", "U2", "Beck [1].")
    state.record_feedback("unknown", "down", "U3", "the message as shown")
    rows = state.feedback()
    assert [r["user"] for r in rows] == ["U0", "U2", "U3"]
    assert rows[0]["question"] == "old?"
    assert rows[1]["question"] == "Who?" and rows[1]["citations"][0]["source"] == "a.txt"
    assert rows[1]["spaces"] == ["hr"] and rows[1]["value"] == "up"
    assert rows[2]["question"] is None and rows[2]["answer"] == "the message as shown"
    assert [r["user"] for r in state.feedback(since=2000.0)] == ["U2", "U3"]


def test_an_upgrade_keeps_every_row(state_url, monkeypatch):
    from sqlalchemy import inspect

    from bots import state as module

    state = State(state_url)
    state.accept(["k1"], Job("k1", {"question": "q"}), owner="r", conversation=("C1", "1.0"))
    state.record_feedback("key1", "up", "U1", "m")
    assert state.version == 1
    state.close()
    # A later release adds a column: the database gets it once, rows stay.
    added = lambda conn: conn.exec_driver_sql("ALTER TABLE assistant_feedback ADD COLUMN comment TEXT")  # noqa: E731
    monkeypatch.setattr(module, "MIGRATIONS", [*module.MIGRATIONS, added])
    upgraded = State(state_url)
    assert upgraded.version == 2
    assert "comment" in {c["name"] for c in inspect(upgraded.db).get_columns("assistant_feedback")}
    assert [r["user"] for r in upgraded.feedback()] == ["U1"] and upgraded.follows("C1", "1.0")
    assert State(state_url).version == 2  # opened again: nothing applied twice


@pytest.mark.parametrize(
    "url, says",
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@127.0.0.1/db", "must be sqlite:/// or postgresql+psycopg://"),
        (
            "postgresql://u:secret@127.0.0.1:9/db",
            "cannot open the state store at postgresql+psycopg://u:***@127.0.0.1:9/db",
        ),
    ],
)
def test_a_bad_or_unreachable_store_is_one_clear_error(url, says):
    with pytest.raises(StateError) as err:
        State(url)
    assert says in str(err.value) and "secret" not in str(err.value)


@pytest.mark.slow
def test_assistant_feedback_lists_exports_and_filters_by_date(tmp_path):
    import os
    import subprocess

    from data import SCRIPT

    url = f"sqlite:///{tmp_path}/shared/state.db"
    state = State(url)
    old = tmp_path / "feedback.jsonl"
    records = [
        {"time": 1767225600.0, "user": "U0", "value": "down", "question": "Q0?", "answer": "A0", "citations": []},
        {"time": 1798761600.0, "user": "U1", "value": "up", "question": "Q1?", "answer": "A1 [1].",
         "citations": [{"n": 1, "source": "hr/leave.md", "start": 3, "end": 9}], "spaces": ["hr"]},
    ]  # fmt: skip
    old.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    state.import_feedback_log(old)
    env = {**os.environ, "ASSISTANT_STATE_URL": url, "ASSISTANT_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCRIPT), "feedback", *args], env=env, capture_output=True, text=True, timeout=60)

    exported = [json.loads(line) for line in run("--json").stdout.splitlines()]
    assert [r["time"] for r in exported] == ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"]
    assert "spaces" not in exported[0] and exported[1]["spaces"] == ["hr"]
    assert exported[1]["citations"][0]["source"] == "hr/leave.md"
    shown = run("--since", "2026-06-01").stdout
    assert "Q1?" in shown and "Q0?" not in shown and "👍" in shown and "[1] hr/leave.md:3-9" in shown
    bad = run("--since", "last tuesday")
    assert bad.returncode == 2 and "not a date" in bad.stderr
    empty = run("--since", "2030-01-01")
    assert empty.returncode == 0 and empty.stdout == "" and "no feedback recorded since then" in empty.stderr


def _open_together(folder: str, rounds: int, barrier, results) -> None:
    """One of several processes: each round, open a new SQLite store at the same moment as the others."""
    from pathlib import Path

    from index.local import LocalIndex

    for n in range(rounds):
        barrier.wait()
        try:
            State(f"sqlite:///{folder}/{n}/state.db").close()
            LocalIndex(Path(folder) / str(n) / "local.db")
            results.put("ok")
        except Exception as exc:  # noqa: BLE001 - reported to the test, which names it
            results.put(f"{type(exc).__name__}: {exc}")


def test_replicas_starting_together_on_a_new_sqlite_store_all_open_it(tmp_path):
    """Several processes opening a new SQLite file at the same moment: switching it to WAL gets
    "database is locked" at once in all but one (SQLite's busy timeout doesn't cover it)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes, rounds = 4, 25
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_open_together, args=(str(tmp_path), rounds, barrier, results)) for _ in range(processes)
    ]
    for w in workers:
        w.start()
    try:
        outcomes = [results.get(timeout=120) for _ in range(processes * rounds)]
    finally:
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.kill()
    failed = [o for o in outcomes if o != "ok"]
    assert failed == [], f"{len(failed)} of {len(outcomes)} opens failed, e.g. {failed[0]}"
