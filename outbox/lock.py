"""One lock per mailbox, so cron and a clerk never send or fetch at the same time.

On a SQLite ledger (one host) the lock is ``flock`` on a file in the state folder.
On a PostgreSQL ledger several hosts may share the ledger and the mailbox, each
with its own state folder, where a file lock would stop nobody: the lock is then
a PostgreSQL advisory lock (``ledger.advisory``) that every host sees.

Both yield a hold whose ``confirm()`` raises if the lock may have passed to
someone else: never for a file lock (the open descriptor holds it until this
process ends), ``ledger.advisory.LockLost`` when the advisory lock's session ended.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from ledger.advisory import LockHeld, advisory_lock, is_postgres
from outbox.files import ensure_private_dir


class MailboxBusy(RuntimeError):
    pass


class LockHold(Protocol):
    def confirm(self) -> None: ...


class _FileHold:
    """A flock stays with its open descriptor, so it cannot be lost while the holder runs."""

    def confirm(self) -> None:
        return None


@contextmanager
def mailbox_lock(
    state_dir: Path, name: str, *, wait_seconds: float = 0.0, database_url: str | None = None
) -> Iterator[LockHold]:
    """Hold an exclusive lock; released even if the process is killed.

    ``database_url``: the ledger's; a PostgreSQL one makes the lock hold across hosts.
    """
    if database_url and is_postgres(database_url):
        try:
            with advisory_lock(database_url, f"mailbox:{name}", wait_seconds=wait_seconds) as hold:
                yield hold
        except LockHeld:
            raise MailboxBusy(
                f"another bhclaims process is using the {name} mailbox "
                f"(PostgreSQL advisory lock, possibly held from another host); try again later"
            ) from None
        return
    with _file_lock(state_dir, name, wait_seconds=wait_seconds):
        yield _FileHold()


@contextmanager
def _file_lock(state_dir: Path, name: str, *, wait_seconds: float) -> Iterator[None]:
    ensure_private_dir(state_dir)
    path = state_dir / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise MailboxBusy(
                        f"another bhclaims process is using the {name} mailbox (lock {path}); try again later"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
