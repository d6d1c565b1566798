"""The SQL of 835 posting: what the poster reads and writes besides claim statuses.

``remits.payments`` decides (matching, ownership, balances, refusals); this module only
reads and writes, on the session's connection inside the caller's transaction, and
straight through the driver (posting reads and writes tens of thousands of rows per file).
Status changes are not here: they go through ``ledger.claims.transition``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sqlalchemy import Connection

from ledger.bulk import execute_rows


def set_payer_claim_numbers(connection: Connection, rows: Sequence[tuple[str, int]]) -> None:
    """rows: (payer claim number, claim id), one per claim id: the number CLP07 gave each claim."""
    if not rows:
        return
    p = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    if connection.dialect.name == "postgresql":  # one statement over arrays instead of one per claim
        numbers, ids = (list(column) for column in zip(*rows, strict=True))
        connection.exec_driver_sql(
            f"UPDATE claims SET payer_claim_number = v.number FROM unnest({p}::bigint[], {p}::varchar[]) "
            "AS v(id, number) WHERE claims.id = v.id", (ids, numbers))
        return
    if connection.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 33):  # UPDATE ... FROM
        execute_rows(connection, "UPDATE claims SET payer_claim_number = v.column1 FROM (VALUES {}) AS v "
                     "WHERE claims.id = v.column2", f"({p}, {p})", rows)
        return
    connection.exec_driver_sql(f"UPDATE claims SET payer_claim_number = {p} WHERE claims.id = {p}", list(rows))
