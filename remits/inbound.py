"""`bhclaims post`: fetched (or named) reply files into the ledger, each exactly once.

A file is known by its sha256.  Posting and marking the file ``posted`` happen
in one transaction, so a crash (kill -9 included) leaves the file either wholly
posted or not at all, and a rerun finishes the job.  A file we cannot read, an
acknowledgement of something we never sent, a remittance we refuse to post
(another payer or payee, a claim never sent, unbalanced, a negative deposit, a
reused trace number, a reversal of nothing) or a value the ledger cannot store
marks the whole file ``quarantined`` with a quarantine row giving the reasons, and
the other files go on.  835s are streamed from disk through the X12 engine's one
segment source, so their size does not matter; what that source forgave (a byte-order
mark, Ctrl-Z/NUL padding) is logged per file (``x12.tolerated``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import Session

from domain.remittance import OurPayer
from edi.sniff import FileKind, sniff
from edi.ta1 import read_ta1
from edi.tokenizer import SegmentSource
from edi.x12 import X12ParseError
from edi.x277ca import read_277ca
from edi.x835 import read_remittance_parts
from edi.x999 import read_999
from ledger.db import Ledger
from ledger.inbound_queue import lock_inbound
from ledger.models import Transmission
from remits.acks import AckReport, post_claim_status, post_functional_ack, post_interchange_ack
from remits.payments import OUR_PAYER, PaymentReport, post_remittance_parts, quarantine
from remits.refusals import FileRefused
from runtime.logs import get_logger

log = get_logger("bhclaims.post")

POSTING_ORDER = {"TA1": 0, "999": 1, "997": 1, "277CA": 2, "835": 3}


@dataclass
class PostReport:
    files_posted: list[str] = field(default_factory=list)
    already_posted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    acks: AckReport = field(default_factory=AckReport)
    payments: PaymentReport = field(default_factory=PaymentReport)


def post_pending(ledger: Ledger, *, actor: str, payer: OurPayer = OUR_PAYER) -> PostReport:
    """Post every fetched file not yet posted; only ``payer``'s remittances may touch a claim."""
    report = PostReport()
    with ledger.session() as session:
        pending = list(session.execute(select(Transmission.id, Transmission.kind).where(
            Transmission.direction == "in", Transmission.state == "fetched").order_by(Transmission.id)))
    # Acknowledgements first: a 999 that arrives with its 835 still moves sent -> accepted -> paid.
    pending.sort(key=lambda row: (POSTING_ORDER.get(row.kind, len(POSTING_ORDER)), row.id))
    for transmission_id, _kind in pending:
        _post_transmission(ledger, transmission_id, actor=actor, report=report, payer=payer)
    return report


def post_files(ledger: Ledger, paths: list[Path], *, actor: str, payer: OurPayer = OUR_PAYER) -> PostReport:
    """Post named files: recorded as inbound transmissions first, so a second run skips them."""
    report = PostReport()
    for path in paths:
        digest, size, head = _digest(path)
        try:
            transmission_id, state = _record_named_file(ledger, path, digest, size, head)
        except IntegrityError:  # recorded by another process just now: read what it wrote
            transmission_id, state = _record_named_file(ledger, path, digest, size, head)
        if state == "posted":
            report.already_posted.append(path.name)
            continue
        _post_transmission(ledger, transmission_id, actor=actor, report=report, payer=payer)
    return report


def _record_named_file(ledger: Ledger, path: Path, digest: str, size: int, head: bytes) -> tuple[int, str]:
    with ledger.session() as session:
        row = session.scalar(select(Transmission).where(
            Transmission.direction == "in", Transmission.sha256 == digest).order_by(Transmission.id))
        if row is None:
            row = Transmission(direction="in", kind=_kind_of(head), file_name=path.name,
                               local_path=str(path.resolve()), sha256=digest, size=size, state="fetched")
            session.add(row)
            session.flush()
        return row.id, row.state


