"""Ingest a CSV export in worker processes, each parsing, checking and storing its share.

This process makes the reader's first pass once (each claim's last row and
partition, and where each partition's runs of records lie) before forking — its two
halves at once, the second in a short-lived helper process (``shared_first_pass``:
the whole pass here wherever the halves cannot be joined); each worker
then reads the file but splits, examines and builds only its share of the claims
(``CsvExportReader`` partitions by claim id: the other rows' lines are passed over
unsplit), prepares them (``ledger.prepared``)
and stores them itself, chunk by chunk, as one process would (``ledger.ingest``).
The writes of the workers take turns: a chunk's transaction holds the ledger's
write lock (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL the chunk takes an advisory
lock), so a worker finds the parties another one stored and keys never collide.
Before that, the workers pass a turn among themselves (a lock they share): a worker
whose chunk is full but finds the turn taken goes on parsing instead of waiting on
the database (``ingest_prepared``), so while one writes, the other parses; towards the
end of the file their chunks halve (``share_chunk_size``).  Nothing but a small report
crosses the pipe: each claim id and error with its place in the file, from which this
process rebuilds the report of a single process — its lists and errors in file order.

Workers are forked (they inherit the configuration, the rule settings and the
checker); a worker that fails stops the ingest with an error naming the file, the
others are stopped, and what was stored before stays stored (re-ingesting the file
adds only the rest).  Workers die with the process that forked them, also when it
is killed with SIGKILL and can stop nothing itself: each asks the kernel for SIGKILL
when its parent goes (Linux ``prctl(PR_SET_PDEATHSIG)``) and checks, once that is
asked, that its parent is still the one that forked it.  A killed worker's chunk in
flight is rolled back by the database, and its locks (SQLite's file lock, the
PostgreSQL session and its advisory locks) go with it, so the next ingest is not
kept waiting.
"""

from __future__ import annotations

import ctypes
import heapq
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import date
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from domain.claim import Claim
from ledger.db import Ledger
from ledger.ingest import CHUNK_SIZE, IngestReport, WriteTurn, ingest_prepared
from ledger.prepared import PreparedClaim
from parsers.csv_export import CsvExportReader, FirstPass, PassPart, Tag, line_feed_near_middle
from parsers.errors import RowError
from parsers.profiles import Profile
from runtime.logs import get_logger
from runtime.process import configure_process

log = get_logger(__name__)

MIN_BYTES_FOR_WORKERS = 2_000_000  # below this, forking costs more than it saves
MIN_CHUNK_SIZE = 500  # each chunk pays a commit and a checkpoint: below this they outweigh the rows
WORKERS_ENV = "BHCLAIMS_INGEST_WORKERS"
REPORT_LISTS = tuple(f.name for f in fields(IngestReport))  # each in the order its claims came

Prepare = Callable[[Claim], PreparedClaim]


class IngestWorkerError(RuntimeError):
    """A worker process stopped without finishing its share of the export."""


def worker_count(path: Path, *, setting: str | None = None) -> int:
    """How many workers to use for ``path``: ``BHCLAIMS_INGEST_WORKERS`` (0 or 1: none) or,
    by default, two for a file of 2 MB or more when this process may run on two CPUs or more
    (each worker then has a CPU: this process only waits for their reports); on one, workers
    would only add their overhead."""
    setting = os.environ.get(WORKERS_ENV) if setting is None else setting
    if setting not in (None, "", "auto"):
        try:
            count = int(setting)
        except ValueError:
            raise ValueError(f"{WORKERS_ENV} must be a number of processes or 'auto', not {setting!r}") from None
        if count < 0:
            raise ValueError(f"{WORKERS_ENV} must not be negative")
        return 0 if count <= 1 else count
    if usable_cpus() < 2 or path.stat().st_size < MIN_BYTES_FOR_WORKERS:
        return 0
    return 2


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, which a container or ``taskset`` narrows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def ingest_in_workers(ledger: Ledger, path: Path, *, today: date, profile: Profile | None, prepare: Prepare,
                      actor: str, workers: int) -> tuple[IngestReport, list[RowError], int]:
    """Ingest ``path`` in ``workers`` processes; the report, the row errors (both in file
    order, as one process gives them) and the rows read."""
    context = multiprocessing.get_context("fork")
    parent = os.getpid()
    processes: list[Any] = []
    receivers: dict[Connection, int] = {}
    shares: dict[int, dict[str, Any]] = {}
    turn = context.Lock()  # whose turn it is to write (ledger.ingest.ingest_prepared)
    # The first pass (each claim's last row and partition) once, here, for all the workers:
    # they inherit it with the fork instead of each reading the file once more for it.
    first_pass = shared_first_pass(CsvExportReader(path, today=today, profile=profile, partition=(0, workers)),
                                   parent)
    try:
        for number in range(workers):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_work,
                args=(sender, ledger, path, today, profile, (number, workers), first_pass, prepare, actor, turn,
                      parent),
                name=f"bhclaims-ingest-{number}",
                daemon=True,
            )
            process.start()
            sender.close()  # the worker holds the only writing end: its exit is our EOF
            processes.append(process)
            receivers[receiver] = number
        pending = dict(receivers)
        while pending:
            for ready in wait(list(pending)):
                number = pending.pop(ready)  # type: ignore[call-overload]
                shares[number] = _share_of(ready, number, path)  # type: ignore[arg-type]
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)
        for receiver in receivers:
            receiver.close()
    return _merged(shares), _merged_errors(shares), shares[0]["rows_read"]


