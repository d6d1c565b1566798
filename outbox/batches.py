"""`bhclaims build`: ready claims → 837P files in the outbox, each X12-clean or not released.

Step 1 (one transaction): pick ready claims, re-check the rules (deadlines move
with the calendar), hold the failing ones, take fresh control numbers, record
the batch and move its claims to ``batched``.  Step 2: render the file, validate
it with the X12 engine (and pyx12 too with ``build --pyx12``), write it 0600.  A batch whose file was never written (a crash
between the steps) is rendered again from the same claims and numbers on the
next run, so no claim ends up in two batches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.claim import Claim as DomainClaim
from edi.x837p import BuildSettings, ClaimNotWritable, ControlNumbers, Receiver, Submitter, build_837p
from ledger.batching import (
    StoredClaim,
    add_to_batch,
    batch_members,
    hold_claims,
    moved,
    ready_claims,
    remove_from_batch,
)
from ledger.claims import transition
from ledger.counters import next_control_number
from ledger.db import Ledger
from ledger.ingest import findings_json
from ledger.models import Batch, ClaimStatus
from outbox.files import write_private
from runtime.config import Config
from validators.x12_syntax import check_x12

Checker = Callable[[DomainClaim], Sequence[Any]]
Validator = Callable[[str], Sequence[object]]  # findings, each printable; empty when clean


@dataclass
class BuildReport:
    files: list[str] = field(default_factory=list)
    claims: int = 0
    held: list[tuple[str, str]] = field(default_factory=list)  # (claim id, reasons)
    invalid_batches: list[tuple[int, list[str]]] = field(default_factory=list)


def batch_file_name(submitter_id: str, interchange: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9]", "", submitter_id)[:15] or "BHCLAIMS"
    return f"{safe}-{interchange:09d}.837"


def build_batches(ledger: Ledger, config: Config, *, checker: Checker, actor: str, now: datetime,
                  validate: Validator = check_x12) -> BuildReport:
    report = BuildReport()
    with ledger.session() as session:
        pending = list(session.scalars(select(Batch.id).where(Batch.status == "allocated").order_by(Batch.id)))
    for batch_id in pending:
        _render(ledger, config, batch_id, actor=actor, now=now, validate=validate, report=report)
    while True:
        allocated = _allocate(ledger, config, checker=checker, actor=actor, report=report)
        if allocated is None:
            break
        batch_id, members = allocated
        _render(ledger, config, batch_id, actor=actor, now=now, validate=validate, report=report, members=members)
    return report


def _allocate(ledger: Ledger, config: Config, *, checker: Checker, actor: str,
              report: BuildReport) -> tuple[int, list[StoredClaim]] | None:
    """The new batch's id and its claims as checked, so that rendering does not read them again."""
    with ledger.session() as session:
        chosen: list[StoredClaim] = []
        held: list[tuple[StoredClaim, str | None, str]] = []  # (claim, findings JSON, error codes)
        for stored in ready_claims(session, config.claims_per_file):
            findings = checker(stored.claim)
            errors = [f for f in findings if f.severity == "error"]
            if errors:
                held.append((stored, findings_json(findings), "; ".join(f.code for f in errors)))
                report.held.append((stored.claim_id, "; ".join(f"{f.code}: {f.message}" for f in errors)))
            else:
                chosen.append(stored)
        hold_claims(session, [claim for claim, _, _ in held], [found for _, found, _ in held], actor=actor,
                    detail=[codes for _, _, codes in held])
        if not chosen:
            return None
        interchange = next_control_number(session, "isa13")
        group = next_control_number(session, "gs06")
        batch = Batch(
            interchange_control_number=interchange,
            group_control_number=group,
            first_st_control_number="0001",
            transaction_count=-(-len(chosen) // config.claims_per_transaction),
            sender_id=config.submitter_id,
            receiver_id=config.receiver_id,
            claim_count=len(chosen),
            total_billed=sum((claim.billed for claim in chosen), Decimal("0")),
            status="allocated",
        )
        session.add(batch)
        session.flush()
        sets: list[str] = []  # each claim's ST02: claims_per_transaction claims a set
        while len(sets) < len(chosen):
            sets += [f"{len(sets) // config.claims_per_transaction + 1:04d}"] * min(
                config.claims_per_transaction, len(chosen) - len(sets))
        add_to_batch(session, batch.id, chosen, sets)
        said = f"batch {batch.id} ISA13 {interchange:09d} ST "
        transition(session, chosen, ClaimStatus.BATCHED, actor=actor, event="batched",
                   detail=[said + st for st in sets])
        return batch.id, moved(chosen, ClaimStatus.BATCHED)


def _render(ledger: Ledger, config: Config, batch_id: int, *, actor: str, now: datetime,
            validate: Validator, report: BuildReport, members: list[StoredClaim] | None = None) -> None:
    """``members``: the batch's claims as ``_allocate`` checked them; a batch left allocated by a crash is read again."""
    with ledger.session() as session:
        # Another builder may be rendering this batch (or just did): the row lock makes us wait, the status
        # check makes us skip.  On SQLite the writer lock taken by BEGIN IMMEDIATE does the same.
        batch = session.get_one(Batch, batch_id, with_for_update=True)
        if batch.status != "allocated":
            return
        if members is None:
            members = batch_members(session, batch_id)
        while True:
            try:
                text = build_837p(
                    [member.claim for member in members],
                    submitter=Submitter(id=config.submitter_id, name=config.submitter_name,
                                        contact_name=config.contact_name, contact_phone=config.contact_phone),
                    receiver=Receiver(id=config.receiver_id, name=config.receiver_name),
                    control=ControlNumbers(interchange=batch.interchange_control_number,
                                           group=batch.group_control_number),
                    settings=BuildSettings(created=now, usage_indicator=config.usage_indicator,
                                           claim_filing_codes=config.filing_codes,
                                           claims_per_transaction=config.claims_per_transaction,
                                           supervised_billing=config.supervision),
                )
                break
            except ClaimNotWritable as exc:
                # one claim the 837P cannot carry is held; the rest of the batch still goes
                bad = next(member for member in members if member.claim_id == exc.claim_id)
                _drop_from_batch(session, batch, bad, reason=str(exc), actor=actor, report=report)
                members = [member for member in members if member is not bad]
                if not members:
                    batch.status = "empty"
                    return
        problems = validate(text)
        if problems:
            batch.status = "invalid"
            messages = [str(p) for p in problems[:20]]
            found = findings_json([_SyntaxAsFinding(str(p)) for p in problems[:5]])
            hold_claims(session, members, [found] * len(members), actor=actor,
                        detail=f"batch {batch_id} failed X12 validation")
            report.invalid_batches.append((batch_id, messages))
            return
        name = batch_file_name(config.submitter_id, batch.interchange_control_number)
        path = config.outbox_dir / name
        if path.exists():  # rendered before a crash: the same numbers and claims give the same bytes
            path.unlink()
        batch.sha256 = write_private(path, text.encode("ascii"))
        batch.file_name = name
        batch.status = "built"
        report.files.append(str(path))
        report.claims += len(members)


def _drop_from_batch(session: Session, batch: Batch, claim: StoredClaim, *, reason: str, actor: str,
                     report: BuildReport) -> None:
    remove_from_batch(session, batch.id, claim)
    hold_claims(session, [claim], [findings_json([_SyntaxAsFinding(reason, code="X12-NOT-WRITABLE")])],
                actor=actor, detail=reason)
    batch.claim_count -= 1
    batch.total_billed -= claim.billed
    report.held.append((claim.claim_id, reason))


@dataclass(frozen=True)
class _SyntaxAsFinding:
    message: str
    code: str = "X12-SYNTAX"
    severity: str = "error"
    line_id: str | None = None
