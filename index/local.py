"""What each process keeps beside the store: BM25 over chunks and over sentences, and a
copy of every vector, in one SQLite file that is updated source by source.

Derived from the store and rebuildable, but never rebuilt whole: a changed file costs
the rows of that file. BM25 keeps, per term and source, the rows holding the term with
their term counts and lengths, so document frequencies and the mean length stay exact
as sources come and go, and an index built by updates scores exactly as one built from
scratch. The formula is bm25s's Lucene variant (k1 1.5, b 0.75), which the eval
figures were measured with. Each source's rows and its record of what they were built
from change in one transaction, so a process killed mid-update leaves that source as
it was, and the next catch-up redoes it.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.chunking import Chunk, in_context, sentences_of
from index.sqlite import use_wal
from index.text import content_words, stem

K1, B = 1.5, 0.75
KINDS = ("chunk", "sentence")
VERSION = "2"
# A term's postings in one source: its rows, each with the term's count and the row's length.
POSTING = np.dtype([("row", "<i4"), ("tf", "<u2"), ("length", "<u2")])
# Big pages keep a term's postings of a source in one page: reading a common term's ~2,000
# rows took 4.8 ms on 4 KB pages (overflow chains), 1.3 ms on 64 KB ones.
PAGE_SIZE = 65536
_IN = 500  # ids per `IN (...)` query

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources(
    id INTEGER PRIMARY KEY, source TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL, chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stats(kind TEXT PRIMARY KEY, docs INTEGER NOT NULL, length INTEGER NOT NULL);
""" + "".join(
    f"""
CREATE TABLE IF NOT EXISTS {k}s(
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source INTEGER NOT NULL,
    length INTEGER NOT NULL, vector BLOB NOT NULL, parents TEXT);
CREATE INDEX IF NOT EXISTS {k}s_source ON {k}s(source);
CREATE TABLE IF NOT EXISTS {k}_terms(id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS {k}_postings(
    term INTEGER NOT NULL, source INTEGER NOT NULL, postings BLOB NOT NULL,
    PRIMARY KEY(term, source)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {k}_postings_source ON {k}_postings(source);
INSERT OR IGNORE INTO stats VALUES ('{k}', 0, 0);
"""
    for k in KINDS
)


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words: what BM25 counts."""
    return stem(content_words(text))


@dataclass(frozen=True)
class SourceUpdate:
    """One source as the store holds it: its chunks and every chunk's and sentence's vector."""

    source: str
    sha256: str
    chunks: Sequence[Chunk]
    vectors: Mapping[str, np.ndarray]


class Keyword:
    """One question's BM25 score of every row of a kind (zero where no term matched)."""

    def __init__(self, view: View, kind: str, scores: np.ndarray):
        self._view, self._kind, self.scores = view, kind, scores

    @property
    def best(self) -> float:
        return float(self.scores.max(initial=0.0))

    def top(self, n: int) -> list[str]:
        """Ids of the `n` best-scoring rows (a positive score only), best first."""
        s = self.scores
        if s.size > n:
            part = np.argpartition(-s, n)[:n]  # the top n without sorting every score
            idx = part[np.argsort(-s[part], kind="stable")]
        else:
            idx = np.argsort(-s, kind="stable")
        rows = [int(i) for i in idx if s[i] > 0]
        ids = self._view.ids(self._kind, rows)
        return [ids[r] for r in rows if r in ids]

    def of(self, row: int) -> float:
        return float(self.scores[row]) if row < self.scores.size else 0.0


@dataclass(frozen=True)
class Row:
    """A chunk or sentence as the local index holds it: its row, vector and (sentences) chunks."""

    row: int
    vector: np.ndarray
    parents: tuple[str, ...]


