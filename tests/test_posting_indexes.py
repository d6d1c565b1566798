"""Migration 0016 on PostgreSQL: an adjustment has one index entry (its primary key leads with the claim
payment and carries what the sums read) and a payer claim number a hash index; the lookups still
find them by index."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.db import Ledger


def _plan(connection: sa.Connection, sql: str, *, bitmap: bool) -> str:
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: ask what the index offers
    connection.exec_driver_sql(f"SET LOCAL enable_bitmapscan = {'on' if bitmap else 'off'}")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql))


def test_an_adjustment_is_one_index_entry_and_its_sums_come_from_it(pg_ledger_url: str) -> None:
    ledger = Ledger(pg_ledger_url)
    try:
        with ledger.engine.begin() as connection:
            indexes = dict(connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'adjustments'").all())
            assert list(indexes) == ["pk_adjustments"], indexes
            assert "(claim_payment_id, id) INCLUDE (group_code, reason_code, amount)" in indexes["pk_adjustments"]
            plan = _plan(connection, "SELECT group_code, reason_code, sum(amount) FROM adjustments "
                                     "WHERE claim_payment_id = ANY('{1,2,3}'::int[]) GROUP BY 1, 2", bitmap=False)
            assert "Index Only Scan using pk_adjustments" in plan, plan
            hashed = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_claim_payments_payer_claim_number'").scalar_one()
            assert "USING hash (payer_claim_number)" in hashed
            # a hash index answers each value of an IN list (a bitmap of equality searches)
            plan = _plan(connection, "SELECT id FROM claim_payments WHERE payer_claim_number IN ('A', 'B')", bitmap=True)
            assert "ix_claim_payments_payer_claim_number" in plan, plan
    finally:
        ledger.dispose()
