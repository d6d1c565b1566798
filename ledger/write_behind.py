"""Writes that run while the caller reads on: one background thread, one write at a time, in order.

On PostgreSQL a posting's inserts and updates are done by the server, in its own process, while
the client only waits; with two CPUs the client can meanwhile parse and match the next chunk of
the 835.  ``WriteBehind`` runs each write job on one thread, in the order submitted, and the caller
``settle``s (waits for the jobs in flight and raises what they raised) before it uses the connection
itself.  So the connection is used by one thread at a time and the transaction stays one: a job's
failure reaches the caller at its next use of the connection, or at ``close``, and the caller's
rollback then undoes everything, as it would have done for a write made in line.  A job can also be
held (``stage``) while the caller first reads what it does not change on the same connection, then
let go (``release``); a caller that reads on a connection of its own lets several jobs queue
(``ahead``), so that the writing connection is never idle while it reads.

SQLite does its work in this process (and its connections stay in the thread that made them): there
the jobs run in line, as they are submitted.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

SWITCH_INTERVAL_SECONDS = 0.0005
"""How long the reading thread keeps the interpreter once the writing thread's answer has come
(Python's default is 5 ms): a posting chunk waits for the server a few times, and each wait would
otherwise end up to 5 ms late (posting 100,000 CLPs, three pairs alternated, quiet: 11.3–12.2 s
against 12.0–13.1 s with 5 ms)."""


class WriteBehind:
    def __init__(self, *, behind: bool, ahead: int = 1) -> None:
        """``behind``: run jobs on a thread (PostgreSQL), else in line.  ``ahead``: how many submitted
        jobs may be left waiting or running when ``submit`` returns (a caller that reads on another
        connection meanwhile keeps the writer busy with more than one)."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bhclaims-writes") if behind else None
        self._ahead = max(1, ahead)
        self._pending: deque[Future[None]] = deque()
        self._failed = False  # a job raised: those queued after it are not run (their transaction is lost)
        self._staged: Callable[[], None] | None = None
        self._interval = sys.getswitchinterval()
        if self._pool is not None:
            sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL_SECONDS))

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` after those submitted before it; when ``ahead`` jobs are outstanding, wait for the
        oldest first (a failure of it, or of any job, is raised here instead, once every job is done)."""
        if self._pool is None:
            job()
            return
        while len(self._pending) >= self._ahead:
            if self._pending[0].exception() is not None:
                self.settle_running()  # raises it
            self._pending.popleft()
        self._pending.append(self._pool.submit(self._run, job))

    def _run(self, job: Callable[[], None]) -> None:
        """On the thread: ``job``, unless one before it failed (the caller will roll back)."""
        if self._failed:
            return
        try:
            job()
        except BaseException:
            self._failed = True
            raise

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
        """Start the held job, if any, after those in flight."""
        staged, self._staged = self._staged, None
        if staged is not None:
            self.submit(staged)

    def settle_running(self) -> None:
        """Wait for every job submitted (a held job stays held); raise the failure, if one failed (the
        jobs queued after it were skipped)."""
        failure: BaseException | None = None
        while self._pending:
            raised = self._pending.popleft().exception()
            if failure is None:
                failure = raised
        self._failed = False
        if failure is not None:
            raise failure

    def settle(self) -> None:
        """Every job done: the held one started, and waited for; raise what failed."""
        self.release()
        self.settle_running()

    def close(self, *, failing: bool = False) -> None:
        """Wait for the jobs in flight (nothing may commit or roll back under them) and stop the thread.
        ``failing``: the caller is already raising; the jobs' own failures are then not raised over it."""
        try:
            if failing:
                self._staged = None  # never started: the caller rolls back
                while self._pending:
                    self._pending.popleft().exception()  # waits; what it raised is the caller's rollback's to undo
                self._failed = False
            else:
                self.settle()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
                sys.setswitchinterval(self._interval)
