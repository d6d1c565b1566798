"""Migrations 0016 and 0018 on PostgreSQL: an adjustment has one index entry (its primary key leads with the
claim payment and carries what the sums read), a service payment's primary key leads with its claim payment,
and a payer claim number has a hash index; the lookups still find them by index.  And posting's claims
UPDATE searches the claims by id."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.db import Ledger


def _plan(connection: sa.Connection, sql: str, *, bitmap: bool) -> str:
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: ask what the index offers
    connection.exec_driver_sql(f"SET LOCAL enable_bitmapscan = {'on' if bitmap else 'off'}")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql))


def _indexes(connection: sa.Connection, table: str) -> dict[str, str]:
    """The table's indexes by name, with their definitions."""
    return dict(connection.exec_driver_sql(  # type: ignore[arg-type]
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table,)).all())


def test_an_adjustment_is_one_index_entry_and_its_sums_come_from_it(pg_ledger_url: str) -> None:
    ledger = Ledger(pg_ledger_url)
    try:
        with ledger.engine.begin() as connection:
            indexes = _indexes(connection, "adjustments")
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


def test_posting_finds_the_claims_it_updates_by_their_ids_not_by_a_scan(pg_ledger_url: str) -> None:
    """The claims UPDATE of a posting chunk (``ledger.postings.claims_update_statement``) searches the primary
    key for each id: joined to its unnested rows alone, the planner merged them with a scan of every claim
    in the ledger, once per chunk."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from ledger.models import Claim
    from ledger.postings import claims_update_statement
    from ledger.totals import TOTALS
    from tests.claim_factory import make_claim
    from tests.remit_factory import ledger_with

    ledger = ledger_with(pg_ledger_url, [make_claim("T0")])
    columns = [name for name in Claim.__table__.columns.keys() if name not in ("id", "claim_id")]
    try:
        with ledger.engine.begin() as connection:
            connection.exec_driver_sql(  # 60,000 more claims like the first
                f"INSERT INTO claims (claim_id, {', '.join(columns)}) SELECT 'T' || g, {', '.join(columns)} "
                "FROM claims, generate_series(1, 60000) AS g")
        with ledger.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE claims")
            ids = [row[0] for row in connection.exec_driver_sql("SELECT id FROM claims WHERE mod(id, 20) = 0 ORDER BY id")]
            rows = [(pk, None, *[Decimal("1.00")] * len(TOTALS)) for pk in ids]
            statement, parameters = claims_update_statement(rows, ("paid", datetime.now(UTC)))
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
    finally:
        ledger.dispose()
    assert len(ids) == 3000
    assert "Index Cond: (id = ANY" in plan, plan


def test_a_service_payment_is_found_by_its_claim_payment_through_its_primary_key(pg_ledger_url: str) -> None:
    """Migration 0018: the primary key leads with the claim payment and replaces its separate index."""
    ledger = Ledger(pg_ledger_url)
    try:
        with ledger.engine.begin() as connection:
            indexes = _indexes(connection, "service_payments")
            assert sorted(indexes) == ["ix_service_payments_service_line_id", "ix_service_payments_unpaid",
                                       "pk_service_payments"], indexes
            assert "(claim_payment_id, id)" in indexes["pk_service_payments"]
            plan = _plan(connection, "SELECT id, paid FROM service_payments WHERE claim_payment_id = ANY('{1,2,3}'::int[])",
                         bitmap=False)
            assert "pk_service_payments" in plan, plan
    finally:
        ledger.dispose()


def test_the_posters_lookups_search_by_index_on_a_ledger_nobody_has_analysed(pg_ledger_url: str) -> None:
    """On a just-loaded ledger (no statistics for ``upper(claim_id)``) the planner took a chunk's claim ids to
    match most claims and scanned every claim for a file's first chunks; the poster's lookup connection
    (``ledger.postings.lookup_connection``) searches the index whatever the statistics."""
    from benchmarks.post835 import seed_claims
    from ledger.postings import claim_revisions, lookup_connection

    ledger = Ledger(pg_ledger_url)
    try:
        with ledger.engine.begin() as connection:  # nothing may analyse it while the test runs
            connection.exec_driver_sql("ALTER TABLE claims SET (autovacuum_enabled = false)")
        seed_claims(pg_ledger_url, 3000)
        keys = [f"C{number:07d}" for number in range(0, 3000, 2)]
        with ledger.session() as session:
            lookups = lookup_connection(session)
            assert lookups is not None
            try:
                statements: list[tuple[str, object]] = []
                sa.event.listen(lookups, "before_cursor_execute",
                                lambda _c, _cur, statement, parameters, _ctx, _many: statements.append(
                                    (statement, parameters)))
                assert len(list(claim_revisions(lookups, keys))) == len(keys)
                (statement, parameters), = statements
                searched = "\n".join(row[0] for row in lookups.exec_driver_sql("EXPLAIN " + statement, parameters))
            finally:
                lookups.close()
        with ledger.engine.connect() as connection:  # the same statement elsewhere: still unanalysed, it scans
            scanned = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
            analysed = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'ix_claims_upper_claim_id'").scalar_one()
    finally:
        ledger.dispose()
    assert analysed == 0
    assert "Seq Scan on claims" in scanned, scanned
    assert "ix_claims_upper_claim_id" in searched and "Seq Scan" not in searched, searched
