"""Posting's first question of an 835 — does its payee bill claims of this ledger? — answered on both
databases, and on PostgreSQL without reading every claim (``ledger.postings.provider_bills_claims``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, insert

from benchmarks.post835 import seed_claims
from ledger.db import Ledger
from ledger.models import Party
from ledger.postings import provider_bills_claims

CLAIMS = 3000
SEEDED_NPI = "1234567893"  # the provider billing every claim seed_claims makes


@pytest.fixture
def seeded(ledger_url: str) -> Any:
    seed_claims(ledger_url, CLAIMS)
    ledger = Ledger(ledger_url)
    with ledger.session() as session:  # a provider of the ledger that bills no claim
        session.execute(insert(Party.__table__), {"role": "provider", "fingerprint": "n" * 64, "npi": "1003000126",
                                                  "tax_id": "111111111", "entity_type": "2", "last_or_org": "IDLE"})
    yield ledger
    ledger.dispose()


def test_a_payee_bills_claims_only_when_a_claim_of_the_ledger_names_it(seeded: Ledger) -> None:
    with seeded.engine.connect() as connection:
        assert provider_bills_claims(connection, "npi", SEEDED_NPI)
        assert not provider_bills_claims(connection, "npi", "1003000126")  # a provider, but of no claim
        assert not provider_bills_claims(connection, "tax_id", "111111111")
        assert not provider_bills_claims(connection, "npi", "1999999984")  # nobody's
        with pytest.raises(ValueError, match="not a provider id column"):
            provider_bills_claims(connection, "member_id", "M1")


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_on_postgresql_the_claims_are_read_until_the_first_one_the_payee_bills(seeded: Ledger) -> None:
    """Asked as EXISTS per provider, PostgreSQL hashed every claim's billing id before it answered (all
    claims read, per 835, growing with the ledger); from the claims' side it stops at the first."""
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    with seeded.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE claims")  # as autovacuum leaves a ledger: then the semi-join hashed
        connection.exec_driver_sql("ANALYZE parties")
        event.listen(connection, "before_cursor_execute", seen)
        assert provider_bills_claims(connection, "npi", SEEDED_NPI)
        event.remove(connection, "before_cursor_execute", seen)
        (statement, parameters), = statements
        plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
    read = sum(_claims_rows_read(node) for node in _nodes((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]))
    assert read < 10, f"{read} claims read of {CLAIMS}: {plan}"


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(found for child in node.get("Plans", []) for found in _nodes(child))]


def _claims_rows_read(node: dict[str, Any]) -> int:
    if node.get("Relation Name") != "claims":
        return 0
    return int(node["Actual Rows"] * node.get("Actual Loops", 1) + node.get("Rows Removed by Filter", 0))