def _digest(path: Path) -> tuple[str, int, bytes]:
    """sha256, size and the first bytes of a file, read in chunks (835s can be hundreds of MB)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if not head:
                head = chunk[:SNIFF_BYTES]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, head


def _kind_of(data: bytes) -> str:
    try:
        return str(sniff(data).kind)
    except X12ParseError:
        return "unknown"


SNIFF_BYTES = 1 << 16
CONCURRENT_RETRIES = 3
# PostgreSQL's answers when it ended this transaction to let a concurrent one go on (deadlock
# detected, serialization failure): nothing was wrong with the file, and the same file posts when tried again.
CONFLICT_STATES = frozenset({"40P01", "40001"})


def _lost_to_a_concurrent_writer(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in CONFLICT_STATES


def _post_transmission(ledger: Ledger, transmission_id: int, *, actor: str, report: PostReport,
                       payer: OurPayer) -> None:
    """Post one file by its id (waiting for any other process that holds it)."""
    post_taken(ledger, partial(lock_inbound, transmission_id=transmission_id), actor=actor, report=report,
               payer=payer)


def post_taken(ledger: Ledger, take: Callable[[Session], Transmission | None], *, actor: str,
               report: PostReport, payer: OurPayer) -> bool:
    """Post the file ``take`` locks inside the transaction; False when it found none.

    One transaction per file: posted whole, or (refused / unreadable / unstorable) not at all.
    The transmission row is locked and its state re-read inside the transaction, so two
    processes posting the same fetched file post it once.  A unique-key failure on
    ``remittances`` means another process committed the same payment first: the file is
    tried again and then finds it as a duplicate (PostgreSQL; SQLite serialises writers).
    A transaction the server ended to break a deadlock with another writer (two workers
    posting files that pay the same claims) is tried again the same way.
    Whatever this file alone is to blame for — it cannot be read, it is refused, the ledger
    cannot store one of its values — rolls back this file only and quarantines it; a fault
    of the machine (database down or locked, disk full) stops the run.
    """
    transmission_id, name = 0, ""
    for attempt in range(CONCURRENT_RETRIES):
        payments, acks = PaymentReport(), AckReport()
        try:
            with ledger.session() as session:
                row = take(session)
                if row is None:
                    return False
                transmission_id, name = row.id, row.file_name
                if row.state == "posted":
                    report.already_posted.append(name)
                    return True
                if row.state != "fetched":
                    report.failed.append((name, f"{row.state} earlier; release it to post it again"))
                    return True
                try:
                    kind = _post_path(session, Path(row.local_path or ""), name, row.id, actor=actor,
                                      acks=acks, payments=payments, payer=payer)
                except (X12ParseError, OSError) as exc:
                    raise FileRefused([f"unreadable: {exc}"]) from exc
                row.kind = str(kind)
                row.state = "posted"
        except FileRefused as refused:
            _quarantine_file(ledger, transmission_id, name, refused.reasons, report)
            return True
        except IntegrityError as exc:
            if attempt + 1 < CONCURRENT_RETRIES:
                log.info("remit.concurrent_post", file=name, attempt=attempt + 1)
                take = partial(lock_inbound, transmission_id=transmission_id)  # the same file again
                continue
            _quarantine_file(ledger, transmission_id, name, [_unstorable(exc)], report)
            return True
        except OperationalError as exc:
            if not _lost_to_a_concurrent_writer(exc) or attempt + 1 == CONCURRENT_RETRIES:
                raise  # the database or the link failed, not this file: stop the run (exit 2)
            log.info("remit.concurrent_conflict", file=name, attempt=attempt + 1)
            take = partial(lock_inbound, transmission_id=transmission_id)
            continue
        except (DataError, StatementError, ArithmeticError) as exc:
            if isinstance(exc, DBAPIError) and not isinstance(exc, DataError):
                raise  # the database or the link failed, not this file: stop the run (exit 2)
            _quarantine_file(ledger, transmission_id, name, [_unstorable(exc)], report)
            return True
        _merge(report.payments, payments)
        _merge(report.acks, acks)
        report.files_posted.append(name)
        log.info("file.posted", file=name, kind=str(kind))
        return True
    return True


def _unstorable(exc: BaseException) -> str:
    """Why the ledger refused a value of the file: the error's kind only (a database message may
    quote the value, and a value may be patient data)."""
    cause = getattr(exc, "orig", None) or exc
    return (f"the ledger cannot store a value of this file ({type(cause).__name__}); "
            "nothing of it was posted")


def _quarantine_file(ledger: Ledger, transmission_id: int, name: str, reasons: list[str],
                     report: PostReport) -> None:
    _mark_quarantined(ledger, transmission_id, reasons)
    report.payments.quarantined.extend(reasons)
    report.failed.append((name, reasons[0]))
    log.warning("file.quarantined", file=name, reasons=len(reasons))


Report = TypeVar("Report", PaymentReport, AckReport)


def merge_reports(into: PostReport, more: PostReport) -> None:
    """Add what another poster (a worker process) did to ``into``."""
    into.files_posted += more.files_posted
    into.already_posted += more.already_posted
    into.failed += more.failed
    _merge(into.acks, more.acks)
    _merge(into.payments, more.payments)


def _merge(into: Report, more: Report) -> None:
    for name, value in vars(more).items():
        current = getattr(into, name)
        setattr(into, name, current + value)


def _post_path(session: Session, path: Path, name: str, transmission_id: int, *, actor: str,
               acks: AckReport, payments: PaymentReport, payer: OurPayer) -> FileKind:
    """Post one file through the one segment source; what it forgave (a BOM, padding) goes to the log."""
    with path.open("rb") as handle:
        kind = sniff(handle.read(SNIFF_BYTES), source=name).kind
    data = SegmentSource(path, source=name)
    try:
        if kind == FileKind.REMITTANCE_835:
            # this transaction has only taken the file (``lock_inbound``): the lookups may go apart
            post_remittance_parts(session, read_remittance_parts(data, drafts=True), transmission_id=transmission_id,
                                  actor=actor, report=payments, payer=payer, lookups_apart=True)
        elif kind in (FileKind.ACK_999, FileKind.ACK_997):
            for ack in read_999(data, source=name):
                post_functional_ack(session, ack, transmission_id=transmission_id, actor=actor, report=acks)
        elif kind == FileKind.TA1:
            for ta1 in read_ta1(data, source=name):
                post_interchange_ack(session, ta1, transmission_id=transmission_id, actor=actor, report=acks)
        elif kind == FileKind.CLAIM_ACK_277CA:
            for status_report in read_277ca(data, source=name):
                post_claim_status(session, status_report, transmission_id=transmission_id, actor=actor,
                                  report=acks, payer=payer)
        else:
            raise X12ParseError(f"a {kind} file is not something we post")
    finally:
        data.close()
    for note in data.notes:
        log.info("x12.tolerated", file=name, note=note)
    return kind


def _mark_quarantined(ledger: Ledger, transmission_id: int, reasons: list[str]) -> None:
    """The whole file waits for a human: one quarantine row listing every reason."""
    with ledger.session() as session:
        row = session.get_one(Transmission, transmission_id)
        row.state = "quarantined"
        row.detail = "\n".join(reasons)[:2000]
        quarantine(session, transmission_id, f"{row.file_name}: {reasons[0]}"[:200], reasons)


def release_quarantined(ledger: Ledger, transmission_id: int, *, actor: str) -> None:
    """Put a quarantined or failed file back in line (after the clerk fixed what it waited for,
    e.g. the original of a reversal was posted); the next ``post_pending`` tries it again."""
    with ledger.session() as session:
        row = session.get_one(Transmission, transmission_id)
        if row.state not in ("quarantined", "failed"):  # failed: how earlier versions marked an unreadable file
            raise ValueError(f"transmission {transmission_id} is {row.state}, not quarantined")
        row.state = "fetched"
        row.detail = f"released by {actor}"
