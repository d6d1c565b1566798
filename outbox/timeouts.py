"""A hard wall-clock bound on a blocking call.

Socket timeouts bound each read, not an operation: a server that trickles one byte a
minute, or a library loop that never looks at its socket timeout, can still hold a cron
job for ever.  ``call_with_deadline`` runs the call in a daemon thread and gives up at
the deadline; ``abort`` (closing the connection) is then what makes the thread finish.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """The call did not finish in time; it was abandoned and ``abort`` was called."""


class Deadline:
    """A point on the monotonic clock, ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at


def call_with_deadline(
    fn: Callable[[], T], timeout: float, *, abort: Callable[[], None], what: str = "operation"
) -> T:
    """Return ``fn()`` or raise DeadlineExceeded after ``timeout`` seconds, whatever ``fn`` does.

    Exceptions raised by ``fn`` are re-raised in the caller unchanged.
    """
    outcome: dict[str, object] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=run, name=f"bounded:{what}", daemon=True)
    worker.start()
    if not finished.wait(max(0.0, timeout)):
        try:
            abort()
        except Exception:  # noqa: BLE001 - the deadline is the error worth reporting
            pass
        raise DeadlineExceeded(f"{what} did not finish within {timeout:.1f} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
