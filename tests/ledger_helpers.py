"""Small helpers for tests that need claims in a ledger."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from ledger.db import Ledger, upgrade
from ledger.ingest import IngestReport, ingest_claims
from runtime.config import Config
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


def practice_with_batches(folder: Path, url: str, claim_ids: list[str]) -> Config:
    """A practice folder on the ledger at ``url`` (a local-folder clearinghouse, one claim per 837P
    file) with ``claim_ids`` ingested and built, not yet sent; its config."""
    from domain import clock
    from outbox.batches import build_batches
    from runtime.config import DEFAULT_CONFIG_NAME, load_config, starter_config
    from usecases.setup import create_ledger

    folder.mkdir(mode=0o700)
    path = folder / DEFAULT_CONFIG_NAME
    path.write_text(starter_config(transport_url="file://./clearinghouse")
                    .replace("claims_per_file = 5000", "claims_per_file = 1"))
    config = create_ledger(path, url)
    ledger = Ledger(url)
    try:
        ingest_claims(ledger, [make_claim(claim_id) for claim_id in claim_ids], checker=no_findings, actor="test")
        built = build_batches(ledger, config, checker=no_findings, actor="test", now=clock.now())
        assert len(built.files) == len(claim_ids)
    finally:
        ledger.dispose()
    return load_config(path, url)
