"""Fetched reply files waiting to be posted, taken one at a time by whoever posts them.

Posting a file happens in the transaction that holds its row locked, so a file is
posted once whoever asks: by id (one ``bhclaims post``, waiting for another process
that holds the same row), or as "the next one nobody holds" (``post --workers N`` on
PostgreSQL, where ``FOR UPDATE SKIP LOCKED`` lets the workers pass each other by).
A worker that dies mid-file drops its connection; the database rolls its work back
and frees the row for the next taker.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import Transmission


def lock_inbound(session: Session, transmission_id: int) -> Transmission:
    """The row of one inbound file, locked for this transaction (waits for another holder)."""
    return session.scalars(
        select(Transmission).where(Transmission.id == transmission_id).with_for_update()
    ).one()


def take_next_inbound(session: Session, kinds: Collection[str] | None) -> Transmission | None:
    """The oldest fetched file (of ``kinds``, or any) that no other transaction holds, locked; None when none."""
    query = select(Transmission).where(Transmission.direction == "in", Transmission.state == "fetched")
    if kinds is not None:
        query = query.where(Transmission.kind.in_(list(kinds)))
    return session.scalars(query.order_by(Transmission.id).limit(1).with_for_update(skip_locked=True)).first()


def waiting_inbound(session: Session, kinds: Collection[str] | None) -> int:
    """How many fetched files (of ``kinds``, or any) wait to be posted."""
    query = select(func.count()).select_from(Transmission).where(
        Transmission.direction == "in", Transmission.state == "fetched")
    if kinds is not None:
        query = query.where(Transmission.kind.in_(list(kinds)))
    return session.scalar(query) or 0
