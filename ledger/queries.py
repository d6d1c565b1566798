"""Read-only views of the ledger for the clerk: the claim list, one claim's story, totals."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.lookup import require_claim_id
from ledger.models import (
    Acknowledgement,
    Adjustment,
    Batch,
    BatchClaim,
    Claim,
    ClaimEvent,
    ClaimPayment,
    ClaimStatus,
    Remittance,
    ServicePayment,
)
from ledger.money import claim_money_of, iter_claim_summaries, money_text, summary_row

ZERO = Decimal("0")
SUPERSEDED = (ClaimStatus.REPLACED, ClaimStatus.VOIDED)


def claim_totals(session: Session, claim: Claim) -> dict[str, Decimal]:
    """billed, paid, contractual (``adjusted``), denied, patient responsibility and the balance still
    open (``ledger.money.claim_money``: the one definition, in SQL)."""
    row = claim_money_of(session, claim.id)
    return {name: getattr(row, name) for name in MONEY_FIELDS}


MONEY_FIELDS = ("billed", "paid", "adjusted", "denied", "patient_responsibility", "balance")


def _money(value: Decimal) -> str:
    return money_text(value)


def claim_summary(session: Session, claim: Claim) -> dict[str, Any]:
    return summary_row(claim_money_of(session, claim.id))


def list_claims(session: Session, *, status: str | None = None) -> list[dict[str, Any]]:
    """The whole claim list at once; ``ledger.money.iter_claim_summaries`` streams it."""
    return list(iter_claim_summaries(session, status=status))


def claim_timeline(session: Session, claim_id: str) -> dict[str, Any]:
    """Every revision of one claim with its events, batches, acks and payments (``UnknownClaim`` if none)."""
    require_claim_id(session, claim_id)
    revisions = list(session.scalars(select(Claim).where(Claim.claim_id == claim_id).order_by(Claim.revision)))
    result: dict[str, Any] = {"claim_id": claim_id, "revisions": []}
    for claim in revisions:
        item = claim_summary(session, claim)
        item["replaces_revision"] = next((r.revision for r in revisions if r.id == claim.replaces_id), None)
        item["original_claim_number"] = claim.original_claim_number
        item["findings"] = claim.findings
        item["lines"] = [
            {"line_id": ln.line_id, "service_date": ln.service_date.isoformat(), "procedure": ln.procedure_code,
             "modifiers": ln.modifiers, "units": ln.units, "charge": _money(ln.charge)}
            for ln in claim.lines
        ]
        item["events"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "event": e.event, "from": e.from_status,
             "to": e.to_status, "detail": e.detail}
            for e in session.scalars(select(ClaimEvent).where(ClaimEvent.claim_pk == claim.id).order_by(ClaimEvent.id))
        ]
        item["batches"] = [
            {"batch": b.id, "file": b.file_name, "isa13": f"{b.interchange_control_number:09d}",
             "gs06": b.group_control_number, "st02": st, "status": b.status}
            for b, st in session.execute(select(Batch, BatchClaim.st_control_number).join(
                BatchClaim, BatchClaim.batch_id == Batch.id).where(BatchClaim.claim_pk == claim.id).order_by(Batch.id))
        ]
        item["acknowledgements"] = [
            {"kind": a.kind, "code": a.code, "detail": a.detail, "at": a.created_at.isoformat()}
            for a in session.scalars(select(Acknowledgement).where(
                (Acknowledgement.claim_pk == claim.id)
                | Acknowledgement.batch_id.in_(select(BatchClaim.batch_id).where(BatchClaim.claim_pk == claim.id))
            ).order_by(Acknowledgement.id))
        ]
        payments = []
        for payment, remit in session.execute(select(ClaimPayment, Remittance).join(
                Remittance, Remittance.id == ClaimPayment.remittance_id).where(ClaimPayment.claim_pk == claim.id)
                .order_by(ClaimPayment.id)):
            adjustments = session.scalars(select(Adjustment).where(Adjustment.claim_payment_id == payment.id))
            payments.append({
                "trace_number": remit.trace_number, "payment_date": remit.payment_date.isoformat()
                if remit.payment_date else None, "status_code": payment.status_code, "paid": _money(payment.paid),
                "patient_responsibility": _money(payment.patient_responsibility),
                "payer_claim_number": payment.payer_claim_number,
                "adjustments": [f"{a.group_code}-{a.reason_code} {_money(a.amount)}" for a in adjustments],
            })
        item["payments"] = payments
        result["revisions"].append(item)
    return result


def original_remit_date(session: Session, payer_claim_number: str) -> date | None:
    """When the payer's remittance for this claim number was issued (for correction windows)."""
    return session.scalar(
        select(func.max(Remittance.payment_date)).join(ClaimPayment, ClaimPayment.remittance_id == Remittance.id)
        .where(ClaimPayment.payer_claim_number == payer_claim_number))