class View:
    """One consistent snapshot of the index, for the reads of one search."""

    def __init__(self, con: sqlite3.Connection):
        self._con = con

    def count(self, kind: str) -> int:
        return int(self._con.execute("SELECT docs FROM stats WHERE kind = ?", (kind,)).fetchone()[0])

    def keyword(self, kind: str, text: str) -> Keyword:
        """BM25 of every `kind` row for the words of `text` (a word twice counts twice, as in bm25s)."""
        terms = tokenize(text)
        docs, total = self._con.execute("SELECT docs, length FROM stats WHERE kind = ?", (kind,)).fetchone()
        top = self._con.execute(f"SELECT coalesce(max(row), -1) FROM {kind}s").fetchone()[0]
        scores = np.zeros(top + 1, dtype=np.float32)  # bm25s's precision too
        if not terms or not docs:
            return Keyword(self, kind, scores)
        known = {
            t: (i, df)
            for i, t, df in _select_in(self._con, f"SELECT id, term, df FROM {kind}_terms WHERE term IN ", set(terms))
        }
        mean = total / docs
        for term, times in Counter(terms).items():
            if term not in known or known[term][1] <= 0:
                continue
            term_id, df = known[term]
            blobs = self._con.execute(f"SELECT postings FROM {kind}_postings WHERE term = ?", (term_id,)).fetchall()
            p = np.frombuffer(b"".join(b for (b,) in blobs), dtype=POSTING)
            tf = p["tf"].astype(np.float32)
            idf = math.log(1 + (docs - df + 0.5) / (df + 0.5))
            norm = np.float32(K1 * (1 - B)) + np.float32(K1 * B / mean) * p["length"]
            scores[p["row"]] += np.float32(times * idf) * tf / (norm + tf)
        return Keyword(self, kind, scores)

    def all_ids(self, kind: str) -> set[str]:
        return {i for (i,) in self._con.execute(f"SELECT id FROM {kind}s")}

    def ids(self, kind: str, rows: Sequence[int]) -> dict[int, str]:
        return dict(_select_in(self._con, f"SELECT row, id FROM {kind}s WHERE row IN ", rows))

    def rows(self, kind: str, ids: Sequence[str]) -> dict[str, Row]:
        """The rows of these ids that the index holds (an id it doesn't is left out)."""
        sql = f"SELECT id, row, vector, parents FROM {kind}s WHERE id IN "
        return {
            i: Row(r, np.frombuffer(v, dtype=np.float32), tuple(p.split()) if p else ())
            for i, r, v, p in _select_in(self._con, sql, ids)
        }


