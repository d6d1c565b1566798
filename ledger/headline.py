"""The practice's headline figures (the top of ``report html``), added up by the database.

Every figure is over the claims the payer has: the live revision of each claim (a replaced or
voided revision is left out, its successor carries the claim) that went out in a file
(``ClaimStatus.NEVER_SENT`` left out).  Money is ``ledger.money``'s claim money, so the
figures agree with ``claims`` and the A/R aging.

- **billed**: Σ billed charges (CLM02) of those claims.
- **collected**: Σ paid by the payer on them (CLP04; a CLP02 22 reversal nets out).
- **net collection rate**: collected / (billed − contractual adjustments), the share of the
  money the practice may collect (its agreed price) that it has collected.
- **first-pass acceptance rate**: of the claim revisions sent at least once, the share the
  payer took on the first try: a 999 / 277CA acceptance or an 835 posting, and no 999 or
  277CA rejection, ever.
- **denial rate**: denied claims / adjudicated claims (paid, partially paid or denied).
- **days in A/R**: open A/R / (billed over the last 90 days / 90), how many days of billing
  are still owed; "the last 90 days" goes by first date of service, today included.

A rate whose denominator is zero is ``None`` (shown as "n/a"), never a division error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Exists, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from ledger.models import Claim, ClaimEvent, ClaimPayment, ClaimStatus
from ledger.money import SUPERSEDED, as_money, claim_money

DAYS_BILLED = 90
"""The billing window of days in A/R."""

ACCEPTANCE_EVENTS = ("accepted_999", "accepted_277ca")
REJECTION_EVENTS = ("transmission_rejected", "rejected_277ca")
ZERO = Decimal("0")


@dataclass(frozen=True)
class HeadlineFigures:
    billed: Decimal
    collected: Decimal
    contractual: Decimal
    open_ar: Decimal
    billed_last_90_days: Decimal
    claims_submitted: int
    accepted_first_pass: int
    claims_adjudicated: int
    claims_denied: int

    @property
    def net_collection_rate(self) -> Decimal | None:
        return _ratio(self.collected, self.billed - self.contractual)

    @property
    def first_pass_acceptance_rate(self) -> Decimal | None:
        return _ratio(Decimal(self.accepted_first_pass), Decimal(self.claims_submitted))

    @property
    def denial_rate(self) -> Decimal | None:
        return _ratio(Decimal(self.claims_denied), Decimal(self.claims_adjudicated))

    @property
    def days_in_ar(self) -> Decimal | None:
        return _ratio(self.open_ar, self.billed_last_90_days / DAYS_BILLED)


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole == ZERO else part / whole


def _money_figures(session: Session, today: date) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal, int, int]:
    rows = claim_money(Claim.status.not_in(SUPERSEDED + ClaimStatus.NEVER_SENT)).subquery("billed_claims")
    recent = rows.c.first_service_date > today - timedelta(days=DAYS_BILLED)
    query = select(
        as_money(func.coalesce(func.sum(rows.c.billed), 0)),
        as_money(func.coalesce(func.sum(rows.c.paid), 0)),
        as_money(func.coalesce(func.sum(rows.c.adjusted), 0)),
        as_money(func.coalesce(func.sum(rows.c.balance), 0)),
        as_money(func.coalesce(func.sum(case((recent, rows.c.billed), else_=0)), 0)),
        func.count().filter(rows.c.status.in_(ClaimStatus.ADJUDICATED)),
        func.count().filter(rows.c.status == ClaimStatus.DENIED),
    )
    billed, collected, contractual, open_ar, recent_billed, adjudicated, denied = session.execute(query).one()
    return billed, collected, contractual, open_ar, recent_billed, int(adjudicated), int(denied)


def _first_pass(session: Session) -> tuple[int, int]:
    """(revisions sent at least once, of those the ones accepted with no rejection)."""
    def has_event(*where: ColumnElement[bool]) -> Exists:
        return exists().where(ClaimEvent.claim_pk == Claim.id, *where)

    taken = or_(has_event(ClaimEvent.event.in_(ACCEPTANCE_EVENTS)), exists().where(ClaimPayment.claim_pk == Claim.id))
    first_try = and_(taken, ~has_event(ClaimEvent.event.in_(REJECTION_EVENTS)))
    query = (
        select(func.count(), func.count().filter(first_try))
        .select_from(Claim)
        .where(has_event(ClaimEvent.to_status == ClaimStatus.SENT))
    )
    submitted, accepted = session.execute(query).one()
    return int(submitted), int(accepted)


def headline_figures(session: Session, today: date) -> HeadlineFigures:
    """The figures defined above, in three grouped queries whatever the ledger's size."""
    billed, collected, contractual, open_ar, recent_billed, adjudicated, denied = _money_figures(session, today)
    submitted, accepted = _first_pass(session)
    return HeadlineFigures(
        billed=billed, collected=collected, contractual=contractual, open_ar=open_ar,
        billed_last_90_days=recent_billed, claims_submitted=submitted, accepted_first_pass=accepted,
        claims_adjudicated=adjudicated, claims_denied=denied,
    )
