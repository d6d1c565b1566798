"""Each claim revision's standing denial, kept on its row: which CLP it is and its remittance date.

A claim's standing CLP is its newest that is neither a CLP02 22 reversal nor reversed; when that
CLP is a denial, ``claims.denial_payment_id`` names it and ``claims.denial_remit_date`` holds its
remittance's BPR16 date (NULL when the 835 gave none).  A whole-claim denial is open while the
claim's status is ``denied`` too (``ledger.denials``), so ``status`` counts open denials per plan and
remittance date from one partial index (migration 0014) instead of looking up the standing CLP
of every denied claim on every read (docs/scaling.md, "Reads").

Both depend only on the claim's postings, so they are kept where the money totals are
(``ledger.totals``), in the writer's transaction, set-based:

- the 835 poster marks the claims a remittance can change (``mark_claims``: a claim that got a
  denial or a reversal, or that had a standing denial and got a newer CLP; the poster knows them
  from what it reads and queues, so a file of paid claims marks none);
- any other writer of postings through a ledger session has its claims marked again with their
  totals (``ledger.totals.recompute_claim_totals`` calls ``mark_claims``);
- migration 0014 marks an existing ledger (``mark_all``).

A remittance's BPR16 is written with it and never changed, so the date does not go stale.
``tests/test_money_integrity_stateful.py`` checks after every step that both equal what the
postings say.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, literal_column, select, update
from sqlalchemy.orm import Session, aliased

from ledger.models import Claim, ClaimPayment, ClaimStatus, Remittance

STANDING_DENIAL = ("denial_payment_id", "denial_remit_date")
"""The kept columns of ``claims``."""
NO_STANDING_DENIAL = (None, None)
"""Their values on a claim revision no posting names yet (a new row)."""


def open_claim_denial() -> ColumnElement[bool]:
    """The denied claims with a standing denial: migration 0014's partial index of the claims with a
    standing denial (``ledger.models.STANDING_DENIAL_INDEXED``, repeated: an index serves only a query
    whose WHERE repeats its condition), their status read from it.  The status is compared as
    ``status || ''`` so that no index on ``status`` is usable: SQLite without statistics (a ledger
    nobody ran ANALYZE on) would otherwise read every denied claim's row through one."""
    return and_((Claim.status + literal_column("''")) == literal_column(f"'{ClaimStatus.DENIED}'"),
                Claim.denial_payment_id.is_not(None))


def not_reversed(payment: Any = ClaimPayment) -> ColumnElement[bool]:
    """``payment`` (a ``ClaimPayment`` or an alias of it) is not cancelled by a CLP02 22 reversal."""
    reversal = aliased(ClaimPayment)  # anonymous: a statement may hold this condition more than once
    return ~select(reversal.id).where(reversal.reverses_id == payment.id).exists()


def _standing_denial() -> Any:
    """Per claim (correlated to ``Claim``): the id of its standing CLP when that CLP is a denial."""
    posting, standing = (aliased(ClaimPayment, name=name) for name in ("posting", "standing"))
    newest = (
        select(func.max(posting.id))
        .where(posting.claim_pk == Claim.id, posting.status_code != "22", not_reversed(posting))
        .correlate(Claim)  # to the claim of the UPDATE two levels out, not to a claims table of its own
        .scalar_subquery()
    )
    return select(standing.id).where(standing.id == newest, standing.outcome == ClaimStatus.DENIED).scalar_subquery()


def _mark(connection: Connection | Session, which: ColumnElement[bool]) -> None:
    """The claims ``which`` picks, marked from their postings: one ``UPDATE`` (both columns from the
    standing denial, as ``which`` may read the column the statement changes)."""
    remit_date = (
        select(Remittance.payment_date)
        .join(ClaimPayment, ClaimPayment.remittance_id == Remittance.id)
        .where(ClaimPayment.id == _standing_denial())
        .scalar_subquery()
    )
    connection.execute(update(Claim).where(which).values(denial_payment_id=_standing_denial(),
                                                         denial_remit_date=remit_date)
                       .execution_options(synchronize_session=False))


MARKED_PER_STATEMENT = 500
"""Claim ids per ``UPDATE`` (an IN list of bound values: under SQLite's lowest limit of 999)."""


def mark_claims(connection: Connection | Session, claim_pks: Collection[int]) -> None:
    """These claims' standing denials, read again from their postings (a few hundred claims per
    statement)."""
    pks = sorted(claim_pks)
    for start in range(0, len(pks), MARKED_PER_STATEMENT):
        _mark(connection, Claim.id.in_(pks[start:start + MARKED_PER_STATEMENT]))


def mark_all(connection: Connection | Session) -> None:
    """Every claim that ever had a denial posted marked (migration 0014; ``benchmarks/ledger_scale.py``
    after its bulk load): the others have none."""
    _mark(connection, Claim.id.in_(select(ClaimPayment.claim_pk).where(ClaimPayment.outcome == ClaimStatus.DENIED)))
