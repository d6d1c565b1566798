"""Rows of a long read, the next batch fetched on a thread while the caller works through the current one.

A streamed listing alternates two waits: the caller formats a batch while the database idles, then the
database reads the next while the caller idles.  At a million claims on PostgreSQL the fetching alone took
7.8 s and writing the JSON about 5 CPU-s more, 12–15 s in all one after the other.  The driver lets go of the
interpreter while it waits for the server (SQLite's while it steps), so a thread that fetches ahead lets both
work at once.

``read_ahead`` owns that thread for the length of a ``with`` block: when the block ends — all read, the
caller stopped early (``--limit``, a closed pipe) or raised — the thread is stopped and joined and the batches
closed before the block's exit returns, so the caller's transaction ends only after its cursor is done with.
The caller must not use the connection the batches read from inside the block.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from queue import Empty, Queue
from typing import Any, NamedTuple, TypeVar

Row = TypeVar("Row")
BATCHES_AHEAD = 2


class _Failed(NamedTuple):
    error: BaseException


_END = object()


@contextmanager
def read_ahead(batches: Iterator[Sequence[Row]], *, ahead: int = BATCHES_AHEAD) -> Iterator[Iterator[Row]]:
    """The rows of ``batches``, in order, with up to ``ahead`` batches fetched on a thread before they are
    asked for.  An error raised while fetching is raised to the reader at the point it came."""
    handed: Queue[Any] = Queue(maxsize=ahead)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for batch in batches:
                handed.put(batch)
                if stop.is_set():
                    return
            handed.put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the reader, who raises it
            handed.put(_Failed(error))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    def rows() -> Iterator[Row]:
        while True:
            batch = handed.get()
            if batch is _END:
                return
            if isinstance(batch, _Failed):
                raise batch.error
            yield from batch

    thread = threading.Thread(target=fetch, name="read-ahead", daemon=True)
    thread.start()
    try:
        yield rows()
    finally:
        stop.set()
        while thread.is_alive():  # make room for a put it may be waiting on, until it sees ``stop``
            try:
                handed.get(timeout=0.05)
            except Empty:
                pass
        thread.join()
