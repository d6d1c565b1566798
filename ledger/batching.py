"""What ``bhclaims build`` reads and writes: ready claims as records, a batch's members, held claims.

A build moves thousands of claims at once.  It reads them as plain rows rebuilt into domain
claims (no ORM objects: nothing for the session to track, flush or keep in step with an
UPDATE) and moves them through ``ledger.claims.transition``'s set-based path, so that every
claim still gets its event (who, when, from, to) in one bulk insert.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from domain.claim import Claim as DomainClaim
from ledger.bulk import BulkWriter
from ledger.claims import CLAIM_FIELDS, load_domain_claims, stored_amounts, transition
from ledger.models import BatchClaim, Claim, ClaimStatus


class StoredClaim(NamedTuple):
    """A claim row as the build knows it: key, CLM01, the status it is in, billed total, and the claim."""

    id: int
    claim_id: str
    status: str
    billed: Decimal
    claim: DomainClaim


# a row of ``CLAIM_FIELDS`` read from the driver, under the names the ORM gives them
_ClaimRow = namedtuple("_ClaimRow", [field.key for field in CLAIM_FIELDS])  # type: ignore[misc]
_BILLED = _ClaimRow._fields.index("billed")
_READY_QUERY = (f"SELECT {', '.join(field.expression.name for field in CLAIM_FIELDS)} FROM {Claim.__tablename__} "
                "WHERE status = {mark} ORDER BY id LIMIT {mark}")


def ready_claims(session: Session, limit: int) -> list[StoredClaim]:
    """Up to ``limit`` ready claims, oldest first; on PostgreSQL locked (and skipped if another builder has them).

    Read straight from the driver, the billed amounts converted once per distinct value: the ORM's
    statement execution and per-row conversion cost a build more than reading the rows."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = _READY_QUERY.format(mark=mark)
    if connection.dialect.name == "postgresql":
        sql += " FOR UPDATE SKIP LOCKED"
    billed = stored_amounts(connection.dialect)
    rows: list[Any] = []
    for found in connection.exec_driver_sql(sql, (ClaimStatus.READY, limit)).fetchall():
        row = list(found)
        row[_BILLED] = billed(row[_BILLED])
        rows.append(_ClaimRow._make(row))
    return _stored(session, rows)


def batch_members(session: Session, batch_id: int) -> list[StoredClaim]:
    """A batch's claims in the order they were allocated (a batch left allocated by a crash is rendered again)."""
    return _stored(session, list(session.execute(
        select(*CLAIM_FIELDS).join(BatchClaim, BatchClaim.claim_pk == Claim.id)
        .where(BatchClaim.batch_id == batch_id).order_by(BatchClaim.id))))


def _stored(session: Session, rows: Sequence[Any]) -> list[StoredClaim]:
    return [StoredClaim(row.id, row.claim_id, row.status, row.billed, claim)
            for row, claim in zip(rows, load_domain_claims(session, rows), strict=True)]


def moved(claims: Sequence[StoredClaim], status: str) -> list[StoredClaim]:
    """The records after a ``transition`` to ``status`` (the next move's events start from it)."""
    return [StoredClaim(claim.id, claim.claim_id, status, claim.billed, claim.claim) for claim in claims]


def add_to_batch(session: Session, batch_id: int, claims: Sequence[StoredClaim], sets: Sequence[str]) -> None:
    """The batch_claims rows: each claim with the ST02 of the transaction set it goes in."""
    BulkWriter(session).insert(BatchClaim.__table__, ("batch_id", "claim_pk", "st_control_number"),
                               [(batch_id, claim.id, st) for claim, st in zip(claims, sets, strict=True)])


def remove_from_batch(session: Session, batch_id: int, claim: StoredClaim) -> None:
    session.execute(delete(BatchClaim).where(BatchClaim.batch_id == batch_id, BatchClaim.claim_pk == claim.id))


def hold_claims(session: Session, claims: Sequence[StoredClaim], findings: Sequence[str | None], *, actor: str,
                detail: str | Sequence[str]) -> None:
    """Move ``claims`` to held with their findings (JSON, one per claim) and a ``held`` event each."""
    if not claims:
        return
    session.execute(text(f"UPDATE {Claim.__tablename__} SET findings = :found WHERE id = :pk"),
                    [{"pk": claim.id, "found": found} for claim, found in zip(claims, findings, strict=True)])
    transition(session, claims, ClaimStatus.HELD, actor=actor, event="held", detail=detail)
