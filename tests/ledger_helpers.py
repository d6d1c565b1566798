"""Small helpers for tests that need claims in a ledger."""

from __future__ import annotations

from ledger.db import Ledger
from ledger.ingest import IngestReport, ingest_claims
from tests.claim_factory import make_claim


def no_findings(_claim: object) -> list[object]:
    return []


def ingest_one(ledger: Ledger, claim_id: str = "ENC-1", actor: str = "tester") -> IngestReport:
    return ingest_claims(ledger, [make_claim(claim_id=claim_id)], checker=no_findings, actor=actor)
