"""The clerk's worklists on a ledger built by the real loop (run_demo) plus the cases it cannot make.

The sandbox pays or denies what it is sent; rejections, unmatched money and an
SCO member charged need a payer that misbehaves, so ``build_scenario`` adds them
to the demo ledger as the posting code would have written them.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from clerk import worklists
from cli import main_group
from domain import clock
from domain.claim import LineOfBusiness
from ledger.claims import transition
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import (
    Acknowledgement,
    Adjustment,
    Claim,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
)
from tests.claim_factory import make_claim, make_line
from tests.ledger_helpers import no_findings
from usecases.demo import run_demo
from validators.engine import rule_settings
from validators.settings import RuleSettings

TRACE = "TEST-EFT-0001"


@dataclass(frozen=True)
class Scenario:
    folder: Path
    db_url: str
    today: date

    @property
    def config(self) -> Path:
        return self.folder / "bhclaims.toml"


def _claim(claim_id: str, lob: LineOfBusiness, served: date):  # type: ignore[no-untyped-def]
    return make_claim(claim_id, line_of_business=lob, lines=(make_line(service_date=served),))


def _walk(session, claim: Claim, *steps: tuple[str, str, str | None]) -> None:  # type: ignore[no-untyped-def]
    for status, event, detail in steps:
        transition(session, claim, status, actor="test", event=event, detail=detail)


def build_scenario(folder: Path, db_url: str) -> Scenario:
    today = clock.today()
    run_demo(folder, database_url=db_url, echo=lambda _line: None, today=today)
    ledger = Ledger(db_url)
    claims = [
        _claim("T-DENY-MCD", LineOfBusiness.MEDICAID, today - timedelta(days=70)),
        _claim("T-DENY-COM", LineOfBusiness.COMMERCIAL, today - timedelta(days=70)),
        _claim("T-REJ-277", LineOfBusiness.COMMERCIAL, today - timedelta(days=20)),
        _claim("T-REJ-999", LineOfBusiness.MEDICAID, today - timedelta(days=20)),
        _claim("T-TF-HELD", LineOfBusiness.MEDICAID, today - timedelta(days=80)),
        _claim("T-TF-FAR", LineOfBusiness.COMMERCIAL, today - timedelta(days=10)),
        _claim("T-SCO-PR", LineOfBusiness.SCO, today - timedelta(days=40)),
        make_claim(
            "T-LINE-MCD",
            line_of_business=LineOfBusiness.MEDICAID,
            lines=(
                make_line("L1", service_date=today - timedelta(days=60)),
                make_line("L2", procedure_code="96130", charge=Decimal("220.00"), service_date=today - timedelta(days=60)),
            ),
        ),
    ]
    ingest_claims(ledger, claims, checker=no_findings, actor="test")
    remit_date = today - timedelta(days=50)
    with ledger.session() as session:
        rows = {c.claim_id: c for c in session.scalars(select(Claim).where(Claim.claim_id.like("T-%")))}
        sent = (("batched", "batched", None), ("sent", "sent", None))
        _walk(session, rows["T-REJ-277"], *sent, ("rejected", "rejected_277ca", "A7:562"))
        session.add(
            Acknowledgement(
                kind="277CA",
                claim_pk=rows["T-REJ-277"].id,
                code="A7",
                detail=json.dumps({"statuses": "A7:562"}),
            )
        )
        _walk(
            session,
            rows["T-REJ-999"],
            *sent,
            (
                "ready",
                "transmission_rejected",
                "999 rejected ST 0001: IK5 R 5; NM1 at 12 (loop 2010BA) error 8",
            ),
        )
        _walk(session, rows["T-TF-HELD"], ("held", "checked", "OPT-TEST"))
        rows["T-TF-HELD"].findings = json.dumps(
            [{"code": "OPT-TEST", "severity": "error", "message": "test"}]
        )
        sco = rows["T-SCO-PR"]
        remit = Remittance(
            payer_id="1999987726",
            payer_name="OPTUM BEHAVIORAL HEALTH",
            trace_number=TRACE,
            total_paid=Decimal("75.00") + sco.billed - Decimal("20.00") - Decimal("5.00") + Decimal("180.00"),
            payment_method="ACH",
            payment_date=remit_date,
            content_sha256="0" * 64,
        )
        session.add(remit)
        session.flush()
        for claim_id, reason in (("T-DENY-MCD", "197"), ("T-DENY-COM", "16")):
            claim = rows[claim_id]
            _walk(session, claim, *sent, ("denied", "remit_posted", "CLP02 4"))
            payment = ClaimPayment(
                remittance_id=remit.id,
                claim_pk=claim.id,
                patient_control_number=claim_id,
                status_code="4",
                charge=claim.billed,
                paid=Decimal("0"),
                patient_responsibility=Decimal("0"),
                payer_claim_number=f"PCN-{claim_id}",
                outcome="denied",
            )
            session.add(payment)
            session.flush()
            session.add(
                Adjustment(
                    claim_payment_id=payment.id, group_code="CO", reason_code=reason, amount=claim.billed
                )
            )
        _walk(session, sco, *sent, ("paid", "remit_posted", "CLP02 1"))
        sco_payment = ClaimPayment(
            remittance_id=remit.id,
            claim_pk=sco.id,
            patient_control_number="T-SCO-PR",
            status_code="1",
            charge=sco.billed,
            paid=sco.billed - Decimal("20.00"),
            patient_responsibility=Decimal("20.00"),
            payer_claim_number="PCN-SCO",
        )
        session.add(sco_payment)
        session.add(
            ClaimPayment(
                remittance_id=remit.id,
                claim_pk=None,
                patient_control_number="NOPE-1",
                status_code="1",
                charge=Decimal("100.00"),
                paid=Decimal("75.00"),
                patient_responsibility=Decimal("0"),
                payer_claim_number="PCN-NOPE",
            )
        )
        session.flush()
        session.add(
            Adjustment(
                claim_payment_id=sco_payment.id, group_code="PR", reason_code="3", amount=Decimal("20.00")
            )
        )
        # Testing denied for want of prior authorization, the therapy line paid (Medicaid: 60 days to appeal).
        split = rows["T-LINE-MCD"]
        _walk(session, split, *sent, ("partially_paid", "remit_posted", "CLP02 1"))
        split_payment = ClaimPayment(
            remittance_id=remit.id,
            claim_pk=split.id,
            patient_control_number="T-LINE-MCD",
            status_code="1",
            charge=split.billed,
            paid=Decimal("180.00"),
            patient_responsibility=Decimal("0"),
            payer_claim_number="PCN-LINE",
            outcome="partially_paid",
        )
        session.add(split_payment)
        session.flush()
        billed_lines = {line.line_id: line for line in split.lines}
        for line_id, procedure, charge, paid, remarks in (
            ("L1", "90837", Decimal("180.00"), Decimal("180.00"), None),
            ("L2", "96130", Decimal("220.00"), Decimal("0"), "M62"),
        ):
            service = ServicePayment(
                claim_payment_id=split_payment.id,
                service_line_id=billed_lines[line_id].id,
                procedure_code=procedure,
                charge=charge,
                paid=paid,
                line_ref=line_id,
                remark_codes=remarks,
            )
            session.add(service)
            session.flush()
            if paid == 0:
                session.add(
                    Adjustment(
                        claim_payment_id=split_payment.id,
                        service_payment_id=service.id,
                        group_code="CO",
                        reason_code="197",
                        amount=charge,
                    )
                )
        session.add(
            ProviderAdjustment(
                remittance_id=remit.id, provider_id="1234567893", reason_code="WO", amount=Decimal("5.00")
            )
        )
    ledger.dispose()
    return Scenario(folder, db_url, today)


@pytest.fixture
def scenario(tmp_path: Path, db_url: str) -> Scenario:
    return build_scenario(tmp_path / "practice", db_url)


@pytest.fixture
def sqlite_scenario(tmp_path: Path) -> Scenario:
    return build_scenario(tmp_path / "practice", f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}")


def _by_id(rows: list[dict], key: str = "claim_id") -> dict[str, dict]:  # type: ignore[type-arg]
    return {row[key]: row for row in rows}


def test_worklists_find_each_case_with_its_deadline(scenario: Scenario) -> None:
    today, settings = scenario.today, RuleSettings()
    ledger = Ledger(scenario.db_url)
    with ledger.session() as session:
        rejected = _by_id(worklists.rejected(session, today))
        denied = _by_id(worklists.denied(session, today, settings))
        timely = _by_id(worklists.timely_filing(session, today, settings))
        corrections = _by_id(worklists.corrections(session, today, settings))
        unmatched = worklists.unmatched(session, today)
        charged = worklists.patient_responsibility(session, today)
    ledger.dispose()

    assert rejected["T-REJ-277"]["source"] == "277CA"
    assert "rejected for invalid information" in rejected["T-REJ-277"]["reason"]
    assert rejected["T-REJ-999"]["source"] == "999"
    assert "NM1 at 12 (loop 2010BA): segment has element errors" in rejected["T-REJ-999"]["reason"]
    assert all(row["fix"] for row in rejected.values())

    # MassHealth: 60 days from the remittance (50 days ago); commercial: 12 months
    assert denied["T-DENY-MCD"]["appeal_days_left"] == 10
    assert denied["T-DENY-MCD"]["reason"].startswith("CO-197: ")
    remit_date = today - timedelta(days=50)
    assert denied["T-DENY-COM"]["appeal_by"] == worklists.add_months(remit_date, 12).isoformat()
    assert list(denied)[0] == "T-DENY-MCD", "soonest deadline first"

    line_denial = denied["T-LINE-MCD"]
    assert (line_denial["line_id"], line_denial["procedure"], line_denial["denied"]) == ("L2", "96130", "220.00")
    assert line_denial["reason"] == "CO-197: Precertification/authorization/notification/pre-treatment absent."
    assert line_denial["remarks"] == "M62: Missing/incomplete/invalid treatment authorization code."
    assert line_denial["appeal_days_left"] == 10 and line_denial["payer_claim_number"] == "PCN-LINE"
    assert corrections["T-LINE-MCD"]["line_id"] == "L2" and corrections["T-LINE-MCD"]["days_left"] == 365 - 50
    assert denied["T-DENY-MCD"]["line_id"] == ""  # a whole-claim denial

    assert timely["T-TF-HELD"]["days_left"] == 10 and timely["T-TF-HELD"]["why_held"] == "OPT-TEST"
    assert "T-TF-FAR" not in timely  # 80 days left: not near

    assert corrections["T-DENY-MCD"]["days_left"] == 365 - 50
    assert corrections["T-DENY-COM"]["days_left"] == 180 - 50

    assert [(u["patient_control_number"], u["paid"]) for u in unmatched] == [("NOPE-1", "75.00")]
    assert [(c["claim_id"], c["patient_responsibility"]) for c in charged] == [("T-SCO-PR", "20.00")]


def test_windows_come_from_the_rule_settings() -> None:
    settings = rule_settings(
        {"timely_filing_days": {"medicaid": 120}, "corrected_claim_days": {"commercial": 90}}
    )
    assert settings.timely_filing_days(LineOfBusiness.MEDICAID) == 120
    assert worklists.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    default = RuleSettings()
    assert worklists.appeal_deadline("medicaid", date(2026, 1, 1), default) == date(2026, 3, 2)
    assert worklists.appeal_deadline("medicare_advantage", date(2026, 1, 1), default) == date(2027, 1, 1)
    assert worklists.appeal_deadline("commercial", date(2026, 1, 31), default) == date(2027, 1, 31)
    assert worklists.appeal_deadline("sco", date(2026, 1, 1), default) == date(2026, 3, 2)
    practice = rule_settings({"appeal_windows": {"medicaid": "90 days", "commercial": "6 months"}})
    assert worklists.appeal_deadline("medicaid", date(2026, 1, 1), practice) == date(2026, 4, 1)
    assert worklists.appeal_deadline("commercial", date(2026, 1, 31), practice) == date(2026, 7, 31)


def _invoke(scenario: Scenario, *args: str) -> str:
    result = CliRunner().invoke(
        main_group, ["--config", str(scenario.config), "--db", scenario.db_url, *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_worklist_commands_print_json_csv_and_tab_separated(sqlite_scenario: Scenario) -> None:
    rows = json.loads(_invoke(sqlite_scenario, "worklist", "denied", "--json"))
    assert {r["claim_id"] for r in rows} >= {"T-DENY-MCD", "T-DENY-COM"}

    table = list(
        csv.DictReader(
            io.StringIO(_invoke(sqlite_scenario, "worklist", "timely-filing", "--csv", "--within", "15"))
        )
    )
    assert [r["claim_id"] for r in table] == ["T-TF-HELD"] and table[0]["days_left"] == "10"

    plain = _invoke(sqlite_scenario, "worklist", "unmatched").splitlines()
    assert plain[0].split("\t")[0] == "patient_control_number"
    assert plain[1].split("\t")[:2] == ["NOPE-1", "PCN-NOPE"]

    for name in ("rejected", "corrections", "patient-responsibility"):
        assert json.loads(_invoke(sqlite_scenario, "worklist", name, "--json"))
    assert "Example" in _invoke(sqlite_scenario, "worklist", "denied", "--help")
