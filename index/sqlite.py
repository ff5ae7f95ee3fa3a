"""SQLite connections shared by several processes: the settings both of our databases need."""

from __future__ import annotations

import sqlite3
import time


def use_wal(con: sqlite3.Connection, timeout: float) -> None:
    """Switch `con`'s database to WAL (readers don't wait for the writer). SQLite doesn't wait on
    its busy timeout here: when several processes open a new file at the same moment, all but one
    get "database is locked" at once. So wait for the one making the switch, as a busy handler
    would, for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
