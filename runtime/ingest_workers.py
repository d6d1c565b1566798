"""Parse and check a CSV export in worker processes while this process writes the ledger.

Parsing, the rule pack and making rows (``ledger.prepared``) are pure and take most
of an ingest's time; the ledger writes are one process's job.  Each worker reads the
whole file but builds only its share of the claims (``CsvExportReader`` partitions
by claim id), and sends ``PreparedClaim`` and ``RowError`` items with their place in
the file; this process merges the streams back into file order, so the result —
ledger rows, report, errors and their order — is the one a single process gives.

Workers are forked (they inherit the configuration, the rule settings and the
checker); a worker that fails stops the ingest with an error naming the file, and
what was stored before stays stored (re-ingesting the file adds only the rest).
"""

from __future__ import annotations

import fcntl
import heapq
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import structlog

from domain.claim import Claim
from ledger.prepared import PreparedClaim
from parsers.csv_export import CsvExportReader, Tag
from parsers.errors import RowError
from parsers.profiles import Profile

log = structlog.get_logger(__name__)

BATCH = 256  # items per message: few enough for the pipe to stay busy, many enough to amortize pickling
PIPE_BYTES = 1 << 20  # per worker, ahead of the writer: some 1,500 claims
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
MIN_BYTES_FOR_WORKERS = 2_000_000  # below this, forking costs more than it saves
WORKERS_ENV = "BHCLAIMS_INGEST_WORKERS"

Item = PreparedClaim | RowError
Prepare = Callable[[Claim], PreparedClaim]


class IngestWorkerError(RuntimeError):
    """A worker process stopped without finishing its share of the export."""


def worker_count(path: Path, *, setting: str | None = None) -> int:
    """How many workers to use for ``path``: ``BHCLAIMS_INGEST_WORKERS`` (0 or 1: none) or,
    by default, two for a file of 2 MB or more when this process may run on two CPUs or more.
    On two CPUs the writer and both workers share them, and the ingest still takes about
    two thirds of the time it takes alone (README, Measured); on one, workers only add
    their overhead."""
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


class Shares:
    """The merged, file-ordered stream of the workers' items; ``rows_read`` once it is drained."""

    def __init__(self, connections: list[Connection], path: Path) -> None:
        self._connections = connections
        self._path = path
        self._rows: dict[int, int] = {}

    @property
    def rows_read(self) -> int:
        if 0 not in self._rows:
            raise RuntimeError("rows_read is known once every item has been taken")
        return self._rows[0]

    def _stream(self, number: int) -> Iterator[tuple[Tag, Item]]:
        connection = self._connections[number]
        while True:
            try:
                kind, payload = connection.recv()
            except EOFError:
                raise IngestWorkerError(
                    f"{self._path}: ingest worker {number} stopped without a word (killed?); "
                    "the claims stored before it stopped stay stored"
                ) from None
            if kind == "items":
                yield from payload
            elif kind == "done":
                self._rows[number] = payload
                return
            else:
                raise IngestWorkerError(
                    f"{self._path}: ingest worker {number} failed ({payload}); "
                    "the claims stored before it failed stay stored"
                )

    def __iter__(self) -> Iterator[Item]:
        streams = [self._stream(number) for number in range(len(self._connections))]
        for _tag, item in heapq.merge(*streams, key=_tag_of):
            yield item


def _tag_of(pair: tuple[Tag, Item]) -> Tag:
    return pair[0]


@contextmanager
def worker_shares(path: Path, *, today: date, profile: Profile | None, prepare: Prepare, workers: int,
                  after_fork: Callable[[], None] = lambda: None) -> Iterator[Shares]:
    """Start ``workers`` processes on ``path``; stop them all when the block ends, however it ends."""
    context = multiprocessing.get_context("fork")
    processes: list[Any] = []
    receivers: list[Connection] = []
    try:
        for number in range(workers):
            receiver, sender = context.Pipe(duplex=False)
            _widen(sender)
            process = context.Process(
                target=_work,
                args=(sender, path, today, profile, (number, workers), prepare, after_fork),
                name=f"bhclaims-ingest-{number}",
                daemon=True,
            )
            process.start()
            sender.close()  # the worker holds the only writing end: its exit is our EOF
            processes.append(process)
            receivers.append(receiver)
        yield Shares(receivers, path)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)
        for receiver in receivers:
            receiver.close()


def _work(sender: Connection, path: Path, today: date, profile: Profile | None, partition: tuple[int, int],
          prepare: Prepare, after_fork: Callable[[], None]) -> None:
    """One worker: read its partition, prepare its claims, send them in batches."""
    try:
        after_fork()
        reader = CsvExportReader(path, today=today, profile=profile, partition=partition)
        batch: list[tuple[Tag, Item]] = []
        for tag, item in reader.tagged():
            batch.append((tag, item if isinstance(item, RowError) else prepare(item)))
            if len(batch) >= BATCH:
                sender.send(("items", batch))
                batch = []
        if batch:
            sender.send(("items", batch))
        sender.send(("done", reader.rows_read))
    except BaseException as exc:  # noqa: BLE001 - reported to the writer, which stops the ingest
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


def _widen(connection: Connection) -> None:
    """Let the pipe hold several batches (Linux: up to ``pipe-max-size``, 1 MiB by default), so
    that a worker goes on parsing while the writer commits a chunk instead of waiting on it."""
    try:
        fcntl.fcntl(connection.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # not Linux, or a lower limit: the default pipe still works, only slower
        pass