class LocalIndex:
    """The SQLite file at `path`; readers on any thread see whole updates only (WAL snapshots)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        con = self._con()
        version = self._meta(con, "version")
        if version == VERSION:
            return  # made before: opening takes no write lock (a catch-up may hold it)
        if version is not None:
            con.close()
            del self._local.con
            for f in self.path.parent.glob(self.path.name + "*"):
                f.unlink()  # a cache of another layout: start again
            con = self._con()
        # One script, one transaction (executescript commits whatever is open before it runs).
        con.executescript(
            f"BEGIN IMMEDIATE; {_SCHEMA} INSERT OR IGNORE INTO meta VALUES ('version', '{VERSION}'); COMMIT;"
        )

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
            con.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect on a new file only
            use_wal(con, timeout=60)
            con.execute("PRAGMA synchronous=NORMAL")  # a crash loses at most the last updates, which are redone
            self._local.con = con
        return con

    @staticmethod
    def _meta(con: sqlite3.Connection, key: str) -> str | None:
        try:
            row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:
            return None  # a new file
        return row[0] if row else None

    @contextmanager
    def view(self) -> Iterator[View]:
        """A snapshot for one search: an update committing meanwhile is not half-seen."""
        con = self._con()
        con.execute("BEGIN")
        try:
            yield View(con)
        finally:
            con.execute("COMMIT")

    @property
    def stamp(self) -> str | None:
        """The store fingerprint this index last caught up with in full."""
        return self._meta(self._con(), "stamp")

    def set_stamp(self, stamp: str) -> None:
        self._con().execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", (stamp,))

    def sources(self) -> dict[str, tuple[str, int]]:
        """Each source held, with the sha256 and chunk count it was built from."""
        return {s: (h, n) for s, h, n in self._con().execute("SELECT source, sha256, chunks FROM sources")}

    def holds(self, source: str) -> bool:
        """The index holds `source` (exactly that name)."""
        return self._con().execute("SELECT 1 FROM sources WHERE source = ?", (source,)).fetchone() is not None

    def apply(self, updates: Sequence[SourceUpdate], removed: Sequence[str] = ()) -> None:
        """Make these sources exactly these chunks, and drop `removed`, in one transaction."""
        con = self._con()
        with _write(con):
            for source in removed:
                _remove(con, source)
            for u in updates:
                if self._held(con, u.source) == (u.sha256, len(u.chunks)):
                    continue  # another process applied the same a moment ago
                _remove(con, u.source)
                _add(con, u)

    @staticmethod
    def _held(con: sqlite3.Connection, source: str) -> tuple[str, int] | None:
        row = con.execute("SELECT sha256, chunks FROM sources WHERE source = ?", (source,)).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            del self._local.con


@contextmanager
def _write(con: sqlite3.Connection) -> Iterator[None]:
    con.execute("BEGIN IMMEDIATE")  # take the write lock first: two processes never interleave updates
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _remove(con: sqlite3.Connection, source: str) -> None:
    row = con.execute("SELECT id FROM sources WHERE source = ?", (source,)).fetchone()
    if row is None:
        return
    sid = row[0]
    for k in KINDS:
        held = con.execute(
            f"SELECT term, length(postings) / {POSTING.itemsize} FROM {k}_postings WHERE source = ?", (sid,)
        ).fetchall()
        con.executemany(f"UPDATE {k}_terms SET df = df - ? WHERE id = ?", [(n, t) for t, n in held])
        n, total = con.execute(
            f"SELECT count(*), coalesce(sum(length), 0) FROM {k}s WHERE source = ?", (sid,)
        ).fetchone()
        con.execute("UPDATE stats SET docs = docs - ?, length = length - ? WHERE kind = ?", (n, total, k))
        con.execute(f"DELETE FROM {k}_postings WHERE source = ?", (sid,))
        con.execute(f"DELETE FROM {k}s WHERE source = ?", (sid,))
    con.execute("DELETE FROM sources WHERE id = ?", (sid,))


def _add(con: sqlite3.Connection, u: SourceUpdate) -> None:
    sid = con.execute(
        "INSERT INTO sources(source, sha256, chunks) VALUES (?, ?, ?)", (u.source, u.sha256, len(u.chunks))
    ).lastrowid
    parents: dict[str, list[str]] = {}
    sentence_text: dict[str, str] = {}
    for c in u.chunks:
        for s in sentences_of(c):
            parents.setdefault(s.id, []).append(c.id)
            sentence_text[s.id] = in_context(s)
    docs: dict[str, list[tuple[str, str, str | None]]] = {
        "chunk": [(c.id, c.text, None) for c in u.chunks],
        "sentence": [(i, t, " ".join(parents[i])) for i, t in sentence_text.items()],
    }
    for k, items in docs.items():
        first = con.execute(f"SELECT coalesce(max(row), -1) + 1 FROM {k}s").fetchone()[0]
        counts = [Counter(tokenize(text)) for _, text, _ in items]
        lengths = [sum(c.values()) for c in counts]
        con.executemany(
            f"INSERT INTO {k}s(row, id, source, length, vector, parents) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (first + n, id_, sid, lengths[n], np.asarray(u.vectors[id_], dtype=np.float32).tobytes(), up)
                for n, (id_, _, up) in enumerate(items)
            ],
        )
        con.execute(
            "UPDATE stats SET docs = docs + ?, length = length + ? WHERE kind = ?", (len(items), sum(lengths), k)
        )
        postings: dict[str, tuple[list[int], list[int], list[int]]] = {}
        for n, count in enumerate(counts):
            for term, tf in count.items():
                p = postings.setdefault(term, ([], [], []))
                p[0].append(first + n)
                p[1].append(tf)
                p[2].append(lengths[n])
        if not postings:
            continue
        con.executemany(f"INSERT OR IGNORE INTO {k}_terms(term, df) VALUES (?, 0)", [(t,) for t in postings])
        term_ids = dict(_select_in(con, f"SELECT term, id FROM {k}_terms WHERE term IN ", list(postings)))
        con.executemany(
            f"UPDATE {k}_terms SET df = df + ? WHERE id = ?", [(len(p[0]), term_ids[t]) for t, p in postings.items()]
        )
        con.executemany(
            f"INSERT INTO {k}_postings(term, source, postings) VALUES (?, ?, ?)",
            [(term_ids[t], sid, _postings(*p)) for t, p in postings.items()],
        )


def _postings(rows: list[int], tfs: list[int], lengths: list[int]) -> bytes:
    out = np.empty(len(rows), dtype=POSTING)
    out["row"] = rows
    # A count or a length past 65,535 can't happen in a chunk (at most 512 model tokens); clip anyway.
    out["tf"] = np.minimum(tfs, 65535)
    out["length"] = np.minimum(lengths, 65535)
    return out.tobytes()


def _select_in(con: sqlite3.Connection, sql: str, values: Sequence | set) -> list[tuple]:
    """`sql` ending in `IN ` run over `values` in slices SQLite accepts."""
    values = list(values)
    out: list[tuple] = []
    for i in range(0, len(values), _IN):
        part = values[i : i + _IN]
        out += con.execute(sql + f"({','.join('?' * len(part))})", part).fetchall()
    return out
