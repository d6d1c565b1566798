"""`bhclaims post`: fetched (or named) reply files into the ledger, each exactly once.

A file is known by its sha256.  Posting and marking the file ``posted`` happen
in one transaction, so a crash leaves the file either wholly posted or not at
all, and a rerun finishes the job.  A file we cannot read is marked ``failed``
and quarantined with the reason; the other files go on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from edi.sniff import FileKind, sniff
from edi.x12 import X12ParseError
from edi.ta1 import read_ta1
from edi.x277ca import read_277ca
from edi.x835 import read_835
from edi.x999 import read_999
from ledger.db import Ledger
from ledger.models import Transmission
from remits.acks import AckReport, post_claim_status, post_functional_ack, post_interchange_ack
from remits.payments import PaymentReport, post_remittances, quarantine
from runtime.logs import get_logger
from validators.remit_balance import check_balances

log = get_logger("bhclaims.post")

POSTING_ORDER = {"TA1": 0, "999": 1, "997": 1, "277CA": 2, "835": 3}


@dataclass
class PostReport:
    files_posted: list[str] = field(default_factory=list)
    already_posted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    acks: AckReport = field(default_factory=AckReport)
    payments: PaymentReport = field(default_factory=PaymentReport)


def post_pending(ledger: Ledger, *, actor: str) -> PostReport:
    """Post every fetched file not yet posted."""
    report = PostReport()
    with ledger.session() as session:
        pending = list(session.execute(select(Transmission.id, Transmission.kind).where(
            Transmission.direction == "in", Transmission.state == "fetched").order_by(Transmission.id)))
    # Acknowledgements first: a 999 that arrives with its 835 still moves sent -> accepted -> paid.
    pending.sort(key=lambda row: (POSTING_ORDER.get(row.kind, len(POSTING_ORDER)), row.id))
    for transmission_id, _kind in pending:
        _post_transmission(ledger, transmission_id, actor=actor, report=report)
    return report


def post_files(ledger: Ledger, paths: list[Path], *, actor: str) -> PostReport:
    """Post named files: recorded as inbound transmissions first, so a second run skips them."""
    report = PostReport()
    for path in paths:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        with ledger.session() as session:
            row = session.scalar(select(Transmission).where(
                Transmission.direction == "in", Transmission.sha256 == digest))
            if row is None:
                row = Transmission(direction="in", kind=_kind_of(data), file_name=path.name,
                                   local_path=str(path.resolve()), sha256=digest, size=len(data), state="fetched")
                session.add(row)
                session.flush()
            transmission_id, state = row.id, row.state
        if state == "posted":
            report.already_posted.append(path.name)
            continue
        _post_transmission(ledger, transmission_id, actor=actor, report=report)
    return report


def _kind_of(data: bytes) -> str:
    try:
        return str(sniff(data.decode("ascii", errors="replace")).kind)
    except X12ParseError:
        return "unknown"


class _Unreadable(Exception):
    """Raised inside the posting transaction so that it rolls back whole."""


def _post_transmission(ledger: Ledger, transmission_id: int, *, actor: str, report: PostReport) -> None:
    name = str(transmission_id)
    try:
        with ledger.session() as session:
            row = session.get_one(Transmission, transmission_id)
            name = row.file_name
            try:
                text = Path(row.local_path or "").read_bytes().decode("ascii", errors="strict")
                kind = _post_text(session, text, name, row.id, actor=actor, report=report)
            except (X12ParseError, UnicodeDecodeError, OSError) as exc:
                raise _Unreadable(str(exc)) from exc
            row.kind = str(kind)
            row.state = "posted"
    except _Unreadable as exc:
        _mark_failed(ledger, transmission_id, str(exc))
        report.failed.append((name, str(exc)))
        log.warning("file.post_failed", file=name, error=str(exc))
        return
    report.files_posted.append(name)
    log.info("file.posted", file=name, kind=str(kind))


def _post_text(session: Session, text: str, name: str, transmission_id: int, *, actor: str,
               report: PostReport) -> FileKind:
    kind = sniff(text, source=name).kind
    if kind == FileKind.REMITTANCE_835:
        remittances = read_835(text, source=name)
        errors = [e for remit in remittances for e in check_balances(remit)]
        before = len(report.payments.quarantined)
        post_remittances(session, remittances, balance_errors=errors, transmission_id=transmission_id,
                         actor=actor, report=report.payments)
        if len(report.payments.quarantined) > before:
            report.failed.append((name, report.payments.quarantined[-1]))
    elif kind in (FileKind.ACK_999, FileKind.ACK_997):
        for ack in read_999(text, source=name):
            post_functional_ack(session, ack, transmission_id=transmission_id, actor=actor, report=report.acks)
    elif kind == FileKind.TA1:
        for ta1 in read_ta1(text, source=name):
            post_interchange_ack(session, ta1, transmission_id=transmission_id, actor=actor, report=report.acks)
    elif kind == FileKind.CLAIM_ACK_277CA:
        for status_report in read_277ca(text, source=name):
            post_claim_status(session, status_report, transmission_id=transmission_id, actor=actor,
                              report=report.acks)
    else:
        raise X12ParseError(f"a {kind} file is not something we post")
    return kind


def _mark_failed(ledger: Ledger, transmission_id: int, reason: str) -> None:
    with ledger.session() as session:
        row = session.get_one(Transmission, transmission_id)
        row.state = "failed"
        row.detail = reason[:2000]
        quarantine(session, transmission_id, f"cannot read {row.file_name}: {reason}"[:200])
