"""Posting 835 remittances: the ledger agrees with the bank to the cent, once.

Before anything is written every transaction in the file must balance (line,
claim and payment level); one that does not puts the whole file in quarantine.
A remittance is identified by payer + TRN02: the same one again (renamed or
re-enveloped) posts nothing, and a reused TRN02 with different content is
quarantined for a human instead of being skipped or doubled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.adjudication import adjudicated_status
from domain.remittance import ClaimPayment as ClaimPaymentRecord
from domain.remittance import Remittance as RemittanceRecord
from ledger.claims import current_revision, transition
from ledger.models import (
    Adjustment,
    ClaimPayment,
    ClaimStatus,
    ProviderAdjustment,
    Quarantine,
    Remittance,
    ServiceLine,
    ServicePayment,
)

ZERO = Decimal("0")


@dataclass
class PaymentReport:
    posted: int = 0
    duplicates: int = 0
    quarantined: list[str] = field(default_factory=list)
    claims_posted: int = 0
    unmatched_claims: list[str] = field(default_factory=list)
    total_paid: Decimal = ZERO


def remittance_fingerprint(remit: RemittanceRecord) -> str:
    """What was paid, to whom, for what — not the envelope or the file it came in."""
    document = asdict(remit)
    document.pop("envelope", None)
    document.pop("source", None)
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def remittance_payer_key(remit: RemittanceRecord) -> str:
    return remit.trace_payer_id or remit.payer_id


def quarantine(session: Session, transmission_id: int | None, reason: str, detail: Any = None) -> None:
    session.add(Quarantine(transmission_id=transmission_id, reason=reason[:200],
                           detail=None if detail is None else json.dumps(detail, default=str)))


def post_remittances(session: Session, remittances: Sequence[RemittanceRecord], *, balance_errors: Sequence[Any],
                     transmission_id: int | None, actor: str, report: PaymentReport) -> None:
    if balance_errors:
        quarantine(session, transmission_id, "835 does not balance; nothing posted",
                   [str(e) for e in balance_errors])
        report.quarantined.append(f"does not balance: {balance_errors[0]}")
        return
    for remit in remittances:
        payer = remittance_payer_key(remit)
        fingerprint = remittance_fingerprint(remit)
        existing = session.scalar(select(Remittance).where(
            Remittance.payer_id == payer, Remittance.trace_number == remit.trace_number))
        if existing is not None:
            if existing.content_sha256 == fingerprint:
                report.duplicates += 1
            else:
                quarantine(session, transmission_id,
                           f"trace number {remit.trace_number} from payer {payer} was already posted with "
                           "different content", {"trace": remit.trace_number, "payer": payer})
                report.quarantined.append(f"TRN02 {remit.trace_number} reused with different content")
            continue
        _post_one(session, remit, payer, fingerprint, transmission_id=transmission_id, actor=actor, report=report)


def _post_one(session: Session, remit: RemittanceRecord, payer: str, fingerprint: str, *,
              transmission_id: int | None, actor: str, report: PaymentReport) -> None:
    row = Remittance(transmission_id=transmission_id, payer_id=payer, payer_name=remit.payer_name,
                     trace_number=remit.trace_number, total_paid=remit.total_paid,
                     payment_method=remit.payment_method, payment_date=remit.payment_date,
                     content_sha256=fingerprint)
    session.add(row)
    session.flush()
    for clp in remit.claims:
        _post_claim(session, row.id, clp, actor=actor, report=report)
    for plb in remit.provider_adjustments:
        session.add(ProviderAdjustment(remittance_id=row.id, provider_id=plb.provider_id,
                                       fiscal_period_date=plb.fiscal_period_end, reason_code=plb.reason,
                                       reference=plb.reference or None, amount=plb.amount))
    report.posted += 1
    report.total_paid += remit.total_paid


def _match_line(lines: list[ServiceLine], line_id: str | None, code: str, modifiers: tuple[str, ...],
                service_date: date | None) -> ServiceLine | None:
    if line_id:
        for line in lines:
            if line.line_id == line_id:
                return line
    candidates = [ln for ln in lines if ln.procedure_code == code and (service_date is None or ln.service_date == service_date)]
    exact = [ln for ln in candidates if tuple(m for m in ln.modifiers.split(":") if m) == modifiers]
    chosen = exact or candidates  # an 835 that drops a billed modifier still matches
    return chosen[0] if len(chosen) == 1 else None


def _post_claim(session: Session, remittance_id: int, clp: ClaimPaymentRecord, *, actor: str,
                report: PaymentReport) -> None:
    claim = current_revision(session, clp.patient_control_number)
    patient_resp = clp.patient_responsibility
    if patient_resp is None:
        patient_resp = sum((a.amount for a in clp.all_adjustments if a.group == "PR"), ZERO)
    payment = ClaimPayment(remittance_id=remittance_id, claim_pk=claim.id if claim else None,
                           patient_control_number=clp.patient_control_number, status_code=clp.status,
                           charge=clp.charge, paid=clp.paid, patient_responsibility=patient_resp,
                           payer_claim_number=clp.payer_claim_number or None)
    session.add(payment)
    session.flush()
    for adj in clp.adjustments:
        session.add(Adjustment(claim_payment_id=payment.id, group_code=adj.group, reason_code=adj.reason,
                               amount=adj.amount, quantity=None if adj.quantity is None else str(adj.quantity)))
    lines = list(claim.lines) if claim else []
    for svc in clp.lines:
        matched = _match_line(lines, svc.line_id, svc.procedure_code, svc.modifiers, svc.service_date)
        service = ServicePayment(claim_payment_id=payment.id, service_line_id=matched.id if matched else None,
                                 procedure_code=":".join((svc.procedure_code, *svc.modifiers)),
                                 charge=svc.charge, paid=svc.paid, line_ref=svc.line_id)
        session.add(service)
        session.flush()
        for adj in svc.adjustments:
            session.add(Adjustment(claim_payment_id=payment.id, service_payment_id=service.id,
                                   group_code=adj.group, reason_code=adj.reason, amount=adj.amount,
                                   quantity=None if adj.quantity is None else str(adj.quantity)))
    if claim is None:
        report.unmatched_claims.append(clp.patient_control_number)
        return
    if clp.payer_claim_number:
        claim.payer_claim_number = clp.payer_claim_number
    new_status = adjudicated_status(clp)
    transition(session, claim, new_status, actor=actor, event="remit_posted",
               detail=f"CLP02 {clp.status} paid {clp.paid} of {clp.charge}; payer claim {clp.payer_claim_number}")
    report.claims_posted += 1
