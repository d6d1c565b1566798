"""``ledger.bulk.insert_rows`` on PostgreSQL sends COPY text the driver formats in blocks (``_copy_blocks``):
rows spread over several blocks arrive whole and exact — text that COPY must escape, NULLs, amounts, dates —
and a value the driver cannot send fails the statement, storing nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError, StatementError

from ledger import bulk
from ledger.bulk import insert_rows
from ledger.db import Ledger

pytestmark = pytest.mark.postgres

TRICKY = ["tab\there", "line\nbreak", "back\\slash", "\\N", "", "carriage\rreturn", "Siobhán Ó Briain", "end\\"]


def _rows(n: int) -> list[tuple[object, ...]]:
    return [(i, TRICKY[i % len(TRICKY)] + f"-{i}", None if i % 3 == 0 else Decimal(f"{i}.{i % 100:02d}"),
             date(2026, 1 + i % 12, 1 + i % 28)) for i in range(1, n + 1)]


def _ledger_with_table(url: str) -> Ledger:
    ledger = Ledger(url)
    with ledger.session() as session:
        session.execute(text("CREATE TABLE copied (id INTEGER PRIMARY KEY, name VARCHAR(80) NOT NULL, "
                             "amount NUMERIC(12, 2), day DATE NOT NULL)"))
    return ledger


def test_rows_over_several_blocks_arrive_whole_and_exact(pg_url: str) -> None:
    rows = _rows(12_000)  # about 400 KB of COPY text: four blocks
    ledger = _ledger_with_table(pg_url)
    try:
        with ledger.session() as session:
            insert_rows(session.connection(), "copied", ("id", "name", "amount", "day"), rows)
            blocks = list(bulk._copy_blocks(session.connection(), rows))
        with ledger.session() as session:
            stored = session.execute(text("SELECT id, name, amount, day FROM copied ORDER BY id")).all()
    finally:
        ledger.dispose()
    assert [tuple(row) for row in stored] == rows
    assert bulk._format_row_text is not None  # the blocks' path, not the driver's row by row
    assert len(blocks) >= 3 and all(len(block) >= bulk.COPY_BLOCK for block in blocks[:-1])


def test_a_value_the_driver_cannot_send_stores_nothing(pg_url: str) -> None:
    rows = _rows(9_000)
    rows[8_500] = (8_501, "fine", object(), date(2026, 1, 1))  # in the third block: two already sent
    ledger = _ledger_with_table(pg_url)
    try:
        with pytest.raises((DBAPIError, ProgrammingError, StatementError, TypeError)), ledger.session() as session:
            insert_rows(session.connection(), "copied", ("id", "name", "amount", "day"), rows)
        with ledger.session() as session:
            assert session.scalar(text("SELECT count(*) FROM copied")) == 0
    finally:
        ledger.dispose()
