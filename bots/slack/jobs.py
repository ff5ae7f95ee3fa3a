"""Questions as pending work shared by replicas: accepted exactly once, held under a lease
this replica renews while it answers, and taken over by another replica when that stops."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bots.state import Job, State
from index.errors import Error

log = logging.getLogger(__name__)
EXPIRE_EVERY = 600  # seconds between sweeps of old event keys and finished work


class Jobs:
    """This replica's side of the shared work: what it accepted or took over and not finished."""

    def __init__(self, state: State, *, lease: float = 15.0, owner: str = ""):
        self.state = state
        self.lease = lease
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def accept(
        self,
        keys: list[str],
        payload: dict[str, Any],
        *,
        conversation: tuple[str, str] | None = None,
        spaces: list[str] | None = None,
    ) -> Job | None:
        """Record a question as this replica's pending work, with the keys that make it exactly
        once; None if another delivery of it was accepted before (here or on another replica).
        With `conversation`, the thread is followed from now on, searching `spaces`."""
        job = Job(keys[0], payload)
        self.hold(job.id)  # renewed from now on, though it may wait for a worker
        accepted = False
        try:
            accepted = self.state.accept(
                keys, job, owner=self.owner, lease=self.lease, conversation=conversation, spaces=spaces
            )
        finally:
            if not accepted:
                self.release(job.id)
        return job if accepted else None

    def hold(self, job_id: str) -> None:
        """Renew this question's lease until it is released."""
        with self._lock:
            self._held.add(job_id)

    def release(self, job_id: str) -> None:
        with self._lock:
            self._held.discard(job_id)

    def renew(self) -> None:
        """This replica is alive: extend the leases of what it holds."""
        with self._lock:
            held = list(self._held)
        if held:
            self.state.renew(self.owner, held, self.lease)

    def still_mine(self, job: Job) -> bool:
        """Before posting: nobody took this question over meanwhile (this replica seemed dead)."""
        if self.state.holds(job.id, self.owner):
            return True
        log.warning("%s was taken over by another replica; not posting this answer", job.id)
        return False


class KeyedLocks:
    """One lock per conversation, held while it answers, so its questions go in order; a lock
    lives only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[threading.Lock, int]] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, key: tuple[str, str]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class Steward:
    """A replica's background duty: renew its leases, take over the questions of replicas that
    stopped renewing theirs (crashed, killed, cut off), and forget old event keys."""

    def __init__(self, jobs: Jobs, run: Callable[[Job], None], *, interval: float | None = None):
        self.jobs = jobs
        self.run = run
        self.interval = interval or jobs.lease / 3
        self._stop = threading.Event()

    def start(self) -> Steward:
        threading.Thread(target=self._loop, name="steward", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        state, expired = self.jobs.state, 0.0
        while True:
            try:
                self.jobs.renew()
                while (job := state.claim(self.jobs.owner, self.jobs.lease)) is not None:
                    log.warning("taking over %s from a replica that stopped (attempt %d)", job.id, job.attempts)
                    self.run(job)
                if time.monotonic() - expired > EXPIRE_EVERY:
                    state.expire()
                    expired = time.monotonic()
            except Error as exc:  # the store is down: keep trying, answering goes on where it can
                log.warning("state store: %s", exc)
            if self._stop.wait(self.interval):
                return
