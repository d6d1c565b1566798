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
from ledger.db import Ledger
from ledger.lookup import UnknownClaim
from ledger.models import Claim, ClaimEvent, ClaimPayment, ClaimStatus, Remittance
from tests.claim_factory import make_claim
from tests.ledger_helpers import ingest_one, no_findings

TODAY = date(2026, 11, 23)


def windows(_lob: object) -> int:
    return 180


@pytest.fixture
def ledger(ledger_url: str) -> Ledger:
    ledger = Ledger(ledger_url)
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
    with pytest.raises(UnknownClaim, match="no claim NOPE in the ledger"):
        correct(ledger, "NOPE")


def test_cli_correct_refusal_exit_1(tmp_path: Path) -> None:
    from tests.test_pipeline import DEMO_EXPORT, _cli

    assert _cli(["init", str(tmp_path / "p")], cwd=tmp_path).returncode == 0
    assert _cli(["ingest", str(DEMO_EXPORT)], cwd=tmp_path / "p").returncode in (0, 1)
    result = _cli(["correct", "HL-260903"], cwd=tmp_path / "p")
    assert result.returncode == 1 and "not finalized" in result.stderr


def test_void_is_not_held_to_the_correction_window(ledger: Ledger) -> None:
    ingest_one(ledger, "ENC-12")
    adjudicate(ledger, "ENC-12", remitted=TODAY - timedelta(days=181))
    with pytest.raises(CorrectionRefused, match="correction window"):
        correct(ledger, "ENC-12")
    assert correct(ledger, "ENC-12", Frequency.VOID).frequency == "8"


def _received(ledger: Ledger, claim_id: str, event: str, on: date) -> None:
    """Add the audit row that says when the payer got the claim (as the sender/poster write it)."""
    from datetime import UTC, datetime

    with ledger.session() as session:
        claim = current_revision(session, claim_id)
        assert claim is not None
        session.add(ClaimEvent(claim_pk=claim.id, actor="test", event=event, from_status=claim.status,
                               to_status=claim.status, at=datetime(on.year, on.month, on.day, 12, tzinfo=UTC)))


def test_original_claim_facts_answer_what_the_ref_f8_rules_ask(ledger: Ledger) -> None:
    from ledger.queries import original_claim_facts

    ingest_one(ledger, "ENC-13")
    with ledger.read_session() as session:
        assert original_claim_facts(session, "ENC-13") == (None, None)  # known, not finalized
        assert original_claim_facts(session, "NEVER-SENT") is None
    _received(ledger, "ENC-13", "sent", date(2026, 6, 1))
    _received(ledger, "ENC-13", "accepted_277ca", date(2026, 6, 3))
    adjudicate(ledger, "ENC-13", number="PCN-13")
    with ledger.read_session() as session:
        assert original_claim_facts(session, "ENC-13") == ("PCN-13", date(2026, 6, 3))
    correct(ledger, "ENC-13")  # the original is now "replaced": still the finalized one to name
    with ledger.read_session() as session:
        assert original_claim_facts(session, "ENC-13") == ("PCN-13", date(2026, 6, 3))


def test_app_check_holds_a_replacement_whose_ref_f8_is_not_the_ledgers(ledger: Ledger, tmp_path: Path,
                                                                        ledger_url: str) -> None:
    from runtime.config import load_config, starter_config
    from usecases.app import App

    config_path = tmp_path / "bhclaims.toml"
    config_path.write_text(starter_config(transport_url="file://./clearinghouse"), encoding="utf-8")
    app = App(load_config(config_path, ledger_url), today=TODAY)
    ingest_one(ledger, "ENC-14")
    _received(ledger, "ENC-14", "sent", TODAY - timedelta(days=100))
    adjudicate(ledger, "ENC-14", number="PCN-14", remitted=TODAY - timedelta(days=60))
    base = replace(make_claim(claim_id="ENC-14"), frequency=Frequency.REPLACEMENT)

    def codes(claim: object) -> dict[str, str]:
        return {f.code: f.severity for f in app.check(claim)}  # type: ignore[arg-type]

    wrong = codes(replace(base, original_claim_number="PCN-99"))
    assert wrong["OPT-ORIGINAL-NUMBER"] == "error"
    right = codes(replace(base, original_claim_number="PCN-14"))
    assert "OPT-ORIGINAL-NUMBER" not in right and right["OPT-CORR-RECEIPT"] == "warning"  # 100 days after receipt
    unknown = codes(replace(base, claim_id="ENC-NEW", original_claim_number="PCN-14"))
    assert unknown["OPT-ORIGINAL-UNKNOWN"] == "warning" and "OPT-ORIGINAL-NUMBER" not in unknown
    app.close()
