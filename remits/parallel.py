"""`bhclaims post --workers N`: several processes post the fetched files of a PostgreSQL ledger.

Each worker takes the oldest fetched file no other transaction holds (``FOR UPDATE SKIP
LOCKED``) and posts it in that same transaction, then takes the next; so a file is
posted once however many workers run, and a worker killed mid-file (kill -9 included)
loses its connection, its work is rolled back by the server and the file goes back in
line.  Files are taken kind by kind in posting order (TA1, then 999/997, then 277CA,
then the rest: the 835s), all workers finishing one kind before any starts the next,
as ``bhclaims post`` does one file after another: a 999 that arrives with its 835
still moves a claim sent -> accepted -> paid.  After each kind the parent process takes
whatever a dead worker left, so one run still posts everything.

SQLite has one writer at a time, so more workers would only wait for each other: refused.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Collection
from functools import partial
from multiprocessing.connection import Connection

from sqlalchemy.exc import SQLAlchemyError

from domain.remittance import OurPayer
from ledger.advisory import is_postgres
from ledger.db import DatabaseError, Ledger
from ledger.inbound_queue import take_next_inbound, waiting_inbound
from remits.inbound import PostReport, merge_reports, post_taken
from remits.payments import OUR_PAYER
from runtime.logs import get_logger

log = get_logger("bhclaims.post")

# Posting order, kind by kind; None: every kind not named before (835s, and files not recognised)
PHASES: tuple[Collection[str] | None, ...] = (("TA1",), ("999", "997"), ("277CA",), None)
MAX_WORKERS = 32


class ParallelRefused(ValueError):
    """``--workers`` asked of a ledger that cannot use it."""


def check_workers(url: str, workers: int) -> None:
    if not 1 <= workers <= MAX_WORKERS:
        raise ParallelRefused(f"--workers must be from 1 to {MAX_WORKERS}")
    if workers > 1 and not is_postgres(url):
        raise ParallelRefused(
            "--workers above 1 needs a PostgreSQL ledger: SQLite lets one process write at a time, "
            "so more workers would only wait for each other; run `bhclaims post` without --workers"
        )


def post_pending_parallel(ledger: Ledger, workers: int, *, actor: str, payer: OurPayer = OUR_PAYER) -> PostReport:
    """Post every fetched file with ``workers`` processes; the report adds up theirs."""
    check_workers(ledger.url, workers)
    report = PostReport()
    for kinds in PHASES:
        with ledger.read_session() as session:
            waiting = waiting_inbound(session, kinds)
        if not waiting:
            continue
        for worker_report in _run_workers(ledger, min(workers, waiting), kinds, actor=actor, payer=payer):
            merge_reports(report, worker_report)
        _post_all(ledger, kinds, actor=actor, report=report, payer=payer)  # what a dead worker let go
    return report


def _post_all(ledger: Ledger, kinds: Collection[str] | None, *, actor: str, report: PostReport,
              payer: OurPayer) -> None:
    take = partial(take_next_inbound, kinds=kinds)
    while post_taken(ledger, take, actor=actor, report=report, payer=payer):
        pass


def _run_workers(ledger: Ledger, workers: int, kinds: Collection[str] | None, *, actor: str,
                 payer: OurPayer) -> list[PostReport]:
    context = multiprocessing.get_context("fork")
    started: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    for _ in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(ledger, kinds, actor, payer, sender), daemon=True)
        process.start()
        sender.close()  # the child's end: a dead child then reads as end of file here
        started.append((process, receiver))
    reports: list[PostReport] = []
    failures: list[str] = []
    for child, receiver in started:
        try:
            outcome, value = receiver.recv()
        except EOFError:
            outcome, value = "died", None
        child.join()
        receiver.close()
        if outcome == "ok":
            reports.append(value)
        elif outcome == "error":
            failures.append(str(value))
        else:
            log.warning("post.worker_died", exit_code=child.exitcode)
    if failures:
        raise DatabaseError(f"a posting worker stopped: {failures[0]}; what it held was rolled back: "
                            "run `bhclaims post` again")
    return reports


def _words(exc: Exception) -> str:
    """The database's first line (its parameters are hidden), or only the kind of any other error."""
    if not isinstance(exc, SQLAlchemyError):
        return f"internal error ({type(exc).__name__})"
    original = getattr(exc, "orig", None) or exc
    said = (str(original).strip().splitlines() or [""])[0][:200]
    return f"the ledger database failed: {said} ({type(original).__name__})"


def _worker(ledger: Ledger, kinds: Collection[str] | None, actor: str, payer: OurPayer, sender: Connection) -> None:
    """In the child: post until no file of ``kinds`` is left unheld; send the report (or why it stopped)."""
    ledger.forget_connections()
    report = PostReport()
    try:
        _post_all(ledger, kinds, actor=actor, report=report, payer=payer)
    except Exception as exc:  # told to the parent in words it may print: no values
        sender.send(("error", _words(exc)))
    else:
        sender.send(("ok", report))
    finally:
        sender.close()
        ledger.dispose()
