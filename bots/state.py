"""The state a long-running bot shares across its replicas, in one SQL database.

SQLite (the default, in the data dir) serves several processes on one machine; PostgreSQL
serves several machines. It holds the events already handled (exactly-once across
replicas), each accepted question until it is answered (pending work under a lease any
replica can take over), the conversations of the threads the bot answers in, and every
answer posted with its feedback. Only this module imports SQLAlchemy.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Float, Integer, MetaData, String, Table, Text, delete, event, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from index.errors import Error
from index.sqlite import use_wal

EVENT_TTL = 24 * 3600  # Slack retries within minutes; a day of keys is plenty
DONE_TTL = 7 * 24 * 3600  # finished work is kept a week, for the log's sake
MAX_TURNS = 20  # a conversation keeps its newest turns; resolving reads the last few


class StateError(Error):
    """The state store can't be opened or reached."""


class _Taken(Exception):
    """A key was claimed before: the whole acceptance is rolled back."""


@dataclass(frozen=True)
class Job:
    """An accepted question: where it was asked and where its answer goes, until it is answered."""

    id: str
    payload: dict[str, Any]
    placeholder: str | None = None  # the message a replica posted to stream into, if any
    attempts: int = 1


MD = MetaData()
META = Table("assistant_meta", MD, Column("key", String(64), primary_key=True), Column("value", Text))
EVENTS = Table(
    "assistant_events",
    MD,
    Column("key", String(255), primary_key=True),
    Column("seen", Float, nullable=False, index=True),
)
JOBS = Table(
    "assistant_jobs",
    MD,
    Column("id", String(255), primary_key=True),
    Column("payload", JSON, nullable=False),
    Column("owner", String(64), nullable=False),
    Column("lease_until", Float, nullable=False, index=True),
    Column("created", Float, nullable=False),
    Column("done", Float, index=True),
    Column("placeholder", String(64)),
    Column("attempts", Integer, nullable=False, default=1),
)
CONVERSATIONS = Table(
    "assistant_conversations",
    MD,
    Column("channel", String(64), primary_key=True),
    Column("thread", String(128), primary_key=True),
    Column("spaces", JSON),
    Column("turns", JSON, nullable=False),
    Column("updated", Float, nullable=False),
)
ANSWERS = Table(
    "assistant_answers",
    MD,
    Column("key", String(64), primary_key=True),
    Column("time", Float, nullable=False),
    Column("channel", String(64)),
    Column("user", String(64)),
    Column("answer", JSON, nullable=False),
    Column("spaces", JSON),
)
FEEDBACK = Table(
    "assistant_feedback",
    MD,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False, index=True),
    Column("user", String(64)),
    Column("value", String(16), nullable=False),
    Column("answer_key", String(64)),
    Column("message", Text),
    Column("record", JSON),  # a whole record imported from the old feedback.jsonl
)

# The schema's history: a new database is created as the tables above and stamped with the
# newest version; an existing one gets the steps it hasn't had, in order. To change the
# schema, change the tables above and append the step (an ALTER TABLE …) that brings an
# existing database to them: its rows stay.
MIGRATIONS: list[Callable[[Connection], None]] = [lambda conn: MD.create_all(conn)]
SQLITE_TIMEOUT = 30.0  # seconds a SQLite store waits for another process's write lock
MAX_ATTEMPTS = 3  # a question whose replica died this often is left alone (it may be what kills them)


