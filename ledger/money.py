"""Every claim's money as one grouped SQL query, and the reports built on it.

The meaning is ``domain.adjudication``'s: a CAS amount is the patient's (PR), contractual
(``CONTRACTUAL_ADJUSTMENTS``: the agreed price) or denied (the rest).  A claim's open balance
is billed − paid − contractual − patient share: denied money stays open until corrected or
appealed, and a replaced or voided revision owes nothing (its successor carries the claim).
A CLP02 22 reversal posts negative amounts, so plain sums net it out.

The database does the adding up: the claim list, the A/R aging, the deposits and the denials
read a ledger of a million claims without building a million objects in Python, and the rows
are streamed (``yield_per``: a server-side cursor on PostgreSQL) to whoever writes them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from domain.adjudication import CONTRACTUAL_ADJUSTMENTS
from ledger.models import Adjustment, Claim, ClaimPayment, ClaimStatus, ProviderAdjustment, Remittance
from ledger.types import Money

ZERO = Decimal("0")
SUPERSEDED = (ClaimStatus.REPLACED, ClaimStatus.VOIDED)
STREAM_ROWS = 2_000
"""Rows fetched per round trip when a listing is streamed."""

AGING_BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))
"""Days since the claim's first date of service; a future date of service counts as current."""


def as_money(expression: Any) -> ColumnElement[Decimal]:
    """An SQL sum or difference of money columns read back as ``Decimal`` (cents on SQLite)."""
    return type_coerce(expression, Money())


def _sum_or_zero(expression: Any) -> Any:
    return func.coalesce(func.sum(expression), 0)


def is_contractual_sql(group: Any, reason: Any) -> ColumnElement[bool]:
    """``domain.adjudication.is_contractual`` as an SQL condition."""
    return or_(*(and_(group == g, reason == r) for g, r in sorted(CONTRACTUAL_ADJUSTMENTS)))


def _cas_of_claim(condition: ColumnElement[bool]) -> Any:
    """Σ of a claim's CAS amounts that meet ``condition``, over all its postings (index 0009 holds them)."""
    return (
        select(_sum_or_zero(Adjustment.amount))
        .join(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)
        .where(ClaimPayment.claim_pk == Claim.id, condition)
        .scalar_subquery()
    )


def _claim_sums(where: tuple[ColumnElement[bool], ...]) -> Any:
    """Per claim revision: paid and the CAS split three ways, each looked up in an index for that
    claim (no grouping of the whole payment table), computed once (a materialized CTE) so that the
    balance below does not look them up again."""
    patient = Adjustment.group_code == "PR"
    contractual = is_contractual_sql(Adjustment.group_code, Adjustment.reason_code)
    paid = select(_sum_or_zero(ClaimPayment.paid)).where(ClaimPayment.claim_pk == Claim.id).scalar_subquery()
    return (
        select(
            Claim.id,
            Claim.claim_id,
            Claim.revision,
            Claim.status,
            Claim.frequency,
            Claim.line_of_business,
            Claim.first_service_date,
            Claim.payer_claim_number,
            Claim.billed,
            paid.label("paid"),
            _cas_of_claim(and_(~patient, contractual)).label("contractual"),
            _cas_of_claim(~or_(patient, contractual)).label("denied"),
            _cas_of_claim(patient).label("patient"),
        )
        .where(*where)
        .cte("claim_sums")
        .prefix_with("MATERIALIZED")
    )


