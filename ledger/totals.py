"""Each claim revision's posted money, kept on its row: paid, contractual, denied and patient share
(Σ PR CAS), and the patient responsibility the payer stated (Σ CLP05).

These are sums over ``claim_payments`` and their ``adjustments`` (``domain.adjudication``'s
meaning: PR is the patient's, ``CONTRACTUAL_ADJUSTMENTS`` the agreed price, the rest denied; a
CLP02 22 reversal posts negative amounts and nets out).  The patient-responsibility worklist and
its count in ``status`` pick the SCO / One Care claims with either share above zero from them.  The claim list, the A/R aging, ``status``
and the headline figures read them from the claim instead of adding up every posting of the ledger
on every read (docs/scaling.md, "Reads").  They live on ``claims`` rather than in a 1:1 table
because every one of those reads groups claims by their own columns (status, plan, date of service):
one covering index then answers them without a join.

Kept in the writer's transaction, set-based:

- the 835 poster adds what each CLP it writes adds (``domain.adjudication.ClaimSums.claim_money``:
  the same split as ``posted_sums``) in the UPDATE that moves the claim's status
  (``ledger.claims.transition``'s ``posted``, through ``ledger.postings.update_claims``), or alone for
  a claim it does not move; reversals included (they are filed under the claim row of the posting
  they cancel).  One UPDATE per claim row: a second UPDATE of the rows the status change just wrote
  cost PostgreSQL as much again (a new row version, its index entries and foreign-key checks);
- any other writer that adds, removes or moves postings through a ledger session — ORM objects
  (``recompute_on_flush``) or an INSERT / UPDATE / DELETE statement (``recompute_on_execute``) —
  has the claims it touched summed again in the same transaction (the two are registered on
  every ``ledger.db.Ledger`` session; what goes straight to the driver must call this module);
- migration 0011 fills them for an existing ledger (``add_posted_totals``), and migration 0014 the
  stated patient responsibility it added.

``tests/test_money_integrity_stateful.py`` checks after every step that the kept totals equal the
sums recomputed from the postings.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, inspect, literal, or_, select, union_all, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from ledger.kept_denials import mark_claims
from ledger.models import Adjustment, Claim, ClaimPayment
from ledger.money import is_contractual_sql

TOTALS = ("paid", "contractual", "denied", "patient_share", "patient_responsibility")
"""The kept columns of ``claims``, in the order ``posted_sums`` gives them."""
NOTHING_POSTED = (Decimal("0"),) * len(TOTALS)
"""The totals of a claim revision no posting names yet (a new row)."""


def posted_sums(*where: Any) -> Any:
    """Per claim revision, the kept totals of the postings ``where`` picks (conditions on
    ``ClaimPayment``): ``claim_payments UNION ALL adjustments``, each row carrying one kind of
    amount in its own column, grouped by claim — one pass over each table."""
    patient = Adjustment.group_code == "PR"
    contractual = and_(~patient, is_contractual_sql(Adjustment.group_code, Adjustment.reason_code))
    zero = literal(0)
    paid = select(ClaimPayment.claim_pk.label("claim_pk"), ClaimPayment.paid.label("paid"),
                  zero.label("contractual"), zero.label("denied"), zero.label("patient_share"),
                  ClaimPayment.patient_responsibility.label("patient_responsibility")).where(
        ClaimPayment.claim_pk.is_not(None), *where)
    cas = (
        select(ClaimPayment.claim_pk, zero,
               case((contractual, Adjustment.amount), else_=0),
               case((or_(patient, contractual), 0), else_=Adjustment.amount),
               case((patient, Adjustment.amount), else_=0),
               zero)
        .join(ClaimPayment, ClaimPayment.id == Adjustment.claim_payment_id)
        .where(ClaimPayment.claim_pk.is_not(None), *where)
    )
    signed = union_all(paid, cas).subquery("signed")
    return (
        select(signed.c.claim_pk, *(func.sum(signed.c[name]).label(name) for name in TOTALS))
        .group_by(signed.c.claim_pk)
        .subquery("posted")
    )


def _add(connection: Connection | Session, sums: Any, names: Collection[str] = TOTALS) -> None:
    """Add ``sums`` to the kept totals (``names``) of the claims they name: one ``UPDATE … FROM``."""
    connection.execute(
        update(Claim)
        .values({name: getattr(Claim, name) + sums.c[name] for name in names})
        .where(Claim.id == sums.c.claim_pk)
        .execution_options(synchronize_session=False)
    )


def add_posted_totals(connection: Connection | Session, names: Collection[str] = TOTALS) -> None:
    """Every posting added to its claim's totals (``names``): the backfill of a ledger whose totals are
    all zero (migrations 0011 and 0014; ``benchmarks/ledger_scale.py`` after its bulk load)."""
    _add(connection, posted_sums(), names)


def recompute_claim_totals(connection: Connection | Session, claim_pks: Collection[int]) -> None:
    """The totals of these claims summed again from their postings (and their standing denials,
    ``ledger.kept_denials``, read again)."""
    connection.execute(update(Claim).where(Claim.id.in_(list(claim_pks))).values({name: 0 for name in TOTALS})
                       .execution_options(synchronize_session=False))
    _add(connection, posted_sums(ClaimPayment.claim_pk.in_(list(claim_pks))))
    mark_claims(connection, claim_pks)  # their standing denials hang on the same postings


def recompute_on_flush(session: Session, flush: UOWTransaction) -> None:
    """``after_flush``: the claims whose postings an ORM flush added, changed or deleted, summed again
    (the 835 poster writes through the driver and keeps its own totals; this catches the rest)."""
    claim_pks: set[int] = set()
    payment_ids: set[int] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, ClaimPayment):
            history = inspect(row).attrs.claim_pk.history  # a posting moved to another claim: both
            claim_pks.update(pk for pk in (row.claim_pk, *history.deleted) if pk is not None)
        elif isinstance(row, Adjustment):
            payment_ids.add(row.claim_payment_id)
    connection = session.connection()
    if payment_ids:
        claim_pks |= _claims_of(connection, ClaimPayment.__tablename__, ClaimPayment.id.in_(payment_ids))
    if claim_pks:
        recompute_claim_totals(connection, claim_pks)


_POSTING_TABLES = (ClaimPayment.__tablename__, Adjustment.__tablename__)


def _claims_of(connection: Connection, table: str, where: Any) -> set[int]:
    """The claims whose postings (``table``'s rows) ``where`` picks."""
    if table == ClaimPayment.__tablename__:
        query = select(ClaimPayment.claim_pk)
    else:
        query = select(ClaimPayment.claim_pk).join(Adjustment, Adjustment.claim_payment_id == ClaimPayment.id)
    if where is not None:
        query = query.where(where)
    found = connection.execute(query.where(ClaimPayment.claim_pk.is_not(None)).distinct()).scalars()
    return {pk for pk in found if pk is not None}


def _inserted_claims(connection: Connection, table: str, parameters: Any) -> set[int]:
    rows = parameters if isinstance(parameters, list) else [parameters or {}]
    if table == ClaimPayment.__tablename__:
        return {row["claim_pk"] for row in rows if row.get("claim_pk") is not None}
    payments = {row["claim_payment_id"] for row in rows if row.get("claim_payment_id") is not None}
    return _claims_of(connection, table, ClaimPayment.id.in_(payments)) if payments else set()


def _read_whole(result: Any) -> Any:
    """A RETURNING result's rows, kept (None: a statement that returns none)."""
    try:
        return result.freeze()
    except NotImplementedError:  # no rows to keep
        return None


def recompute_on_execute(state: ORMExecuteState) -> Any:
    """``do_orm_execute``: an INSERT, UPDATE or DELETE of postings run through ``Session.execute``; the
    claims it touched (before and after) are summed again once it has run."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in _POSTING_TABLES:
        return None
    connection = state.session.connection()
    where = getattr(state.statement, "whereclause", None)
    touched = set() if state.is_insert else _claims_of(connection, table, where)
    result = state.invoke_statement()
    frozen = _read_whole(result)  # before more SQL runs on the connection
    if state.is_insert:
        touched |= _inserted_claims(connection, table, state.parameters)
    elif state.is_update:
        touched |= _claims_of(connection, table, where)
    if touched:
        recompute_claim_totals(connection, touched)
    return frozen() if frozen is not None else result
