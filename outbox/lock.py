"""One lock per mailbox, so cron and a clerk never send or fetch at the same time."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from outbox.files import ensure_private_dir


class MailboxBusy(RuntimeError):
    pass


@contextmanager
def mailbox_lock(state_dir: Path, name: str, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock; released by the OS even if the process is killed."""
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
