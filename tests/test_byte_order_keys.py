"""Migration 0019: on PostgreSQL the text keys ingest and posting index compare bytes (``COLLATE "C"``), and
the money index carries the kept totals as INCLUDE columns — reads of them stay index-only; on both
databases claims list by claim id in byte order."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from benchmarks.post835 import seed_claims
from ledger.db import Ledger
from ledger.models import Claim
from ledger.money import aging_cells
from ledger.status import ledger_figures
from tests.claim_factory import make_claim
from tests.remit_factory import ingest_claims

BYTE_ORDER = {("parties", "role"), ("parties", "fingerprint"), ("claims", "claim_id"), ("claims", "status"),
              ("claims", "line_of_business"), ("service_lines", "line_id")}
MONEY_INDEX = "ix_claims_status_line_of_business_first_service_date_money"


@pytest.mark.postgres
def test_the_keys_compare_bytes_and_the_amounts_are_carried(pg_ledger_url: str) -> None:
    ledger = Ledger(pg_ledger_url)
    try:
        with ledger.engine.connect() as connection:
            collations = {(table, column): collation for table, column, collation in connection.exec_driver_sql(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name IN ('parties', 'claims', 'service_lines')")}
            definition = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (MONEY_INDEX,)).scalar_one()
    finally:
        ledger.dispose()
    assert {key: collations[key] for key in BYTE_ORDER} == dict.fromkeys(BYTE_ORDER, "C")
    others = {key for key, collation in collations.items() if collation is not None} - BYTE_ORDER
    assert not any(collations[key] == "C" for key in others), others  # no other column was changed
    assert "(status, line_of_business, first_service_date) INCLUDE (billed, paid, contractual, patient_share, " \
           "denied)" in definition, definition


@pytest.mark.postgres
def test_the_status_figures_and_aging_are_still_read_from_the_money_index_alone(pg_ledger_url: str) -> None:
    seed_claims(pg_ledger_url, 2000)
    ledger = Ledger(pg_ledger_url)
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM claims" not in statement or "GROUP BY" not in statement or statement.startswith("EXPLAIN"):
            return
        driver = conn.connection.driver_connection
        with driver.cursor() as other:
            other.execute("SAVEPOINT plan")
            other.execute("SET LOCAL enable_seqscan = off")  # the index, if any serves: which kind of scan
            plans.append("\n".join(row[0] for row in other.execute("EXPLAIN " + statement, parameters)))
            other.execute("ROLLBACK TO SAVEPOINT plan")

    try:
        with ledger.engine.connect() as connection:  # VACUUM sets the visibility map index-only scans use
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE claims")
        event.listen(ledger.engine, "before_cursor_execute", explain)
        with ledger.session() as session:
            figures = ledger_figures(session)
            cells = aging_cells(session, date(2025, 6, 1))
        event.remove(ledger.engine, "before_cursor_execute", explain)
    finally:
        ledger.dispose()
    assert figures.claims == 2000 and sum(cell.claims for cell in cells) == 2000
    assert len(plans) == 2, plans
    assert all(f"Index Only Scan using {MONEY_INDEX}" in plan for plan in plans), plans


def test_claims_list_by_claim_id_in_byte_order(ledger_url: str) -> None:
    ledger = Ledger(ledger_url)
    ids = ["b-1", "B-2", "a-1", "A-9", "10", "9"]
    try:
        ingest_claims(ledger, [make_claim(claim_id) for claim_id in ids], checker=lambda c: [], actor="t")
        with ledger.session() as session:
            listed = session.scalars(sa.select(Claim.claim_id).order_by(Claim.claim_id)).all()
    finally:
        ledger.dispose()
    assert listed == sorted(ids, key=lambda claim_id: claim_id.encode()) == ["10", "9", "A-9", "B-2", "a-1", "b-1"]