FINALIZED = (*ClaimStatus.ADJUDICATED, *SUPERSEDED)
"""Revisions the payer adjudicated (a replaced or voided one was adjudicated before it was)."""


def original_claim_facts(session: Session, claim_id: str) -> tuple[str | None, date | None] | None:
    """(payer claim number, received) of the claim a 7 or 8 names, None when the ledger has no
    such claim: the newest finalized revision's CLP07 and when the payer received it (its 277CA
    acceptance, else the day it was sent); (None, None) when no revision is finalized yet."""
    revisions = list(session.execute(
        select(Claim.id, Claim.status, Claim.payer_claim_number).where(Claim.claim_id == claim_id)
        .order_by(Claim.revision.desc())))
    if not revisions:
        return None
    for pk, status, number in revisions:
        if status in FINALIZED and number:
            received = session.execute(
                select(ClaimEvent.event, func.min(ClaimEvent.at)).where(
                    ClaimEvent.claim_pk == pk, ClaimEvent.event.in_(("accepted_277ca", "sent")))
                .group_by(ClaimEvent.event)).all()
            by_event = {event: at for event, at in received}
            at = by_event.get("accepted_277ca") or by_event.get("sent")
            return number, at.date() if at is not None else None
    return None, None


@dataclass(frozen=True, slots=True)
class UnmatchedMoney:
    """835 money tied to nothing we billed: whole CLPs whose CLP01 is no claim of ours (by patient
    control number) and single SVCs of a matched CLP that pay no line we billed.  One definition
    for `post`, `nightly`, the HTML report and `worklist unmatched` (whose rows are these)."""

    claims: tuple[str, ...]
    lines: int
    paid: Decimal

    @property
    def count(self) -> int:
        """Rows of `worklist unmatched`: one per unmatched CLP, one per unmatched SVC of a matched CLP."""
        return len(self.claims) + self.lines


def unmatched_money(session: Session, remittance_ids: Collection[int] | None = None) -> UnmatchedMoney:
    """The unmatched money of the whole ledger, or of the remittances one run posted.

    An SVC of an unmatched CLP is not counted again: its CLP is the one row to resolve.  A reversal
    (CLP02 22) is matched like the posting it cancels, so it is unmatched only when that one was."""
    claims = select(ClaimPayment.patient_control_number, ClaimPayment.paid).where(ClaimPayment.claim_pk.is_(None))
    lines = (select(func.count(), func.coalesce(func.sum(ServicePayment.paid), 0))
             .join(ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)
             .where(ServicePayment.service_line_id.is_(None), ClaimPayment.claim_pk.is_not(None)))
    if remittance_ids is not None:
        ids = list(remittance_ids)
        claims = claims.where(ClaimPayment.remittance_id.in_(ids))
        lines = lines.where(ClaimPayment.remittance_id.in_(ids))
    claim_rows = session.execute(claims.order_by(ClaimPayment.id)).all()
    line_count, line_paid = session.execute(lines).one()
    paid = sum((amount for _, amount in claim_rows), ZERO) + Decimal(line_paid)
    return UnmatchedMoney(claims=tuple(number for number, _ in claim_rows), lines=int(line_count), paid=paid)
