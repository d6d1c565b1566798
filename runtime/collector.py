"""Fewer garbage-collector passes while a bulk job allocates.

Ingest and posting make millions of short-lived objects (cells, records, rows) and
free almost all of them by reference counting; the cyclic collector, run every 700
net allocations, kept walking the modules, caches and open chunk for nothing and
took a tenth of an ingest.  For the length of a job: what is alive at its start is
frozen out of the collector's walks (``gc.freeze``), and the youngest generation is
collected every 50,000 allocations.  Cycles are still collected; the settings come
back when the job ends.  Worker processes forked inside inherit both.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNGEST_GENERATION_THRESHOLD = 50_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
