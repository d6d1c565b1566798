"""The SQL of 835 posting: what the poster reads and writes besides claim statuses.

``remits.payments`` decides (matching, ownership, balances, refusals); this module only
reads and writes, on the session's connection inside the caller's transaction, and
straight through the driver (posting reads and writes tens of thousands of rows per file).
Status changes are not decided here: they go through ``ledger.claims.transition``, which writes
them, with the money a posting adds to each claim's kept totals, through ``update_claims``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from ledger.bulk import array_literal, execute_rows, number_array_literal, rows_where_in, search_by_index
from ledger.totals import TOTALS

_UPDATE_COLUMNS = ("id", "number", *TOTALS)
_PG_ARRAY_TYPES = ("bigint[]", "varchar[]", *(["numeric[]"] * len(TOTALS)))


def update_claims(connection: Connection, rows: Sequence[Sequence[Any]], move: tuple[Any, Any] | None = None) -> None:
    """``prepare_claims_update``, run at once."""
    prepare_claims_update(connection, rows, move)()


def _nothing() -> None:
    return None


def prepare_claims_update(connection: Connection, rows: Sequence[Sequence[Any]],
                          move: tuple[Any, Any] | None = None) -> Callable[[], None]:
    """Many claims moved or paid, in one UPDATE … FROM their rows, run when the returned function is called
    (posting calls it on its writing thread, ``WriteBehind``); on PostgreSQL its arrays are made now.

    ``rows``: (claim id, its new payer claim number or None to keep its own, then the money a
    posting adds to each of the kept totals ``ledger.totals.TOTALS``), values in database form, one
    row per claim id (a second row of one claim would be ignored, and its money lost: refused).
    ``move``: (status, updated_at in database form) every claim moves to, or None to leave the
    statuses alone.  A status and the money go in one statement because PostgreSQL treats a second
    UPDATE of a row the transaction already updated as a new row: its foreign keys are checked
    again and every index of ``claims`` gets another entry."""
    if not rows:
        return _nothing
    if len({row[0] for row in rows}) != len(rows):
        raise ValueError("update_claims takes one row per claim id")
    if connection.dialect.name == "postgresql":  # one statement over arrays, whatever the number of claims
        statement, parameters = claims_update_statement(rows, move)

        def run() -> None:
            connection.exec_driver_sql(statement, parameters)

        return run
    return lambda: _update_claims_rows(connection, rows, move)


def claims_update_statement(rows: Sequence[Sequence[Any]], move: tuple[Any, Any] | None
                            ) -> tuple[str, tuple[Any, ...]]:
    """PostgreSQL's UPDATE of ``prepare_claims_update`` and its parameters (the rows as arrays).

    ``claims.id = ANY(ids)`` besides the join: the claims are then found by an index search per id.
    Joined to the unnested rows alone, a plan made for the statement's arrays (the first executions,
    before the driver prepares it) merged them with a scan of the whole primary key — 100,000 claims read
    for a chunk of 4,000, 34 → 14 ms of the join — a scan that grows with the ledger
    (``tests/test_posting_indexes.py``)."""
    leading, sets = _joined_sets("%s", move)
    arrays = ", ".join(f"%s::{kind}" for kind in _PG_ARRAY_TYPES)
    ids, numbers, *totals = zip(*rows, strict=True)
    statement = (f"UPDATE claims SET {', '.join(sets)} FROM unnest({arrays}) AS v({', '.join(_UPDATE_COLUMNS)}) "
                 "WHERE claims.id = v.id AND claims.id = ANY(%s::bigint[])")
    id_array = number_array_literal(ids)
    return statement, (*leading, id_array, array_literal(numbers), *map(number_array_literal, totals), id_array)


def _moved(mark: str, move: tuple[Any, Any] | None) -> tuple[tuple[Any, ...], list[str]]:
    """The parameters before the rows' and the SET items of a move (none when ``move`` is None)."""
    if move is None:
        return (), []
    return tuple(move), [f"status = {mark}", f"updated_at = {mark}"]


def _joined_sets(mark: str, move: tuple[Any, Any] | None) -> tuple[tuple[Any, ...], list[str]]:
    """The parameters before the rows' and the SET list of an UPDATE of claims joined to rows ``v``."""
    leading, moves = _moved(mark, move)
    return leading, [*moves, "payer_claim_number = coalesce(v.number, claims.payer_claim_number)",
                     *(f"{name} = claims.{name} + v.{name}" for name in TOTALS)]


