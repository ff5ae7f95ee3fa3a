"""The live index: while a bot or chat runs, follow the corpus folder and the shared store.

A background thread looks every `interval` seconds. If a folder changed (a file added,
edited, renamed or deleted) and then stayed quiet for one more look, it syncs: a burst
of saves is one sync, and answers keep using the index as it was until the sync is done.
On every look it also checks the store's manifest fingerprint, so a change another
process made to a shared `chroma run` server reaches this process's keyword index and
vector copy. Watching the folder can be turned off (ASSISTANT_WATCH=0); following the
store can't, since it costs one small read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from assistant.engine import Engine
from index.contained import contained
from index.documents import discover
from index.errors import Error
from index.sync import SyncReport

log = logging.getLogger(__name__)
Signature = tuple[tuple[str, int, int], ...]


class Watcher:
    """Keeps `engine`'s index in step with its folder (if `watch_folder`) and its store."""

    def __init__(
        self,
        engine: Engine,
        *,
        interval: float,
        watch_folder: bool = True,
        on_sync: Callable[[SyncReport], None] | None = None,
    ):
        self.engine = engine
        self.interval = interval
        self.watch_folder = watch_folder
        self.on_sync = on_sync
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)
        self._seen: Signature | None = None
        self._pending = False

    def start(self) -> Watcher:
        self._seen = self.signature() if self.watch_folder else None
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.look()
            except Exception:
                log.exception("watching the index failed; trying again in %.0f s", self.interval)

    def look(self) -> None:
        """One look: sync a folder change that has settled, else catch up with the store."""
        if self.watch_folder:
            now = self.signature()
            if now != self._seen:
                self._seen, self._pending = now, True  # changing: wait until it stays still one look
                return
            if self._pending:
                report = self.engine.sync(wait=False)
                if report is None:
                    return  # another process is syncing; try again next look
                self._pending = False
                if report.changed:
                    log.info("synced: %s", report)
                if self.on_sync:
                    self.on_sync(report)
                return
        for name, index in self.engine.indexes.items():
            if index.refresh():
                log.info("caught up with the shared index of %s: another process changed it", name)

    def signature(self) -> Signature:
        """What the folders hold now: each document's path, size and modification time."""
        out = []
        for name, index in self.engine.indexes.items():
            root = index.root
            for source in discover(root):
                try:
                    st = contained(root, source).stat()
                except (Error, OSError):
                    continue
                out.append((f"{name}/{source}", st.st_size, st.st_mtime_ns))
        return tuple(out)