def claim_money(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """One row per claim revision (those ``where`` picks, conditions on ``Claim``): its columns and
    billed, paid, adjusted (contractual), denied, patient_responsibility and balance, all ``Decimal``."""
    sums = _claim_sums(where)
    balance = case(
        (sums.c.status.in_(SUPERSEDED), 0),
        else_=sums.c.billed - sums.c.paid - sums.c.contractual - sums.c.patient,
    )
    return select(
        sums.c.id,
        sums.c.claim_id,
        sums.c.revision,
        sums.c.status,
        sums.c.frequency,
        sums.c.line_of_business,
        sums.c.first_service_date,
        sums.c.payer_claim_number,
        as_money(sums.c.billed).label("billed"),
        as_money(sums.c.paid).label("paid"),
        as_money(sums.c.contractual).label("adjusted"),
        as_money(sums.c.denied).label("denied"),
        as_money(sums.c.patient).label("patient_responsibility"),
        as_money(balance).label("balance"),
    )


def money_text(value: Decimal) -> str:
    return f"{value:.2f}"


def summary_row(row: Any) -> dict[str, Any]:
    """One claim revision as the claim list shows it (money as text with two decimals)."""
    (_, claim_id, revision, status, frequency, lob, served, payer_claim_number, billed, paid, adjusted, denied,
     patient, balance) = row
    return {
        "claim_id": claim_id,
        "revision": revision,
        "status": status,
        "frequency": frequency,
        "line_of_business": lob,
        "first_service_date": served.isoformat(),
        "billed": f"{billed:.2f}",
        "paid": f"{paid:.2f}",
        "adjusted": f"{adjusted:.2f}",
        "denied": f"{denied:.2f}",
        "patient_responsibility": f"{patient:.2f}",
        "balance": f"{balance:.2f}",
        "payer_claim_number": payer_claim_number,
    }


def iter_claim_summaries(session: Session, *, status: str | None = None) -> Iterator[dict[str, Any]]:
    """The claim list in claim id and revision order, a few thousand rows at a time."""
    query = claim_money(*([Claim.status == status] if status else []))
    query = query.order_by(query.selected_columns.claim_id, query.selected_columns.revision)
    for row in session.execute(query.execution_options(yield_per=STREAM_ROWS)):
        yield summary_row(row)


def claim_money_of(session: Session, claim_pk: int) -> Any:
    """The money row of one claim revision (``claim_money`` for a single claim)."""
    return session.execute(claim_money(Claim.id == claim_pk)).one()


# --- A/R aging -------------------------------------------------------------------------------


class AgingCell(NamedTuple):
    line_of_business: str
    bucket: str
    claims: int
    balance: Decimal


def aging_bucket_sql(first_service_date: Any, today: date) -> ColumnElement[str]:
    """The aging bucket of a date of service as of ``today`` (the injectable clock), in SQL:
    date comparisons against the bucket edges, so no date arithmetic in the database's dialect."""
    whens = [
        (first_service_date >= today - timedelta(days=high), name)
        for name, _, high in AGING_BUCKETS
        if high is not None
    ]
    return case(*whens, else_=literal(AGING_BUCKETS[-1][0]))


def aging_cells(session: Session, today: date) -> list[AgingCell]:
    """Open balance and claims with one, per line of business and bucket: one grouped query."""
    per_claim = claim_money(Claim.status.not_in(SUPERSEDED)).subquery("per_claim")
    bucket = aging_bucket_sql(per_claim.c.first_service_date, today).label("bucket")
    query = (
        select(
            per_claim.c.line_of_business,
            bucket,
            func.count().label("claims"),
            as_money(func.sum(per_claim.c.balance)).label("balance"),
        )
        .where(per_claim.c.balance != 0)
        .group_by(per_claim.c.line_of_business, bucket)
    )
    return [AgingCell(lob, name, claims, balance) for lob, name, claims, balance in session.execute(query)]


# --- deposits and denials --------------------------------------------------------------------


class Deposit(NamedTuple):
    payment_date: date | None
    payment_method: str | None
    trace_number: str
    payer: str
    deposit: Decimal
    claims_paid: Decimal
    provider_adjustments: Decimal


def deposits(session: Session, date_from: date | None = None, date_to: date | None = None) -> Iterator[Deposit]:
    """One row per 835 remittance with Σ CLP04 and Σ PLB beside BPR02, in payment-date order."""
    paid = (
        select(ClaimPayment.remittance_id.label("remittance_id"), _sum_or_zero(ClaimPayment.paid).label("paid"))
        .group_by(ClaimPayment.remittance_id)
        .subquery("paid_by_remittance")
    )
    plb = (
        select(
            ProviderAdjustment.remittance_id.label("remittance_id"),
            _sum_or_zero(ProviderAdjustment.amount).label("amount"),
        )
        .group_by(ProviderAdjustment.remittance_id)
        .subquery("plb_by_remittance")
    )
    query = (
        select(
            Remittance.payment_date,
            Remittance.payment_method,
            Remittance.trace_number,
            func.coalesce(Remittance.payer_name, Remittance.payer_id),
            Remittance.total_paid,
            as_money(func.coalesce(paid.c.paid, 0)),
            as_money(func.coalesce(plb.c.amount, 0)),
        )
        .outerjoin(paid, paid.c.remittance_id == Remittance.id)
        .outerjoin(plb, plb.c.remittance_id == Remittance.id)
        .order_by(Remittance.payment_date, Remittance.id)
    )
    if date_from:
        query = query.where(Remittance.payment_date >= date_from)
    if date_to:
        query = query.where(Remittance.payment_date <= date_to)
    for row in session.execute(query.execution_options(yield_per=STREAM_ROWS)):
        yield Deposit(*row)


class DenialReason(NamedTuple):
    group_code: str
    reason_code: str
    claims: int
    amount: Decimal


def denial_reasons(
    session: Session, date_from: date | None = None, date_to: date | None = None
) -> list[DenialReason]:
    """Denied money (neither PR nor contractual) per CARC, largest first, with how many claims
    it touched (a CLP matched to no claim counts as one claim of its own)."""
    amount = as_money(func.sum(Adjustment.amount))
    claim_key = func.coalesce(ClaimPayment.claim_pk, -1)
    query = (
        select(Adjustment.group_code, Adjustment.reason_code, func.count(func.distinct(claim_key)), amount)
        .join(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)
        .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
        .where(Adjustment.group_code != "PR", ~is_contractual_sql(Adjustment.group_code, Adjustment.reason_code))
        .group_by(Adjustment.group_code, Adjustment.reason_code)
    )
    if date_from:
        query = query.where(Remittance.payment_date >= date_from)
    if date_to:
        query = query.where(Remittance.payment_date <= date_to)
    found = [DenialReason(*row) for row in session.execute(query)]
    # a few dozen reasons at most: ranked here, in Python's order of text, not the database's collation
    return sorted(found, key=lambda d: (-d.amount, d.group_code, d.reason_code))
