"""Writes that run while the caller reads on: one background thread, one write at a time, in order.

On PostgreSQL a posting's inserts and updates are done by the server, in its own process, while
the client only waits; with two CPUs the client can meanwhile parse and match the next chunk of
the 835.  ``WriteBehind`` runs each write job on one thread, in the order submitted, and the caller
``settle``s (waits for the job in flight and raises what it raised) before it uses the connection
itself.  So the connection is used by one thread at a time and the transaction stays one: a job's
failure reaches the caller at its next use of the connection, or at ``close``, and the caller's
rollback then undoes everything, as it would have done for a write made in line.  A job can also be
held (``stage``) while the caller first reads what it does not change, then let go (``release``).

SQLite does its work in this process (and its connections stay in the thread that made them): there
the jobs run in line, as they are submitted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

SWITCH_INTERVAL_SECONDS = 0.0005
"""How long the reading thread keeps the interpreter once the writing thread's answer has come
(Python's default is 5 ms): a posting chunk waits for the server a few times, and each wait would
otherwise end up to 5 ms late (posting 100,000 CLPs, three pairs alternated, quiet: 11.3–12.2 s
against 12.0–13.1 s with 5 ms)."""


class WriteBehind:
    def __init__(self, *, behind: bool) -> None:
        """``behind``: run jobs on a thread (PostgreSQL), else in line."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bhclaims-writes") if behind else None
        self._pending: Future[None] | None = None
        self._staged: Callable[[], None] | None = None
        self._interval = sys.getswitchinterval()
        if self._pool is not None:
            sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL_SECONDS))

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` after the one in flight (whose failure is raised here instead)."""
        self.settle_running()
        if self._pool is None:
            job()
            return
        self._pending = self._pool.submit(job)

    def stage(self, job: Callable[[], None]) -> None:
        """Hold ``job`` until ``release`` (or the next ``settle``), after any job held before it: the
        caller may first read, with ``settle_running``, what the held job does not change (posting: the
        next chunk's claims, whose changes it keeps in memory), so that the read does not wait for it.
        In line (SQLite): run now."""
        self.release()
        if self._pool is None:
            job()
            return
        self._staged = job

    def release(self) -> None:
        """Start the held job, if any, after the one in flight."""
        staged, self._staged = self._staged, None
        if staged is not None:
            self.submit(staged)

    def settle_running(self) -> None:
        """Wait for the job in flight, if any (a held job stays held); raise what it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def settle(self) -> None:
        """Every job done: the held one started, and waited for; raise what failed."""
        self.release()
        self.settle_running()

    def close(self, *, failing: bool = False) -> None:
        """Wait for the job in flight (nothing may commit or roll back under it) and stop the thread.
        ``failing``: the caller is already raising; the job's own failure is then not raised over it."""
        try:
            if failing:
                self._staged = None  # never started: the caller rolls back
                pending, self._pending = self._pending, None
                if pending is not None:
                    pending.exception()  # waits; what it raised is the caller's rollback's to undo
            else:
                self.settle()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
                sys.setswitchinterval(self._interval)
