"""The SQL of 835 posting: what the poster reads and writes besides claim statuses.

``remits.payments`` decides (matching, ownership, balances, refusals); this module only
reads and writes, on the session's connection inside the caller's transaction, and
straight through the driver (posting reads and writes tens of thousands of rows per file).
Status changes are not here: they go through ``ledger.claims.transition``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from ledger.bulk import execute_rows, rows_where_in


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


CLAIM_STATE_COLUMNS = ("id, claim_id, revision, status, line_of_business, frequency, payer_claim_number, "
                       "original_claim_number, billing_id")
"""What posting reads of a claim revision, in this order."""


def claim_revisions(connection: Connection, upper_claim_ids: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Every revision of the claims whose upper-cased ids are given (``CLAIM_STATE_COLUMNS``)."""
    return rows_where_in(connection, f"SELECT {CLAIM_STATE_COLUMNS} FROM claims WHERE upper(claim_id) IN ({{marks}})",
                         upper_claim_ids)


def claim_revision(connection: Connection, claim_pk: int) -> tuple[Any, ...]:
    """One claim revision by id (``CLAIM_STATE_COLUMNS``)."""
    return next(rows_where_in(connection, f"SELECT {CLAIM_STATE_COLUMNS} FROM claims WHERE id IN ({{marks}})",
                              [claim_pk]))


def line_refs(connection: Connection, claim_pks: Sequence[int]) -> Iterator[tuple[int, int, str]]:
    """(claim id, line id, REF*6R) of the claims' service lines: SQLite reads them from the unique index
    on ``(claim_pk, line_id)`` without the table."""
    return rows_where_in(connection, "SELECT claim_pk, id, line_id FROM service_lines WHERE claim_pk IN ({marks})",
                         claim_pks)


def lines(connection: Connection, claim_pks: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """(claim id, line id, REF*6R, procedure, modifiers, service date as the driver gives it), in no
    particular order."""
    return rows_where_in(connection, "SELECT claim_pk, id, line_id, procedure_code, modifiers, service_date "
                         "FROM service_lines WHERE claim_pk IN ({marks})", claim_pks)


def party_ids(connection: Connection, party_id: int) -> tuple[str | None, str | None]:
    """(NPI, TIN) of a party."""
    npi, tax_id = next(rows_where_in(connection, "SELECT npi, tax_id FROM parties WHERE id IN ({marks})", [party_id]))
    return npi, tax_id


def provider_bills_claims(connection: Connection, column: str, value: str) -> bool:
    """Whether a provider party with this ``npi`` or ``tax_id`` bills at least one claim of the ledger."""
    if column not in ("npi", "tax_id"):
        raise ValueError(f"not a provider id column: {column}")
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    return connection.exec_driver_sql(
        f"SELECT 1 FROM parties WHERE role = 'provider' AND {column} = {mark} AND EXISTS "
        "(SELECT 1 FROM claims WHERE claims.billing_id = parties.id) LIMIT 1", (value,)).first() is not None
