"""The process-wide settings of a bhclaims process, set once when it starts.

Ingest and posting make millions of short-lived, acyclic objects (cells, records, row
tuples) that reference counting frees; with the interpreter's default threshold the
cyclic collector walks the young generation every 700 net allocations and costs about a
quarter of a posting.  The application (not the ledger library) raises that threshold
once, for the whole process: cycles are still collected, only less often.  At 50,000 the
young collections still walked a chunk's live rows ≈ 60 times per 100,000-CLP posting
(0.51–0.62 CPU-s) and 12 times per 100,000-line ingest in one process (0.29–0.30 s); at
200,000 they cost 0.10–0.12 s and 0.08 s, peak RSS unchanged (docs/scaling.md, "seventh pass").  Worker
processes forked from the CLI inherit the setting; the entry points that start a
process of their own (the CLI, an ingest worker, a benchmark) call ``configure_process``.

The same start-up gives Python's ``sqlite3`` an adapter for ``None``.  Python 3.11 binds a
parameter other than an exact int, float or str only after looking for an adapter; finding
none for ``None`` it asks the protocol class for ``__adapt__``, so each NULL of each row builds
and throws away an ``AttributeError`` message (about half a microsecond: 3 % of the
instructions of an ingest into SQLite, which binds ≈ 13 NULLs per CSV line).  The adapter it finds
instead returns the ``None`` it is given, which binds as NULL, as before.
"""

from __future__ import annotations

import gc
import sqlite3

YOUNG_GENERATION_THRESHOLD = 200_000
OLDER_GENERATION_THRESHOLDS = (20, 20)


_NOTHING: dict[object, None] = {}
NULL_ADAPTER = _NOTHING.get
"""Given ``None``, returns ``None`` (a C call: the adapter runs once per NULL)."""


def configure_process() -> None:
    """Set the collector's thresholds for a bulk-writing process and ``sqlite3``'s adapter for ``None``;
    calling it again changes nothing."""
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *OLDER_GENERATION_THRESHOLDS)
    sqlite3.register_adapter(type(None), NULL_ADAPTER)
