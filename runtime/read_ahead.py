"""Parsing a file on a thread of its own while the caller writes what it has read.

Posting an 835 alternates between reading claims (Python, on the client) and writing them
(the database's work: SQLite's engine or the PostgreSQL server).  The driver lets go of the
interpreter while the database works, so a second thread can read the next claims then,
instead of the two taking turns.  On PostgreSQL the server runs on another CPU, so reading
and writing overlap; on SQLite its engine's share of a posting overlaps with the reading.

The reader stays at most ``batches`` × ``batch`` items ahead (memory stays bounded whatever
the file's size).  What the reader raises (a cut or unreadable file) is raised to the caller
where it happened in the stream, after every item read before it.  The caller may stop
early (a refusal, a database error): the reader is told to stop, its iterator closed (which
closes the file), and the thread joined before control returns, so nothing of the file is
read after the caller has finished with it.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable
from queue import Empty, Full, Queue
from typing import TypeVar

Item = TypeVar("Item")

BATCH = 250
"""Items handed over at a time: the queue's cost per item stays small."""
BATCHES = 16
"""Batches the reader may hold ahead: 4,000 CLPs, about two of the poster's chunks."""
_POLL_SECONDS = 0.05


def read_ahead(items: Iterable[Item], *, batch: int = BATCH, batches: int = BATCHES) -> Generator[Item, None, None]:
    """``items`` in their order, produced on a thread of their own up to ``batches`` × ``batch`` ahead."""
    handoff: Queue[tuple[list[Item], BaseException | None, bool]] = Queue(maxsize=batches)
    stop = threading.Event()

    def hand(chunk: list[Item], error: BaseException | None, last: bool) -> bool:
        while not stop.is_set():
            try:
                handoff.put((chunk, error, last), timeout=_POLL_SECONDS)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        chunk: list[Item] = []
        try:
            for item in source:
                chunk.append(item)
                if len(chunk) >= batch:
                    if not hand(chunk, None, False):
                        return
                    chunk = []
            hand(chunk, None, True)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            hand(chunk, exc, True)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=produce, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            chunk, error, last = handoff.get()
            yield from chunk
            if error is not None:
                raise error
            if last:
                return
    finally:
        stop.set()
        while reader.is_alive():  # a reader blocked on a full queue sees ``stop`` within a poll
            try:
                handoff.get_nowait()
            except Empty:
                pass
            reader.join(_POLL_SECONDS)
