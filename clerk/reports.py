"""Reports for the practice manager: A/R aging, deposits reconciled to the 835, top denials.

Read-only views of the ledger; rows are dicts of strings (money with two
decimals) so the same data feeds the terminal table, CSV, JSON and the HTML page.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from clerk.worklists import money
from domain.codes import describe_carc
from ledger.money import AGING_BUCKETS, aging_cells, denial_reasons, deposits

ZERO = Decimal("0")
BUCKETS = tuple(name for name, _, _ in AGING_BUCKETS)


def aging_bucket(days: int) -> str:
    """The bucket of a claim served ``days`` ago (the SQL of ``ledger.money.aging_bucket_sql``)."""
    for name, low, high in AGING_BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    return AGING_BUCKETS[0][0]  # a future date of service counts as current


def ar_aging(session: Session, today: date) -> list[dict[str, Any]]:
    """Open balance per line of business and aging bucket, with a TOTAL row last.

    A claim's open balance is billed - paid - contractual - patient share
    (``ledger.money.claim_money``): denied money stays open until corrected
    or appealed.  Replaced and voided revisions are closed.  The database sums
    (``ledger.money.aging_cells``); only the few cells come back.
    """
    table: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(BUCKETS, ZERO))
    claims_count: dict[str, int] = defaultdict(int)
    for cell in aging_cells(session, today):
        table[cell.line_of_business][cell.bucket] += cell.balance
        claims_count[cell.line_of_business] += cell.claims
    rows = []
    total = dict.fromkeys(BUCKETS, ZERO)
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
    rows = []
    for deposit in deposits(session, date_from, date_to):
        expected = deposit.claims_paid - deposit.provider_adjustments
        rows.append(
            {
                "payment_date": deposit.payment_date.isoformat() if deposit.payment_date else "",
                "method": deposit.payment_method or "",
                "trace_number": deposit.trace_number,
                "payer": deposit.payer,
                "deposit": money(deposit.deposit),
                "claims_paid": money(deposit.claims_paid),
                "provider_adjustments": money(deposit.provider_adjustments),
                "difference": money(deposit.deposit - expected),
                "reconciled": "yes" if expected == deposit.deposit else "NO",
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
    return [
        {
            "carc": f"{d.group_code}-{d.reason_code}",
            "reason": describe_carc(d.group_code, d.reason_code),
            "claims": d.claims,
            "amount": money(d.amount),
        }
        for d in denial_reasons(session, date_from, date_to)
    ]


def payments_by_date(rows: list[dict[str, Any]]) -> list[tuple[str, Decimal]]:
    """Deposits summed per payment date (for the 'payments over time' chart)."""
    by_date: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        by_date[row["payment_date"] or "undated"] += Decimal(row["deposit"])
    return sorted(by_date.items())
