"""What posting leaves for a person to do, read from the payment tables.

Each function is a read-only query over one session and returns plain dicts
(amounts as ``Decimal``), ready for a rich table or ``--json``:

- ``unmatched_items``: CLPs whose CLP01 matched no claim (``claim_payments.claim_pk``
  NULL) and SVCs that matched no billed line (``service_payments.service_line_id`` NULL).
- ``denial_worklist``: claims whose latest standing adjudication is a denial, with
  every CARC/RARC and its description.
- ``patient_responsibility_violations``: SCO / One Care claims whose net patient
  responsibility is above zero (those members cannot be charged).
- ``provider_adjustment_items``: PLB rows with the claim they name, if any.
- ``quarantine_items``: files waiting for review and why.

"Standing" means not cancelled: a CLP02 22 reversal and the posting it reverses
(``claim_payments.reverses_id``) cancel each other and drop out of the worklists.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from domain.codes import describe_carc, describe_group, describe_rarc
from ledger.models import (
    Adjustment,
    Claim,
    ClaimPayment,
    ClaimStatus,
    ProviderAdjustment,
    Quarantine,
    Remittance,
    ServicePayment,
    Transmission,
)

ZERO = Decimal("0")


def _standing():  # type: ignore[no-untyped-def]
    """Claim payments that are neither a reversal nor reversed."""
    reversal = aliased(ClaimPayment)
    return and_(ClaimPayment.status_code != "22",
                ~select(reversal.id).where(reversal.reverses_id == ClaimPayment.id).exists())


def unmatched_items(session: Session) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for payment, remit in session.execute(
            select(ClaimPayment, Remittance).join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(ClaimPayment.claim_pk.is_(None)).order_by(ClaimPayment.id)):
        items.append({"kind": "claim", "claim_payment_id": payment.id, "claim_id": payment.patient_control_number,
                      "payer_claim_number": payment.payer_claim_number, "status_code": payment.status_code,
                      "charge": payment.charge, "paid": payment.paid, "trace_number": remit.trace_number,
                      "payer_id": remit.payer_id, "line_ref": None, "procedure": None,
                      "payment_date": remit.payment_date, "payment_method": remit.payment_method})
    for line, payment, claim, remit in session.execute(
            select(ServicePayment, ClaimPayment, Claim, Remittance)
            .join(ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)
            .join(Claim, Claim.id == ClaimPayment.claim_pk)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(ServicePayment.service_line_id.is_(None)).order_by(ServicePayment.id)):
        items.append({"kind": "line", "claim_payment_id": payment.id, "claim_id": claim.claim_id,
                      "payer_claim_number": payment.payer_claim_number, "status_code": payment.status_code,
                      "charge": line.charge, "paid": line.paid, "trace_number": remit.trace_number,
                      "payer_id": remit.payer_id, "line_ref": line.line_ref, "procedure": line.procedure_code,
                      "payment_date": remit.payment_date, "payment_method": remit.payment_method})
    return items


def _codes(session: Session, payment_ids: list[int]) -> dict[int, list[Adjustment]]:
    found: dict[int, list[Adjustment]] = {}
    if payment_ids:
        for adj in session.scalars(select(Adjustment).where(Adjustment.claim_payment_id.in_(payment_ids))
                                   .order_by(Adjustment.id)):
            found.setdefault(adj.claim_payment_id, []).append(adj)
    return found


def denial_worklist(session: Session) -> list[dict[str, Any]]:
    """Denied claims (status ``denied``) with the standing denial that put them there."""
    latest = (select(ClaimPayment.claim_pk, func.max(ClaimPayment.id).label("id"))
              .where(_standing(), ClaimPayment.claim_pk.is_not(None)).group_by(ClaimPayment.claim_pk).subquery())
    rows = list(session.execute(
        select(Claim, ClaimPayment, Remittance)
        .join(latest, latest.c.claim_pk == Claim.id)
        .join(ClaimPayment, ClaimPayment.id == latest.c.id)
        .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
        .where(Claim.status == ClaimStatus.DENIED, ClaimPayment.outcome == ClaimStatus.DENIED)
        .order_by(Remittance.payment_date, Claim.claim_id)))
    adjustments = _codes(session, [payment.id for _, payment, _ in rows])
    remarks_by_payment: dict[int, list[str]] = {}
    for payment_id, codes in session.execute(select(ServicePayment.claim_payment_id, ServicePayment.remark_codes)
                                             .where(ServicePayment.claim_payment_id.in_([p.id for _, p, _ in rows]),
                                                    ServicePayment.remark_codes.is_not(None))):
        remarks_by_payment.setdefault(payment_id, []).extend(codes.split(","))
    items = []
    for claim, payment, remit in rows:
        remarks = [c for c in (payment.remark_codes or "").split(",") if c] + remarks_by_payment.get(payment.id, [])
        adjs = adjustments.get(payment.id, [])
        items.append({
            "claim_id": claim.claim_id, "revision": claim.revision, "line_of_business": claim.line_of_business,
            "first_service_date": claim.first_service_date,
            "payer_claim_number": payment.payer_claim_number, "billed": claim.billed, "paid": payment.paid,
            "denied": sum((a.amount for a in adjs if a.group_code != "PR"), ZERO),
            "trace_number": remit.trace_number, "payment_date": remit.payment_date,
            "carcs": [{"group": a.group_code, "group_description": describe_group(a.group_code),
                       "code": a.reason_code, "amount": a.amount,
                       "description": describe_carc(a.group_code, a.reason_code)} for a in adjs],
            "rarcs": [{"code": code, "description": describe_rarc(code)} for code in dict.fromkeys(remarks)],
        })
    return items


def provider_adjustment_items(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ProviderAdjustment, Remittance, Claim)
        .join(Remittance, Remittance.id == ProviderAdjustment.remittance_id)
        .outerjoin(Claim, Claim.id == ProviderAdjustment.claim_pk).order_by(ProviderAdjustment.id))
    return [{"trace_number": remit.trace_number, "payer_id": remit.payer_id, "provider_id": plb.provider_id,
             "reason": plb.reason_code, "reference": plb.reference, "amount": plb.amount,
             "fiscal_period_date": plb.fiscal_period_date, "claim_id": claim.claim_id if claim else None,
             "claim_payment_id": plb.claim_payment_id} for plb, remit, claim in rows]


def quarantine_items(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(Quarantine, Transmission).outerjoin(
        Transmission, Transmission.id == Quarantine.transmission_id).order_by(Quarantine.id))
    return [{"id": q.id, "transmission_id": q.transmission_id, "file": t.file_name if t else None,
             "state": t.state if t else None, "reason": q.reason,
             "details": json.loads(q.detail) if q.detail and q.detail.startswith("[") else q.detail,
             "at": q.created_at} for q, t in rows]
