"""Open denials as one SQL selectable, so counts and the nearest deadlines come from the database.

A denial is a whole claim the payer denied (status ``denied``, its standing CLP a denial) or a line
the payer denied inside a claim it otherwise paid (the newest CLP's SVC paid nothing and some of
its CAS is neither the patient's nor contractual).  These are the rows of
``clerk.worklists.denial_items``; here only what a deadline needs is read: claim id, revision,
line id, plan and remittance date.  Appeal and correction windows run from the remittance date,
so the caller turns "deadline not passed" into "remitted on or after this date" per plan, and the
database counts them or returns the earliest few without a list of every denial in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from domain.adjudication import CONTRACTUAL_ADJUSTMENTS
from ledger.kept_denials import not_reversed, open_claim_denial
from ledger.models import (
    Adjustment,
    Claim,
    ClaimPayment,
    ClaimStatus,
    Remittance,
    ServiceLine,
    ServicePayment,
)


class DenialDate(NamedTuple):
    claim_id: str
    revision: int
    line_id: str
    line_of_business: str
    remit_date: date


def _denied_cas() -> ColumnElement[bool]:
    contractual = or_(*(and_(Adjustment.group_code == g, Adjustment.reason_code == r)
                        for g, r in sorted(CONTRACTUAL_ADJUSTMENTS)))
    return and_(Adjustment.group_code != "PR", ~contractual)


def claim_denial_query(*columns: Any) -> Select[*tuple[Any, ...]]:
    """``columns`` of the denied claims whose standing CLP (newest, not a reversal, not reversed) is a
    denial (``denial_worklist``'s rows): kept on the claim row (``ledger.kept_denials``), so they are
    read from migration 0014's partial index by plan and remittance date (``Claim.denial_remit_date``)."""
    return select(*columns).select_from(Claim).where(open_claim_denial())


def line_denial_query(*columns: Any) -> Select[*tuple[Any, ...]]:
    """``columns`` of the lines denied inside paid claims — the one definition, used for the counts
    here and for the rows of ``clerk.worklists``: the claim's newest CLP (not a reversal, not
    reversed) of a claim still paid or partly paid, an SVC that paid nothing, and CAS money on it
    that is neither the patient's nor contractual."""
    newer = aliased(ClaimPayment, name="newer")
    newest = ~select(newer.id).where(newer.claim_pk == ClaimPayment.claim_pk, newer.id > ClaimPayment.id,
                                     newer.status_code != "22").exists()
    denied_money = (  # a line's CAS carry its CLP's id too: found by 0009's index on it
        select(func.coalesce(func.sum(Adjustment.amount), 0))
        .where(Adjustment.claim_payment_id == ServicePayment.claim_payment_id,
               Adjustment.service_payment_id == ServicePayment.id, _denied_cas())
        .scalar_subquery()
    )
    unpaid = aliased(ServicePayment, name="unpaid")
    # the postings with a line that paid nothing, from migration 0014's partial index (its condition
    # written as the index's): the search starts there, not at every paid claim's newest posting
    with_unpaid_line = select(unpaid.claim_payment_id).where(unpaid.paid <= literal_column("0"))
    return (
        select(*columns)
        .select_from(ServicePayment)
        .join(ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)
        .join(Claim, Claim.id == ClaimPayment.claim_pk)
        .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
        .outerjoin(ServiceLine, ServiceLine.id == ServicePayment.service_line_id)
        .where(
            ClaimPayment.id.in_(with_unpaid_line),
            Claim.status.in_((ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID)),
            ServicePayment.paid <= literal_column("0"),
            ClaimPayment.status_code != "22",
            newest,
            not_reversed(),
            denied_money > 0,
        )
    )


_LEVELS = (
    # level, its query, its line id, its remittance date (BPR16) and stand-in date (a line's remittance
    # without BPR16 is dated by its posting; a whole claim's is undated)
    ("line", line_denial_query, func.coalesce(ServiceLine.line_id, ServicePayment.line_ref, ""),
     Remittance.payment_date, Remittance.created_at),
    ("claim", claim_denial_query, literal(""), Claim.denial_remit_date, None),
)


def denials(*, identified: bool = True, where: Any = None) -> Any:
    """Every open denial (claim and line), one row each: level, line_of_business, payment_date (BPR16)
    and posted_at (when a line's remittance has no BPR16, its day of posting stands in), and, when
    ``identified``, claim_id, revision and line_id (only what the caller reads is asked for, so the
    database can answer a count from an index).  ``where(payment_date, posted_at)``:
    a condition each level applies to its own rows (posted_at None for the undated level)."""
    parts = []
    for level, query, line_id, payment_date, posted_at in _LEVELS:
        columns: list[Any] = [literal(level).label("level"), Claim.line_of_business, payment_date.label("payment_date"),
                   (posted_at if posted_at is not None else null()).label("posted_at")]
        if identified:
            columns += [Claim.claim_id, Claim.revision, line_id.label("line_id")]
        part = query(*columns)
        parts.append(part if where is None else part.where(where(payment_date, posted_at)))
    return union_all(*parts).subquery("denials")


class DenialDay(NamedTuple):
    level: str
    line_of_business: str
    remit_date: date | None
    denials: int


def _remit_date(payment_date: date | None, posted_at: datetime | None) -> date | None:
    if payment_date is not None:
        return payment_date
    return posted_at.astimezone(UTC).date() if posted_at is not None else None


def denial_days(session: Session) -> list[DenialDay]:
    """How many denials of each level (claim, line) each plan had remitted on each day: a few
    thousand rows at most, from which the caller counts what is still open and finds where the
    nearest deadlines lie, reading the denials once."""
    rows = denials(identified=False)
    undated = case((rows.c.payment_date.is_(None), rows.c.posted_at))
    query = select(rows.c.level, rows.c.line_of_business, rows.c.payment_date, undated, func.count()).group_by(
        rows.c.level, rows.c.line_of_business, rows.c.payment_date, undated)
    counted: dict[tuple[str, str, date | None], int] = {}
    for level, lob, paid_on, posted, count in session.execute(query):
        key = (level, lob, _remit_date(paid_on, posted))
        counted[key] = counted.get(key, 0) + count
    return [DenialDay(level, lob, day, count) for (level, lob, day), count in counted.items()]


def _remitted_since(payment_date: Any, posted_at: Any, since: date) -> ColumnElement[bool]:
    dated = payment_date >= since
    if posted_at is None:
        return dated
    return or_(dated, and_(payment_date.is_(None), posted_at >= datetime(since.year, since.month, since.day,
                                                                          tzinfo=UTC)))


def _remitted_between(payment_date: Any, posted_at: Any, first: date, last: date) -> ColumnElement[bool]:
    return and_(_remitted_since(payment_date, posted_at, first),
                ~_remitted_since(payment_date, posted_at, last + timedelta(days=1)))


def remitted_between(
    session: Session, windows: Mapping[str, Sequence[tuple[date, date]]], other: Sequence[tuple[date, date]]
) -> list[DenialDate]:
    """The denials remitted within one of their plan's windows (first and last day; ``other``: the
    windows of a plan not in ``windows``): each level picks its own rows, so only those are read."""
    if not any(windows.values()) and not other:
        return []

    def picked(payment_date: Any, posted_at: Any) -> ColumnElement[bool]:
        plans = [and_(Claim.line_of_business == lob, _remitted_between(payment_date, posted_at, *window))
                 for lob, plan_windows in windows.items() for window in plan_windows]
        plans += [and_(Claim.line_of_business.not_in(list(windows)), _remitted_between(payment_date, posted_at, *window))
                  for window in other]
        return or_(*plans)

    rows = denials(where=picked)
    query = select(rows.c.claim_id, rows.c.revision, rows.c.line_id, rows.c.line_of_business, rows.c.payment_date,
                   rows.c.posted_at)
    found = []
    for claim_id, revision, line_id, lob, paid_on, posted in session.execute(query):
        remit_date = _remit_date(paid_on, posted)
        if remit_date is not None:
            found.append(DenialDate(claim_id, revision, line_id, lob, remit_date))
    return found
