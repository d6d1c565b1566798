"""Interchange and group control numbers, taken from the ledger and never reused.

The counter row is advanced and committed in the same transaction that records
the batch, before any file exists: a build that crashes afterwards leaves a
gap, never a second file with the same ISA13/GS06.  PostgreSQL serializes on
the counter's row lock; SQLite on its write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.models import ControlCounter

ISA13_MAX = 999_999_999


class ControlNumbersExhausted(RuntimeError):
    pass


def next_control_number(session: Session, name: str) -> int:
    session.execute(update(ControlCounter).where(ControlCounter.name == name).values(value=ControlCounter.value + 1))
    value = session.scalar(select(ControlCounter.value).where(ControlCounter.name == name))
    if value is None:
        raise RuntimeError(f"control counter {name!r} missing: is the ledger migrated?")
    if value > ISA13_MAX:
        raise ControlNumbersExhausted(f"control counter {name} passed {ISA13_MAX}")
    return int(value)
