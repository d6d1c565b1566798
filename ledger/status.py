"""The ledger at a glance: claims and money by status, in one grouped query over the claims.

``bhclaims status`` asks this first; the money means what ``ledger.money.claim_money``'s does, so the figures
add up to the claim list and the A/R aging.  Billed and denied count current revisions only (a
replaced or voided revision's money lives on in its successor); paid counts every posting (the
money the practice received, a reversal netting its payment out).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.bulk import scanning_by_index
from ledger.models import Claim, ClaimStatus, Transmission
from ledger.money import SUPERSEDED, as_money, owed

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


def ledger_figures(session: Session) -> LedgerFigures:
    """Counts and money per claim status (every revision), totals, and the inbound files waiting in
    quarantine (a released file goes back to ``fetched``): one grouped pass over the claims' kept
    totals (``ledger.totals``), which the covering index of migration 0011 holds."""
    # plain sums per status, the open balance (``owed``) and denied money worked out per status afterwards
    # (a status is superseded or not as a whole): no expression evaluated per claim, which
    # PostgreSQL's NUMERIC arithmetic makes the bulk of the pass
    query = (
        select(Claim.status, func.count(), as_money(func.sum(Claim.billed)), as_money(func.sum(Claim.paid)),
               as_money(func.sum(Claim.contractual)), as_money(func.sum(Claim.patient_share)),
               as_money(func.sum(Claim.denied)))
        .group_by(Claim.status)
    )
    with scanning_by_index(session.connection()):  # the money index holds every claim's status and kept totals
        rows = session.execute(query).all()
    lines = [
        StatusLine(status, claims, billed, paid, ZERO, ZERO) if status in SUPERSEDED
        else StatusLine(status, claims, billed, paid, owed(billed, paid, contractual, patient_share), denied)
        for status, claims, billed, paid, contractual, patient_share, denied in rows
    ]
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
