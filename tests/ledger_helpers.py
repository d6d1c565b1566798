"""Small helpers for tests that need claims in a ledger."""

from __future__ import annotations

from sqlalchemy import inspect

from ledger.db import Ledger, upgrade
from ledger.ingest import IngestReport, ingest_claims
from tests.claim_factory import make_claim


def no_findings(_claim: object) -> list[object]:
    return []


def ingest_one(ledger: Ledger, claim_id: str = "ENC-1", actor: str = "tester") -> IngestReport:
    return ingest_claims(ledger, [make_claim(claim_id=claim_id)], checker=no_findings, actor=actor)


def migrated_ledger(url: str) -> Ledger:
    """The ledger at ``url``, migrated first if the database is still empty.

    Tests get migrated ledgers from the ``ledger_url`` fixture (a copy of a template, no Alembic
    run); a helper handed an empty database (``db_url``, a URL of its own) still works.
    """
    ledger = Ledger(url)
    with ledger.engine.connect() as conn:
        has_schema = inspect(conn).has_table("claims")
    if not has_schema:
        ledger.dispose()  # PostgreSQL: nobody connected while Alembic works, as in production
        upgrade(url)
        ledger = Ledger(url)
    return ledger
