"""PostgreSQL advisory locks: one lock name, held by one process across every host.

A file lock only stops processes on the machine that holds the file.  When the
ledger is PostgreSQL, several hosts (each with its own state folder) share it,
so the lock lives in the database instead: ``pg_try_advisory_lock`` on a
connection of its own, held for as long as the caller's block runs.  The server
lets it go when that connection ends, so a killed process (kill -9 included)
never leaves it behind.

The same rule cuts the other way: when that connection ends under a live process
(the server restarted, the session was terminated, the network dropped it), the
lock is gone and another host may take it.  ``AdvisoryHold.confirm`` asks the
holding session whether it is still there; callers confirm before each step that
must not run twice (uploading and renaming a batch), and stop with ``LockLost``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from ledger.db import DatabaseError, redact_url

POLL_SECONDS = 0.2


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name``: the same on every host and every release."""
    digest = hashlib.sha256(f"bhclaims:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LockHeld(RuntimeError):
    """Another session holds the advisory lock."""


class LockLost(DatabaseError):
    """The session that held an advisory lock ended while its holder was still working."""


class AdvisoryHold:
    """The advisory lock as held by one session; ``confirm`` says it still is."""

    def __init__(self, connection: Connection, name: str) -> None:
        self._connection = connection
        self._name = name

    def confirm(self) -> None:
        """Raise ``LockLost`` unless the holding session still answers (and so still holds the lock)."""
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise LockLost(
                f"the PostgreSQL session holding the {self._name} lock ended ({type(exc).__name__}); another "
                "host may hold the lock now, so this run stopped before its next step: run it again"
            ) from exc


@contextmanager
def advisory_lock(url: str, name: str, *, wait_seconds: float = 0.0) -> Iterator[AdvisoryHold]:
    """Hold the advisory lock named ``name``; raise ``LockHeld`` if it is not free in time.

    The connection is not taken from the ledger's pool: the lock must stay with one
    session that nothing else uses or returns, and end with it.
    """
    key = advisory_key(name)
    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot reach the ledger database ({redact_url(url)}): {type(exc).__name__}") from exc
        with conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + wait_seconds
            while not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
                if time.monotonic() >= deadline:
                    raise LockHeld(name)
                time.sleep(POLL_SECONDS)
            try:
                yield AdvisoryHold(conn, name)
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                except SQLAlchemyError:
                    pass  # the connection is gone, and the server released the lock with it
    finally:
        engine.dispose()