def _update_claims_rows(connection: Connection, rows: Sequence[Sequence[Any]], move: tuple[Any, Any] | None) -> None:
    """``prepare_claims_update`` elsewhere than on PostgreSQL (SQLite: an UPDATE … FROM many VALUES rows
    per statement, or by id before 3.33)."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    if connection.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 33):  # no UPDATE … FROM: by id
        leading, moves = _moved(mark, move)
        sets = [*moves, f"payer_claim_number = coalesce({mark}, payer_claim_number)",
                *(f"{name} = {name} + {mark}" for name in TOTALS)]
        connection.exec_driver_sql(f"UPDATE claims SET {', '.join(sets)} WHERE id = {mark}",
                                   [(*leading, *row[1:], row[0]) for row in rows])
        return
    leading, sets = _joined_sets(mark, move)
    names = ", ".join(f"column{k} AS {name}" for k, name in enumerate(_UPDATE_COLUMNS, start=1))
    execute_rows(connection, f"UPDATE claims SET {', '.join(sets)} FROM (SELECT {names} FROM (VALUES {{}})) AS v "
                 "WHERE claims.id = v.id", f"({', '.join([mark] * len(_UPDATE_COLUMNS))})", rows, leading)


CLAIM_STATE_COLUMNS = ("id, claim_id, revision, status, line_of_business, frequency, payer_claim_number, "
                       "original_claim_number, billing_id, denial_payment_id")
"""What posting reads of a claim revision, in this order."""


def claim_revisions(connection: Connection, upper_claim_ids: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Every revision of the claims whose upper-cased ids are given (``CLAIM_STATE_COLUMNS``)."""
    return rows_where_in(connection, f"SELECT {CLAIM_STATE_COLUMNS} FROM claims WHERE upper(claim_id) IN ({{marks}})",
                         upper_claim_ids, search=True)


def claim_revision(connection: Connection, claim_pk: int) -> tuple[Any, ...]:
    """One claim revision by id (``CLAIM_STATE_COLUMNS``)."""
    return next(rows_where_in(connection, f"SELECT {CLAIM_STATE_COLUMNS} FROM claims WHERE id IN ({{marks}})",
                              [claim_pk], search=True))


def line_refs(connection: Connection, claim_pks: Sequence[int]) -> Iterator[tuple[int, int, str]]:
    """(claim id, line id, REF*6R) of the claims' service lines: SQLite reads them from the unique index
    on ``(claim_pk, line_id)`` without the table."""
    return rows_where_in(connection, "SELECT claim_pk, id, line_id FROM service_lines WHERE claim_pk IN ({marks})",
                         claim_pks, search=True)


def lines(connection: Connection, claim_pks: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """(claim id, line id, REF*6R, procedure, modifiers, service date as the driver gives it), in no
    particular order."""
    return rows_where_in(connection, "SELECT claim_pk, id, line_id, procedure_code, modifiers, service_date "
                         "FROM service_lines WHERE claim_pk IN ({marks})", claim_pks, search=True)


def lookup_connection(session: Session) -> Connection | None:
    """A connection of its own for a posting's lookups (PostgreSQL), which can then run while its rows are
    written on the session's, searching by index whatever the tables' statistics; None when the session
    is bound to one connection.  It sees only what was committed: the caller asks for it only when its
    transaction has changed none of what the lookups read (claims, service lines, parties) before the
    posting.  The caller closes it."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return None
    connection = bind.connect()
    search_by_index(connection)  # its statements are all key searches; ends with ``close``
    return connection


def party_ids(connection: Connection, party_id: int) -> tuple[str | None, str | None]:
    """(NPI, TIN) of a party."""
    npi, tax_id = next(rows_where_in(connection, "SELECT npi, tax_id FROM parties WHERE id IN ({marks})", [party_id],
                                        search=True))
    return npi, tax_id


def provider_bills_claims(connection: Connection, column: str, value: str) -> bool:
    """Whether a provider party with this ``npi`` or ``tax_id`` bills at least one claim of the ledger.

    No index leads with ``claims.billing_id`` (each one costs posting's claims UPDATE an entry per claim),
    so the claims are scanned until the first one found: on PostgreSQL from the claims' side, with the
    providers as the IN list — asked as ``EXISTS`` per provider it was planned as a semi-join that
    hashed every claim's billing id first (20 ms per 835 at 100,000 claims, growing with the ledger);
    SQLite runs the ``EXISTS`` per provider and stops at its first claim."""
    if column not in ("npi", "tax_id"):
        raise ValueError(f"not a provider id column: {column}")
    if connection.dialect.name == "postgresql":
        statement = (f"SELECT 1 FROM claims WHERE billing_id IN (SELECT id FROM parties WHERE role = 'provider' "
                     f"AND {column} = %s) LIMIT 1")
    else:
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        statement = (f"SELECT 1 FROM parties WHERE role = 'provider' AND {column} = {mark} AND EXISTS "
                     "(SELECT 1 FROM claims WHERE claims.billing_id = parties.id) LIMIT 1")
    return connection.exec_driver_sql(statement, (value,)).first() is not None
