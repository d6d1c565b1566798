"""Ingest's lookups on PostgreSQL search by index whatever the statistics: into a ledger nobody has analysed
yet, the planner took a chunk's claim ids to match most claims and scanned every claim for each chunk
(``ledger.ingest._ingest_chunk``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from benchmarks.post835 import seed_claims
from ledger.db import Ledger
from tests.claim_factory import make_claim
from tests.remit_factory import ingest_claims

pytestmark = pytest.mark.postgres


def test_a_chunks_claim_lookup_searches_the_index_on_an_unanalysed_ledger(pg_ledger_url: str) -> None:
    ledger = Ledger(pg_ledger_url)
    plans: list[str] = []
    unset: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        """The plan of the chunk's claim lookup, asked in its own transaction, and outside of it."""
        if "FROM claims WHERE upper(claim_id)" not in statement:
            return
        driver = conn.connection.driver_connection
        plans.append("\n".join(row[0] for row in driver.execute("EXPLAIN " + statement, parameters)))
        with driver.cursor() as other:  # what the planner does with the defaults, on the same data
            other.execute("SAVEPOINT defaults")
            other.execute("SET LOCAL enable_seqscan = on")
            unset.append("\n".join(row[0] for row in other.execute("EXPLAIN " + statement, parameters)))
            other.execute("ROLLBACK TO SAVEPOINT defaults")

    try:
        with ledger.engine.begin() as connection:  # nothing may analyse it while the test runs
            connection.exec_driver_sql("ALTER TABLE claims SET (autovacuum_enabled = false)")
        seed_claims(pg_ledger_url, 3000)  # C0000000 … C0002999, bulk-loaded, no statistics
        event.listen(ledger.engine, "before_cursor_execute", explain)
        claims = [make_claim(f"C{number:07d}") for number in range(3000, 3400)]  # new ids among them
        report = ingest_claims(ledger, claims, checker=lambda claim: [], actor="t")
        event.remove(ledger.engine, "before_cursor_execute", explain)
        with ledger.engine.connect() as connection:
            analysed = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'ix_claims_upper_claim_id'").scalar_one()
    finally:
        ledger.dispose()
    assert len(report.added) == 400
    assert plans and analysed == 0
    assert all("Seq Scan on claims" in plan for plan in unset), unset[0][:300]  # the defaults scan every claim
    assert not any("Seq Scan on claims" in plan for plan in plans), plans[0][:300]
    assert all("ix_claims_upper_claim_id" in plan for plan in plans), plans[0][:300]
