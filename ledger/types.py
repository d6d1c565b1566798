"""Column types that keep money exact on every backend.

SQLite has no exact decimal type: a NUMERIC column stores a float.  ``Money``
stores integer cents there and NUMERIC(12,2) on PostgreSQL; both come back as
``Decimal`` quantized to cents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from domain import clock

CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        amount = Decimal(value)
        if amount.quantize(CENT) != amount:
            raise ValueError(f"amount {amount} has more than 2 decimal places")
        if dialect.name == "sqlite":
            return int(amount * 100)
        return amount.quantize(CENT)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)  # exact: the cents with the point moved, two places
        return Decimal(value).quantize(CENT)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps always stored and returned as timezone-aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return clock.now()