class State:
    """The shared state behind `ASSISTANT_STATE_URL`; every method is one transaction."""

    def __init__(self, url: str):
        self.url = _normalise(url)
        self.shown = _shown(self.url)
        try:
            self.db = _engine(self.url)
            self._migrate()
        except SQLAlchemyError as exc:
            raise StateError(f"cannot open the state store at {self.shown}: {exc}") from exc

    def close(self) -> None:
        self.db.dispose()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.db.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StateError(f"the state store at {self.shown} failed: {exc}") from exc

    def _migrate(self) -> None:
        with self.db.begin() as conn:
            if self.db.dialect.name == "postgresql":  # replicas starting together upgrade one at a time
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7243145)")
            META.create(conn, checkfirst=True)
            row = conn.execute(select(META.c.value).where(META.c.key == "schema_version")).first()
            version = int(row[0]) if row else 0
            if version == 0:
                MD.create_all(conn)
            else:
                for step in MIGRATIONS[version:]:
                    step(conn)
            if len(MIGRATIONS) != version:
                values = {"key": "schema_version", "value": str(len(MIGRATIONS))}
                if row:
                    conn.execute(update(META).where(META.c.key == "schema_version").values(value=values["value"]))
                else:
                    conn.execute(META.insert().values(**values))

    @property
    def version(self) -> int:
        with self._begin() as conn:
            return int(conn.execute(select(META.c.value).where(META.c.key == "schema_version")).scalar_one())

    # Exactly once -------------------------------------------------------------------------------

    def accept(
        self,
        keys: list[str],
        job: Job | None = None,
        *,
        owner: str = "",
        lease: float = 0.0,
        conversation: tuple[str, str] | None = None,
        spaces: list[str] | None = None,
    ) -> bool:
        """Claim `keys` (a delivery's event id, its message) and record `job` as this replica's
        pending work, all or nothing; False if any key was claimed before (a retry, a duplicate).
        `conversation` becomes a thread the bot follows."""
        now = time.time()
        try:
            with self._begin() as conn:
                for key in keys:
                    if not self._insert_new(conn, EVENTS, {"key": key, "seen": now}):
                        raise _Taken  # roll back the keys claimed so far
                if job is not None:
                    row = {"id": job.id, "payload": job.payload, "owner": owner, "lease_until": now + lease}
                    conn.execute(JOBS.insert().values(**row, created=now, attempts=1))
                if conversation is not None:
                    channel, thread = conversation
                    row = {"channel": channel, "thread": thread, "spaces": spaces, "turns": [], "updated": now}
                    self._insert_new(conn, CONVERSATIONS, row)
        except _Taken:
            return False
        return True

    def _insert_new(self, conn: Connection, table: Table, values: dict[str, Any]) -> bool:
        """Insert unless the key is there (atomically, also against a concurrent insert)."""
        if self.db.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Any = pg_insert(table).values(**values).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(table).values(**values).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
        first_key = next(iter(table.primary_key.columns))
        return conn.execute(statement.returning(first_key)).first() is not None

    # Conversations ------------------------------------------------------------------------------

    def follows(self, channel: str, thread: str) -> bool:
        """The bot answers in this thread (it was asked there)."""
        with self._begin() as conn:
            where = (CONVERSATIONS.c.channel == channel) & (CONVERSATIONS.c.thread == thread)
            return conn.execute(select(CONVERSATIONS.c.channel).where(where)).first() is not None

    def conversation(self, channel: str, thread: str) -> tuple[list[str] | None, list[dict[str, Any]]] | None:
        """The spaces a conversation may search and its turns (as JSON), or None if it is new."""
        with self._begin() as conn:
            where = (CONVERSATIONS.c.channel == channel) & (CONVERSATIONS.c.thread == thread)
            row = conn.execute(select(CONVERSATIONS.c.spaces, CONVERSATIONS.c.turns).where(where)).first()
        return None if row is None else (row.spaces, list(row.turns))

    # Pending work -------------------------------------------------------------------------------

    def claim(self, owner: str, lease: float) -> Job | None:
        """Take over one question whose replica stopped renewing its lease, oldest first."""
        now = time.time()
        with self._begin() as conn:
            stale = (JOBS.c.done.is_(None)) & (JOBS.c.lease_until < now) & (JOBS.c.attempts < MAX_ATTEMPTS)
            query = select(JOBS).where(stale).order_by(JOBS.c.created).limit(1).with_for_update(skip_locked=True)
            row = conn.execute(query).first()
            if row is None:
                return None
            attempts = row.attempts + 1
            values = {"owner": owner, "lease_until": now + lease, "attempts": attempts}
            conn.execute(update(JOBS).where(JOBS.c.id == row.id).values(**values))
        return Job(row.id, row.payload, row.placeholder, attempts)

    def renew(self, owner: str, ids: list[str], lease: float) -> None:
        """Extend `owner`'s lease on these unfinished questions: it is still alive and on them."""
        with self._begin() as conn:
            mine = (JOBS.c.owner == owner) & JOBS.c.done.is_(None) & JOBS.c.id.in_(ids)
            conn.execute(update(JOBS).where(mine).values(lease_until=time.time() + lease))

    def holds(self, job_id: str, owner: str) -> bool:
        """`owner` still has this question to answer (nobody took it over, it isn't done)."""
        with self._begin() as conn:
            row = conn.execute(select(JOBS.c.owner, JOBS.c.done).where(JOBS.c.id == job_id)).first()
        return row is not None and row.owner == owner and row.done is None

    def set_placeholder(self, job_id: str, ts: str) -> None:
        """Remember the message being streamed into, so a replica taking over fills that one."""
        with self._begin() as conn:
            conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(placeholder=ts))

    def finish(
        self,
        job_id: str,
        *,
        conversation: tuple[str, str] | None = None,
        spaces: list[str] | None = None,
        turn: dict[str, Any] | None = None,
        answer: tuple[str, dict[str, Any]] | None = None,
        channel: str = "",
        user: str = "",
    ) -> None:
        """Mark the question answered, add its turn to the conversation and record the answer
        behind the feedback buttons (`answer` = (feedback key, answer JSON)), in one transaction."""
        now = time.time()
        with self._begin() as conn:
            if job_id:
                conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(done=now))
            if conversation is not None and turn is not None:
                self._append_turn(conn, conversation, spaces, turn, now)
            if answer is not None:
                key, record = answer
                row = {"key": key, "time": now, "channel": channel, "user": user, "answer": record, "spaces": spaces}
                conn.execute(ANSWERS.insert().values(**row))

    def _append_turn(
        self, conn: Connection, conversation: tuple[str, str], spaces: list[str] | None, turn: dict, now: float
    ) -> None:
        channel, thread = conversation
        where = (CONVERSATIONS.c.channel == channel) & (CONVERSATIONS.c.thread == thread)
        row = conn.execute(select(CONVERSATIONS.c.turns).where(where).with_for_update()).first()
        if row is None:
            row_values = {"channel": channel, "thread": thread, "spaces": spaces, "turns": [turn], "updated": now}
            if not self._insert_new(conn, CONVERSATIONS, row_values):
                self._append_turn(conn, conversation, spaces, turn, now)  # created meanwhile
            return
        turns = [*row.turns, turn][-MAX_TURNS:]
        conn.execute(update(CONVERSATIONS).where(where).values(turns=turns, updated=now))

    # Feedback -----------------------------------------------------------------------------------

    def record_feedback(self, answer_key: str, value: str, user: str, message: str) -> None:
        with self._begin() as conn:
            row = {"time": time.time(), "user": user, "value": value, "answer_key": answer_key, "message": message}
            conn.execute(FEEDBACK.insert().values(**row))

    def feedback(self, since: float | None = None) -> list[dict[str, Any]]:
        """Every click, oldest first, with the answer it was about: time, user, value, question,
        answer, citations, spaces."""
        query = (
            select(FEEDBACK, ANSWERS.c.answer, ANSWERS.c.spaces)
            .outerjoin(ANSWERS, ANSWERS.c.key == FEEDBACK.c.answer_key)
            .order_by(FEEDBACK.c.time, FEEDBACK.c.id)
        )
        if since is not None:
            query = query.where(FEEDBACK.c.time >= since)
        with self._begin() as conn:
            rows = conn.execute(query).all()
        out = []
        for row in rows:
            if row.record:  # imported from the old JSONL log as it was
                out.append({**row.record, "time": row.time})
                continue
            answered = row.answer or {}
            out.append(
                {
                    "time": row.time,
                    "user": row.user,
                    "value": row.value,
                    "question": answered.get("question"),
                    "answer": answered.get("answer", row.message),
                    "citations": answered.get("citations", []),
                    "spaces": row.spaces,
                }
            )
        return out

    def import_feedback_log(self, path: Path) -> int:
        """Move the records of the old JSONL feedback log into the store, once (the file is renamed)."""
        claimed = path.with_name(f"{path.name}.importing-{os.getpid()}")
        try:
            path.rename(claimed)  # atomic: of replicas starting together, one imports it
        except FileNotFoundError:
            return 0
        records = []
        for line in claimed.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash; the rest still count
            if isinstance(record, dict):
                records.append(record)
        with self._begin() as conn:
            for r in records:
                row = {"time": float(r.get("time") or 0), "user": r.get("user"), "value": str(r.get("value", ""))}
                conn.execute(FEEDBACK.insert().values(**row, record=r))
        claimed.rename(path.with_name(path.name + ".imported"))
        return len(records)

    def expire(self, now: float | None = None) -> None:
        """Forget event keys past any retry, and finished work older than a week."""
        now = time.time() if now is None else now
        with self._begin() as conn:
            conn.execute(delete(EVENTS).where(EVENTS.c.seen < now - EVENT_TTL))
            conn.execute(delete(JOBS).where(JOBS.c.done < now - DONE_TTL))


def _normalise(url: str) -> str:
    """`postgresql://` and `postgres://` mean the psycopg (3) driver, the one installed."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateError(f"ASSISTANT_STATE_URL is not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        db = create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT})

        @event.listens_for(db, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below opens transactions
            use_wal(dbapi_connection, SQLITE_TIMEOUT)

        @event.listens_for(db, "begin")
        def _begin(conn: Connection) -> None:
            # Take the write lock at the start: two processes never both read, then both write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return db
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise StateError(f"ASSISTANT_STATE_URL must be sqlite:/// or postgresql+psycopg://, got {_shown(url)}")
