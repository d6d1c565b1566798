"""Issue 18: the nightly summary says "nothing needs a human" only when every worklist is empty,
and no refusal suggests `bhclaims correct` for a voided claim (the payer takes nothing more for it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from clerk.nightly import EXIT_ATTENTION, EXIT_OK, summary_text
from domain.claim import Frequency
from ledger.claims import current_revision
from ledger.corrections import create_correction
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import ClaimStatus
from tests.claim_factory import make_claim
from tests.ledger_helpers import no_findings

TODAY = date(2026, 11, 23)
EMPTY = {"rejected": 0, "denied": 0, "timely_filing": 0, "corrections": 0, "unmatched": 0,
         "patient_responsibility": 0}


def _report(code: int, worklists: dict[str, int]) -> dict[str, object]:
    return {"exit_code": code, "dry_run": False, "run_id": "r1", "started": "2026-11-23T02:00:00",
            "steps": [], "attention": [] if code == EXIT_OK else ["claim X: denied"], "worklists": worklists}


def test_nothing_needs_a_human_only_when_every_worklist_is_empty() -> None:
    assert "nothing needs a human" in summary_text(_report(EXIT_OK, EMPTY)).splitlines()[0]
    for name in EMPTY:
        first = summary_text(_report(EXIT_OK, {**EMPTY, name: 1})).splitlines()[0]
        assert "nothing needs a human" not in first, name
        assert "1 item(s) wait in the worklists" in first
    assert "SOMETHING NEEDS A HUMAN" in summary_text(_report(EXIT_ATTENTION, EMPTY))


@pytest.fixture
def ledger(ledger_url: str) -> Ledger:
    ledger = Ledger(ledger_url)
    yield ledger
    ledger.dispose()


def _voided(ledger: Ledger, claim_id: str) -> None:
    ingest_claims(ledger, [make_claim(claim_id)], checker=no_findings, actor="t")
    with ledger.session() as session:
        claim = current_revision(session, claim_id)
        assert claim is not None
        claim.status, claim.payer_claim_number = ClaimStatus.PAID, "PCN9"
    with ledger.session() as session:
        void = create_correction(session, claim_id, frequency=Frequency.VOID, today=TODAY,
                                 window_days=lambda _lob: 180, checker=no_findings, actor="clerk")
        void.status = ClaimStatus.VOIDED  # sent, and its reversal posted


def test_no_correct_suggestion_for_a_voided_claim(ledger: Ledger) -> None:
    _voided(ledger, "VD-1")
    original = make_claim("VD-1")
    changed_original = replace(original, lines=(replace(original.lines[0], charge=Decimal("999.00")),
                                                *original.lines[1:]))
    changed_void = replace(changed_original, frequency=Frequency.VOID, original_claim_number="PCN9")
    for claim in (original, changed_original, changed_void):
        report = ingest_claims(ledger, [claim], checker=no_findings, actor="cron")
        reasons = [reason for _, reason in report.refused]
        assert reasons, claim.frequency
        assert all("bhclaims correct" not in reason and "voided" in reason for reason in reasons), reasons


def test_a_replaced_claim_is_still_told_to_use_correct(ledger: Ledger) -> None:
    ingest_claims(ledger, [make_claim("RP-1")], checker=no_findings, actor="t")
    with ledger.session() as session:
        claim = current_revision(session, "RP-1")
        assert claim is not None
        claim.status = ClaimStatus.PAID
    changed = make_claim("RP-1")
    changed = replace(changed, lines=(replace(changed.lines[0], charge=Decimal("999.00")), *changed.lines[1:]))
    report = ingest_claims(ledger, [changed], checker=no_findings, actor="cron")
    assert [reason for _, reason in report.refused] == [
        "claim RP-1 changed but was already paid: change it with `bhclaims correct RP-1`"]