def shared_first_pass(reader: CsvExportReader, parent: int) -> FirstPass:
    """``reader.first_pass()``, its two halves read at once: the second by a helper process, the first here
    (nothing else can run while it is made: the workers need it).  Where the halves cannot be joined (the
    first half does not end where a record ends, the helper fails) or the file has no middle line feed,
    the whole pass is made here, as before."""
    middle = line_feed_near_middle(reader.path)
    if middle is None:
        return reader.first_pass()
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    helper = context.Process(target=_second_half, args=(sender, reader, middle, parent),
                             name="bhclaims-ingest-first-pass", daemon=True)
    helper.start()
    sender.close()
    try:
        first = reader.first_pass_part(stop=middle)
        try:
            second: PassPart | None = receiver.recv()
        except EOFError:
            second = None
    finally:
        receiver.close()
        if helper.is_alive():
            helper.terminate()
        helper.join(timeout=10)
    if first is None or second is None:
        return reader.first_pass()
    return reader.joined(first, second)


def _second_half(sender: Connection, reader: CsvExportReader, start: int, parent: int) -> None:
    """The helper of ``shared_first_pass``: the first pass from ``start`` on, sent back (None if it failed)."""
    die_with_parent(parent)
    try:
        part = reader.first_pass_part(start=start)
    except Exception:  # noqa: BLE001 - the whole pass is then made by the process that asked
        part = None
    try:
        sender.send(part)
    finally:
        sender.close()


def _share_of(connection: Connection, number: int, path: Path) -> dict[str, Any]:
    try:
        kind, payload = connection.recv()
    except EOFError:
        raise IngestWorkerError(
            f"{path}: ingest worker {number} stopped without a word (killed?); "
            "the claims stored before it stopped stay stored"
        ) from None
    if kind != "done":
        raise IngestWorkerError(
            f"{path}: ingest worker {number} failed ({payload}); the claims stored before it failed stay stored"
        )
    return payload  # type: ignore[no-any-return]


def _first(pair: tuple[Tag, Any]) -> Tag:
    return pair[0]


def _merged(shares: dict[int, dict[str, Any]]) -> IngestReport:
    report = IngestReport()
    for name in REPORT_LISTS:
        merged = heapq.merge(*(share[name] for share in shares.values()), key=_first)
        getattr(report, name).extend(value for _tag, value in merged)
    return report


def _merged_errors(shares: dict[int, dict[str, Any]]) -> list[RowError]:
    return [error for _tag, error in heapq.merge(*(share["errors"] for share in shares.values()), key=_first)]


def share_chunk_size(reader: CsvExportReader, parts: int) -> int:
    """Claims per chunk for one of ``parts`` workers: ``CHUNK_SIZE``, but towards the end of
    the file half the claims the worker has still to read (at least ``MIN_CHUNK_SIZE``).

    The workers reach the end of the file together; with full-size last chunks one would
    then wait for the other's whole chunk to be written, a CPU idle all the while.  Chunks
    halving towards the end cost a few more transactions and leave small last chunks."""
    if reader.rows_total <= 0:
        return CHUNK_SIZE
    rows_left = reader.rows_total - reader.rows_read
    claims_left = rows_left * reader.claims_total / reader.rows_total / parts
    return max(MIN_CHUNK_SIZE, min(CHUNK_SIZE, int(claims_left / 2)))


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Be killed when ``parent`` dies (Linux); leave at once if it already has.

    The request is made in the child, after the fork: a parent that died before it was
    made would never send the signal, so the parent's pid is checked afterwards.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pid check below, and the pipe, remain
        pass
    if os.getppid() != parent:
        os._exit(1)


def _work(sender: Connection, ledger: Ledger, path: Path, today: date, profile: Profile | None,
          partition: tuple[int, int], first_pass: FirstPass, prepare: Prepare, actor: str, turn: WriteTurn,
          parent: int) -> None:
    """One worker: read its partition, prepare and store its claims, report with places in the file."""
    die_with_parent(parent)
    configure_process()
    try:
        ledger.forget_connections()
        reader = CsvExportReader(path, today=today, profile=profile, partition=partition, first_pass=first_pass)
        errors: list[tuple[Tag, RowError]] = []
        tags: dict[str, Tag] = {}

        def claims() -> Iterator[PreparedClaim]:
            for tag, item in reader.tagged():
                if isinstance(item, RowError):
                    errors.append((tag, item))
                else:
                    tags[item.claim_id] = tag  # one claim per id in a file
                    yield prepare(item)

        report = ingest_prepared(ledger, claims(), actor=actor, turn=turn,
                                 chunk_target=lambda: share_chunk_size(reader, partition[1]))
        share: dict[str, Any] = {"errors": errors, "rows_read": reader.rows_read}
        for name in REPORT_LISTS:
            values = getattr(report, name)
            share[name] = [(tags[value if isinstance(value, str) else value[0]], value) for value in values]
        sender.send(("done", share))
    except BaseException as exc:  # noqa: BLE001 - reported to the waiting process, which stops the ingest
        # The type and where, not the message: a message may quote a cell (PHI) and this
        # ends up in cron mail.
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
        log.error("ingest worker failed", worker=partition[0], error=type(exc).__name__, where=where)
        try:
            sender.send(("failed", f"{type(exc).__name__}{where}"))
        except OSError:
            pass
    finally:
        sender.close()
