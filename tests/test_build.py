"""`build`: only X12-clean files leave (engine, and pyx12 too with --pyx12); a bad claim is held alone; a crash is finished, not repeated."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.claim import Address
from edi.read837 import read_837p
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import Batch, BatchClaim, Claim, ClaimStatus
from outbox import batches
from outbox.batches import build_batches
from runtime.config import load_config, starter_config
from tests.claim_factory import BILLING_GROUP, make_claim
from tests.ledger_helpers import no_findings
from validators.x12_syntax import SyntaxFinding, check_x12, check_x12_and_pyx12, validate_x12

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture
def setup(tmp_path: Path, ledger_url: str) -> tuple[Ledger, object]:
    path = tmp_path / "bhclaims.toml"
    path.write_text(starter_config(transport_url="file://./ch"))
    config = load_config(path, ledger_url)
    ledger = Ledger(ledger_url)
    yield ledger, config
    ledger.dispose()


def test_unwritable_claim_is_held_and_the_rest_is_built(setup: tuple[Ledger, object]) -> None:
    ledger, config = setup
    bad_billing = replace(BILLING_GROUP, address=Address("1 MAIN ST", "BOSTON", "MA", "02108"))  # no ZIP+4
    claims = [make_claim("A1"), make_claim("A2", billing=bad_billing), make_claim("A3")]
    ingest_claims(ledger, claims, checker=no_findings, actor="t")
    report = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    assert [c for c, _ in report.held] == ["A2"] and "A2" in report.held[0][1]
    assert len(report.files) == 1
    built = read_837p(Path(report.files[0]).read_text())
    assert [c.claim_id for c in built.claims] == ["A1", "A3"]
    with ledger.session() as session:
        statuses = dict(session.execute(select(Claim.claim_id, Claim.status)).all())
        assert statuses == {"A1": "batched", "A2": "held", "A3": "batched"}
        assert session.scalar(select(Batch.claim_count)) == 2


def test_file_failing_pyx12_is_not_released(setup: tuple[Ledger, object]) -> None:
    ledger, config = setup
    ingest_claims(ledger, [make_claim("B1")], checker=no_findings, actor="t")

    def failing(_text: str) -> list[SyntaxFinding]:
        return [SyntaxFinding(12, "CLM", "CLM02", "8", "invented failure")]

    report = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW, validate=failing)
    assert report.files == [] and report.invalid_batches
    assert list(config.outbox_dir.glob("*")) == [] if config.outbox_dir.exists() else True
    with ledger.session() as session:
        assert session.scalar(select(Claim.status)) == ClaimStatus.HELD
        assert session.scalar(select(Batch.status)) == "invalid"


def _with_bad_service_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds go on as usual, but every DTP*472 carries 13 as its month: a defect only a validator sees."""
    real = batches.build_837p

    def build_837p(*args: object, **kwargs: object) -> str:
        text = real(*args, **kwargs)  # type: ignore[arg-type]
        bad, count = re.subn(r"DTP\*472\*D8\*(\d{4})\d\d", r"DTP*472*D8*\g<1>13", text)
        assert count
        return bad

    monkeypatch.setattr(batches, "build_837p", build_837p)


def test_file_with_a_defect_is_held_by_the_engine(setup: tuple[Ledger, object], monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    ledger, config = setup
    ingest_claims(ledger, [make_claim("E1")], checker=no_findings, actor="t")
    _with_bad_service_date(monkeypatch)
    # pyx12 is not consulted without --pyx12: make sure of it
    monkeypatch.setattr("validators.x12_syntax.validate_x12", lambda _t: [])
    report = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    assert report.files == [] and len(report.invalid_batches) == 1
    messages = report.invalid_batches[0][1]
    assert any(m.startswith("segment ") and " DTP (DTP03)" in m for m in messages), messages
    with ledger.session() as session:
        assert session.scalar(select(Claim.status)) == ClaimStatus.HELD
        assert session.scalar(select(Batch.status)) == "invalid"


def test_pyx12_second_opinion_releases_a_clean_file_and_holds_a_bad_one(
        setup: tuple[Ledger, object], monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, config = setup
    ingest_claims(ledger, [make_claim("P1")], checker=no_findings, actor="t")
    report = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW, validate=check_x12_and_pyx12)
    assert len(report.files) == 1 and report.invalid_batches == []
    text = Path(report.files[0]).read_text()
    assert check_x12(text) == [] and validate_x12(text) == []

    ingest_claims(ledger, [make_claim("P2")], checker=no_findings, actor="t")
    _with_bad_service_date(monkeypatch)
    report = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW, validate=check_x12_and_pyx12)
    assert report.files == [] and len(report.invalid_batches) == 1
    messages = report.invalid_batches[0][1]
    assert any(m.startswith("segment ") for m in messages)  # the engine's
    assert any(m.startswith("line ") for m in messages)  # pyx12's


