"""Replacements (7) and voids (8): refused with a reason unless the payer would take them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.claim import Frequency
from ledger.claims import current_revision, load_domain_claim
from ledger.corrections import CorrectionRefused, create_correction
from ledger.db import Ledger, upgrade
from ledger.models import Claim, ClaimEvent, ClaimPayment, ClaimStatus, Remittance
from tests.claim_factory import make_claim
from tests.ledger_helpers import ingest_one, no_findings

TODAY = date(2026, 11, 23)


def windows(_lob: object) -> int:
    return 180


@pytest.fixture
def ledger(db_url: str) -> Ledger:
    upgrade(db_url)
    ledger = Ledger(db_url)
    yield ledger
    ledger.dispose()


def adjudicate(ledger: Ledger, claim_id: str, *, number: str | None = "PCN123", remitted: date = TODAY,
               status: str = ClaimStatus.PAID) -> None:
    with ledger.session() as session:
        claim = current_revision(session, claim_id)
        assert claim is not None
        claim.status = status
        claim.payer_claim_number = number
        remit = Remittance(payer_id="87726", trace_number=f"TRN-{claim_id}", total_paid=Decimal("80"),
                           payment_date=remitted, content_sha256="x")
        session.add(remit)
        session.flush()
        session.add(ClaimPayment(remittance_id=remit.id, claim_pk=claim.id, patient_control_number=claim_id,
                                 status_code="1", charge=claim.billed, paid=Decimal("80"),
                                 patient_responsibility=Decimal("0"), payer_claim_number=number))


def correct(ledger: Ledger, claim_id: str, frequency: Frequency = Frequency.REPLACEMENT, **kw: object) -> Claim:
    with ledger.session() as session:
        return create_correction(session, claim_id, frequency=frequency, today=kw.pop("today", TODAY),
                                 window_days=windows, checker=no_findings, actor="clerk", **kw)


def test_replacement_carries_f8_and_links_to_original(ledger: Ledger) -> None:
    ingest_one(ledger, "ENC-7")
    adjudicate(ledger, "ENC-7")
    row = correct(ledger, "ENC-7")
    assert (row.revision, row.frequency, row.original_claim_number, row.status) == (1, "7", "PCN123", "ready")
    with ledger.session() as session:
        original = session.scalar(select(Claim).where(Claim.claim_id == "ENC-7", Claim.revision == 0))
        new = session.scalar(select(Claim).where(Claim.claim_id == "ENC-7", Claim.revision == 1))
        assert original.status == ClaimStatus.REPLACED and new.replaces_id == original.id
        domain = load_domain_claim(session, new)
        assert domain.frequency == Frequency.REPLACEMENT and domain.original_claim_number == "PCN123"
        events = [(e.event, e.actor) for e in session.scalars(select(ClaimEvent).where(ClaimEvent.claim_pk == original.id))]
        assert ("replaced_by_revision", "clerk") in events


def test_replacement_with_corrected_content(ledger: Ledger) -> None:
    ingest_one(ledger, "ENC-8")
    adjudicate(ledger, "ENC-8")
    fixed = make_claim(claim_id="ENC-8")
    fixed = replace(fixed, diagnoses=("F411",))
    row = correct(ledger, "ENC-8", content=fixed)
    with ledger.session() as session:
        assert load_domain_claim(session, session.get_one(Claim, row.id)).diagnoses == ("F411",)


def test_void_then_nothing_more(ledger: Ledger) -> None:
    ingest_one(ledger, "ENC-9")
    adjudicate(ledger, "ENC-9")
    row = correct(ledger, "ENC-9", Frequency.VOID)
    assert row.frequency == "8" and row.original_claim_number == "PCN123"
    with pytest.raises(CorrectionRefused, match="already voided"):
        correct(ledger, "ENC-9")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"status": ClaimStatus.SENT}, "not finalized"),
        ({"number": None}, "no payer claim number"),
        ({"remitted": TODAY - timedelta(days=181)}, "correction window"),
    ],
)
def test_refusals(ledger: Ledger, setup: dict[str, object], message: str) -> None:
    ingest_one(ledger, "ENC-10")
    adjudicate(ledger, "ENC-10", **setup)  # type: ignore[arg-type]
    with pytest.raises(CorrectionRefused, match=message):
        correct(ledger, "ENC-10")
    with ledger.session() as session:
        assert session.scalar(select(Claim).where(Claim.claim_id == "ENC-10", Claim.revision == 1)) is None


def test_window_boundary_day_is_still_open(ledger: Ledger) -> None:
    ingest_one(ledger, "ENC-11")
    adjudicate(ledger, "ENC-11", remitted=TODAY - timedelta(days=180))
    assert correct(ledger, "ENC-11").revision == 1


def test_unknown_claim(ledger: Ledger) -> None:
    with pytest.raises(CorrectionRefused, match="no claim"):
        correct(ledger, "NOPE")


def test_cli_correct_refusal_exit_1(tmp_path: Path) -> None:
    from tests.test_pipeline import _cli

    assert _cli(["init", str(tmp_path / "p")], cwd=tmp_path).returncode == 0
    result = _cli(["correct", "NOPE"], cwd=tmp_path / "p")
    assert result.returncode == 1 and "no claim NOPE" in result.stderr
