"""The ledger at a glance: claims and money by status, in one grouped query.

``bhclaims status`` asks this first; the money means what ``ledger.money.claim_money``'s does, so the figures
add up to the claim list and the A/R aging.  Billed and denied count current revisions only (a
replaced or voided revision's money lives on in its successor); paid counts every posting (the
money the practice received, a reversal netting its payment out).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from ledger.models import Adjustment, Claim, ClaimPayment, ClaimStatus, Transmission
from ledger.money import SUPERSEDED, as_money, is_contractual_sql

ZERO = Decimal("0")


class StatusLine(NamedTuple):
    status: str
    claims: int
    billed: Decimal
    paid: Decimal
    open_balance: Decimal
    denied: Decimal


class LedgerFigures(NamedTuple):
    by_status: list[StatusLine]
    billed: Decimal
    paid: Decimal
    open_ar: Decimal
    denied: Decimal
    quarantined: int

    @property
    def claims(self) -> int:
        return sum(line.claims for line in self.by_status)


def _amounts_by_status() -> Any:
    """Every claim, CLP and CAS amount beside the status of the claim revision it belongs to, each
    kind in its own column: added up per status these are the status lines, and no per-claim
    grouping is needed because each figure is a plain sum."""
    patient = Adjustment.group_code == "PR"
    contractual = is_contractual_sql(Adjustment.group_code, Adjustment.reason_code)
    zero = literal(0)
    return union_all(
        select(Claim.status.label("status"), literal(1).label("claims"), Claim.billed.label("billed"),
               zero.label("paid"), zero.label("owed_cas"), zero.label("denied")),
        select(Claim.status, zero, zero, ClaimPayment.paid, zero, zero)
        .join(Claim, Claim.id == ClaimPayment.claim_pk),
        select(Claim.status, zero, zero, zero,
               case((or_(patient, contractual), Adjustment.amount), else_=0),
               case((or_(patient, contractual), 0), else_=Adjustment.amount))
        .select_from(Adjustment)
        .join(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)
        .join(Claim, Claim.id == ClaimPayment.claim_pk),
    ).subquery("amounts")


def ledger_figures(session: Session) -> LedgerFigures:
    """Counts and money per claim status (every revision), totals, and the inbound files waiting in
    quarantine (a released file goes back to ``fetched``)."""
    amounts = _amounts_by_status()
    current = amounts.c.status.not_in(SUPERSEDED)
    billed, paid, owed_cas, denied = (func.sum(amounts.c[name]) for name in ("billed", "paid", "owed_cas", "denied"))
    query = (
        select(
            amounts.c.status,
            func.sum(amounts.c.claims),
            as_money(billed),
            as_money(paid),
            as_money(case((current, billed - paid - owed_cas), else_=0)),
            as_money(case((current, denied), else_=0)),
        )
        .group_by(amounts.c.status)
    )
    lines = [StatusLine(*row) for row in session.execute(query)]
    order = {status: index for index, status in enumerate(ClaimStatus.ALL)}
    lines.sort(key=lambda line: (order.get(line.status, len(order)), line.status))
    current_lines = [line for line in lines if line.status not in SUPERSEDED]
    return LedgerFigures(
        by_status=lines,
        billed=sum((line.billed for line in current_lines), ZERO),
        paid=sum((line.paid for line in lines), ZERO),
        open_ar=sum((line.open_balance for line in lines), ZERO),
        denied=sum((line.denied for line in current_lines), ZERO),
        quarantined=session.scalar(
            select(func.count()).select_from(Transmission).where(
                Transmission.direction == "in", Transmission.state == "quarantined")
        ) or 0,
    )