def test_crash_between_allocation_and_render_is_finished_by_rerun(setup: tuple[Ledger, object],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, config = setup
    ingest_claims(ledger, [make_claim(f"C{n}") for n in range(5)], checker=no_findings, actor="t")

    def crash(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt("killed after allocation")

    monkeypatch.setattr(batches, "_render", crash)
    with pytest.raises(KeyboardInterrupt):
        build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    monkeypatch.undo()
    with ledger.session() as session:
        assert session.scalar(select(Batch.status)) == "allocated"
    report = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    assert len(report.files) == 1 and report.claims == 5
    with ledger.session() as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 1
        per_claim = session.execute(select(BatchClaim.claim_pk, func.count()).group_by(BatchClaim.claim_pk)).all()
        assert len(per_claim) == 5 and all(n == 1 for _, n in per_claim)
        isa13 = session.scalar(select(Batch.interchange_control_number))
    assert read_837p(Path(report.files[0]).read_text()).interchange_control_number in (str(isa13), f"{isa13:09d}")


def test_second_build_has_new_control_numbers(setup: tuple[Ledger, object]) -> None:
    ledger, config = setup
    ingest_claims(ledger, [make_claim("D1")], checker=no_findings, actor="t")
    first = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    ingest_claims(ledger, [make_claim("D2")], checker=no_findings, actor="t")
    second = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    a, b = (read_837p(Path(r.files[0]).read_text()) for r in (first, second))
    assert a.interchange_control_number != b.interchange_control_number
    assert a.group_control_number != b.group_control_number


def test_build_sends_a_supervised_commercial_claim_under_the_supervisor_and_the_ledger_keeps_the_supervisee(
        setup: tuple[Ledger, object]) -> None:
    from ledger.claims import load_domain_claim
    from tests.claim_factory import RENDERING_CLINICIAN, SUPERVISOR

    ledger, config = setup
    claim = make_claim("S1", rendering=RENDERING_CLINICIAN, supervising=SUPERVISOR)
    ingest_claims(ledger, [claim], checker=no_findings, actor="t")
    report = build_batches(ledger, config, checker=no_findings, actor="t", now=NOW)
    [sent] = read_837p(Path(report.files[0]).read_text()).claims
    assert sent.rendering is not None and sent.rendering.npi == SUPERVISOR.npi
    assert all("U5" in line.modifiers for line in sent.lines)
    with ledger.session() as session:
        kept = load_domain_claim(session, session.scalars(select(Claim)).one())
    assert kept.rendering is not None and kept.rendering.npi == RENDERING_CLINICIAN.npi
    assert all("U5" not in line.modifiers for line in kept.lines)


def test_every_claim_the_build_moves_gets_its_event_with_who_and_from_to(setup: tuple[Ledger, object]) -> None:
    from dataclasses import dataclass

    from ledger.models import ClaimEvent

    @dataclass(frozen=True)
    class Blocking:
        code: str = "TEST-1"
        severity: str = "error"
        message: str = "invented for the test"
        line_id: str | None = None

    ledger, config = setup
    bad_billing = replace(BILLING_GROUP, address=Address("1 MAIN ST", "BOSTON", "MA", "02108"))  # no ZIP+4
    claims = [make_claim("V1"), make_claim("V2", billing=bad_billing), make_claim("V3"), make_claim("V4")]
    ingest_claims(ledger, claims, checker=no_findings, actor="t")
    report = build_batches(ledger, config, checker=lambda c: [Blocking()] if c.claim_id == "V3" else [],
                           actor="builder", now=NOW)
    assert report.claims == 2
    with ledger.session() as session:
        moves = sorted((claim_id, e.actor, e.event, e.from_status, e.to_status) for claim_id, e in session.execute(
            select(Claim.claim_id, ClaimEvent).join(ClaimEvent, ClaimEvent.claim_pk == Claim.id)
            .where(ClaimEvent.actor == "builder")).all())
        findings = dict(session.execute(select(Claim.claim_id, Claim.findings)).all())
    assert moves == [
        ("V1", "builder", "batched", "ready", "batched"),
        ("V2", "builder", "batched", "ready", "batched"),  # allocated, then found unwritable while rendering
        ("V2", "builder", "held", "batched", "held"),
        ("V3", "builder", "held", "ready", "held"),
        ("V4", "builder", "batched", "ready", "batched"),
    ]
    assert "TEST-1" in (findings["V3"] or "") and "X12-NOT-WRITABLE" in (findings["V2"] or "")
    assert findings["V1"] is None and findings["V4"] is None
