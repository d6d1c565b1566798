"""Reports for the practice manager: A/R aging, deposits reconciled to the 835, top denials.

Read-only views of the ledger; rows are dicts of strings (money with two
decimals) so the same data feeds the terminal table, CSV, JSON and the HTML page.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk.worklists import money
from domain.adjudication import is_contractual
from domain.codes import describe_carc
from ledger.models import Adjustment, Claim, ClaimPayment, ClaimStatus, ProviderAdjustment, Remittance
from ledger.queries import claim_totals

ZERO = Decimal("0")
AGING_BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))
"""Days since the claim's first date of service."""
CLOSED = (ClaimStatus.REPLACED, ClaimStatus.VOIDED)


def aging_bucket(days: int) -> str:
    for name, low, high in AGING_BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    return AGING_BUCKETS[0][0]  # a future date of service counts as current


def ar_aging(session: Session, today: date) -> list[dict[str, Any]]:
    """Open balance per line of business and aging bucket, with a TOTAL row last.

    A claim's open balance is billed - paid - contractual - patient share
    (``ledger.queries.claim_totals``): denied money stays open until corrected
    or appealed.  Replaced and voided revisions are closed.
    """
    table: dict[str, dict[str, Decimal]] = defaultdict(lambda: {name: ZERO for name, _, _ in AGING_BUCKETS})
    claims_count: dict[str, int] = defaultdict(int)
    for claim in session.scalars(select(Claim).where(Claim.status.not_in(CLOSED))):
        balance = claim_totals(session, claim)["balance"]
        if balance == ZERO:
            continue
        table[claim.line_of_business][aging_bucket((today - claim.first_service_date).days)] += balance
        claims_count[claim.line_of_business] += 1
    rows = []
    total = {name: ZERO for name, _, _ in AGING_BUCKETS}
    for lob in sorted(table):
        buckets = table[lob]
        for name in total:
            total[name] += buckets[name]
        rows.append(_aging_row(lob, claims_count[lob], buckets))
    rows.append(_aging_row("TOTAL", sum(claims_count.values()), total))
    return rows


def _aging_row(lob: str, claims: int, buckets: dict[str, Decimal]) -> dict[str, Any]:
    row: dict[str, Any] = {"line_of_business": lob, "claims": claims}
    row.update({name: money(value) for name, value in buckets.items()})
    row["total"] = money(sum(buckets.values(), ZERO))
    return row


def payments(
    session: Session, date_from: date | None = None, date_to: date | None = None
) -> list[dict[str, Any]]:
    """One row per deposit (835 remittance), reconciled: Σ CLP04 − Σ PLB must equal BPR02."""
    query = select(Remittance).order_by(Remittance.payment_date, Remittance.id)
    if date_from:
        query = query.where(Remittance.payment_date >= date_from)
    if date_to:
        query = query.where(Remittance.payment_date <= date_to)
    rows = []
    for remit in session.scalars(query):
        claims_paid = sum(
            session.scalars(select(ClaimPayment.paid).where(ClaimPayment.remittance_id == remit.id)), ZERO
        )
        provider_adjusted = sum(
            session.scalars(
                select(ProviderAdjustment.amount).where(ProviderAdjustment.remittance_id == remit.id)
            ),
            ZERO,
        )
        expected = claims_paid - provider_adjusted
        rows.append(
            {
                "payment_date": remit.payment_date.isoformat() if remit.payment_date else "",
                "method": remit.payment_method or "",
                "trace_number": remit.trace_number,
                "payer": remit.payer_name or remit.payer_id,
                "deposit": money(remit.total_paid),
                "claims_paid": money(claims_paid),
                "provider_adjustments": money(provider_adjusted),
                "difference": money(remit.total_paid - expected),
                "reconciled": "yes" if expected == remit.total_paid else "NO",
            }
        )
    return rows


def denials(
    session: Session, date_from: date | None = None, date_to: date | None = None
) -> list[dict[str, Any]]:
    """Denied money by CARC, largest first: what to correct or appeal, grouped.

    Counts every non-contractual, non-patient adjustment (CO/OA/PI/CR), so
    payment-integrity reductions on paid claims show up beside outright denials.
    """
    query = (
        select(Adjustment, ClaimPayment.claim_pk)
        .join(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)
        .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
    )
    if date_from:
        query = query.where(Remittance.payment_date >= date_from)
    if date_to:
        query = query.where(Remittance.payment_date <= date_to)
    amounts: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    claims: dict[tuple[str, str], set[Any]] = defaultdict(set)
    for adjustment, claim_pk in session.execute(query):
        if adjustment.group_code == "PR" or is_contractual(adjustment.group_code, adjustment.reason_code):
            continue
        key = (adjustment.group_code, adjustment.reason_code)
        amounts[key] += adjustment.amount
        claims[key].add(claim_pk)
    ranked = sorted(amounts, key=lambda k: (-amounts[k], k))
    return [
        {
            "carc": f"{g}-{r}",
            "reason": describe_carc(g, r),
            "claims": len(claims[(g, r)]),
            "amount": money(amounts[(g, r)]),
        }
        for g, r in ranked
    ]


def payments_by_date(rows: list[dict[str, Any]]) -> list[tuple[str, Decimal]]:
    """Deposits summed per payment date (for the 'payments over time' chart)."""
    by_date: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        by_date[row["payment_date"] or "undated"] += Decimal(row["deposit"])
    return sorted(by_date.items())
