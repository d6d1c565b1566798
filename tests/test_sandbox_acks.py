"""The sandbox's 277CA (and TA1) answers, and the 005010X214 writer behind them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from domain.acks import ClaimStatus, Envelope, StatusCode
from domain.npi import npi_is_valid as valid_npi
from edi.build277ca import CLAIM_ACK_VERSION, ClaimAckParties, PatientClaimAck, ProviderClaimAcks, build_277ca
from edi.x277ca import read_277ca
from edi.x835 import read_835
from edi.x999 import read_999
from ledger.db import Ledger
from ledger.models import Acknowledgement, Claim
from sandbox.clearinghouse import answer_837
from sandbox.mailbox import process_mailbox
from tests.test_sandbox import CLAIMS, FILE, TODAY, billing, claim_segments, interchange, subscriber
from usecases.demo import run_demo
from validators.x12_syntax import validate_x12


def _clp07(remit_text: str) -> dict[str, str]:
    return {c.patient_control_number: c.payer_claim_number for r in read_835(remit_text) for c in r.claims}


def test_277ca_accepts_each_clean_claim_with_the_835s_payer_number() -> None:
    answer = answer_837(FILE, today=TODAY, first_control_number=40)
    assert answer.claim_ack_277 is not None and answer.remit_835 is not None
    assert validate_x12(answer.claim_ack_277) == []
    (report,) = read_277ca(answer.claim_ack_277)
    assert report.envelope.interchange_control_number == "000000042"  # after the 999's and the 835's
    assert (report.envelope.receiver_id, report.envelope.group_receiver) == ("PRACTICE", "PRACTICE")
    assert report.batch_reference == "B1"  # the 837's BHT03
    assert all(c.accepted and c.category == "A2" for c in report.claims)
    numbers = {c.patient_control_number: c.payer_claim_number for c in report.claims}
    assert numbers == _clp07(answer.remit_835)
    assert len(numbers) == 6


def test_bad_billing_npi_rejects_every_claim_with_a7_and_nothing_is_paid() -> None:
    assert valid_npi("1234567893") and not valid_npi("1234567890") and not valid_npi("12345")
    text = interchange(billing("1234567890", "SUNNY PRACTICE") + CLAIMS)
    answer = answer_837(text, today=TODAY, first_control_number=40)
    (ack,) = read_999(answer.ack_999)
    assert ack.code == "A"  # syntactically fine: the 999 accepts, the payer's 277CA refuses
    (report,) = read_277ca(answer.claim_ack_277)
    assert validate_x12(answer.claim_ack_277) == []
    assert {(c.statuses[0].category, c.statuses[0].status, c.statuses[0].entity) for c in report.claims} == {
        ("A7", "562", "85")
    }
    assert all(c.rejected and c.payer_claim_number is None for c in report.claims)
    assert answer.remit_835 is None
    assert {o.outcome for o in answer.outcomes} == {"rejected_277ca"}


def test_future_date_of_service_rejects_only_that_claim_with_a3() -> None:
    future = [
        s.replace("DTP*472*D8*20260115", "DTP*472*D8*20260301")
        for s in claim_segments("F900", "CI", [("90837", "200", "L9")])
    ]
    text = interchange(billing("1234567893", "SUNNY PRACTICE") + CLAIMS[:7] + [subscriber(9), *future])
    answer = answer_837(text, today=TODAY, first_control_number=40)
    (report,) = read_277ca(answer.claim_ack_277)
    verdicts = {c.patient_control_number: (c.category, c.statuses[0].status) for c in report.claims}
    assert verdicts == {"C100": ("A2", "20"), "F900": ("A3", "187")}
    assert set(_clp07(answer.remit_835)) == {"C100"}  # the rejected claim never reached the payer


def test_mailbox_writes_the_277_beside_the_999_and_835_and_a_ta1_for_a_broken_envelope(
    tmp_path: Path,
) -> None:
    inbound = tmp_path / "inbound"
    inbound.mkdir(mode=0o700)
    (inbound / "GOOD-1.837").write_text(FILE)
    (inbound / "BROKEN-2.837").write_text(FILE.replace("IEA*1*000000123", "IEA*1*000000999"))
    answered = dict(process_mailbox(tmp_path, today=TODAY))
    assert answered == {
        "BROKEN-2.837": ["BROKEN-2.ta1"],
        "GOOD-1.837": ["GOOD-1.999", "GOOD-1.277", "GOOD-1.835"],
    }
    (report,) = read_277ca((tmp_path / "outbound" / "GOOD-1.277").read_text())
    assert len(report.claims) == 6
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["BROKEN-2.837", "GOOD-1.837"]


def test_277ca_writer_round_trips_and_is_pyx12_clean() -> None:
    envelope = Envelope(
        "ZZ",
        "CLEARING",
        "ZZ",
        "PRACTICE",
        "000000777",
        "T",
        "HN",
        "CLEARING",
        "PRACTICE",
        "777",
        CLAIM_ACK_VERSION,
    )

    def status(pcn: str, codes: list[tuple[str, ...]], number: str | None, charge: str) -> ClaimStatus:
        return ClaimStatus(
            pcn,
            number,
            "CH-TRACE",
            tuple(StatusCode(*c) for c in codes),
            date(2026, 2, 2),
            Decimal(charge),
            date(2026, 1, 15),
            date(2026, 1, 16),
        )

    claims = (
        PatientClaimAck("DOE", "JANE", "M1", status("C100", [("A2", "20")], "PCN1", "125")),
        PatientClaimAck(
            "ROE", "RICH", "M2", status("C200", [("A7", "562", "85"), ("A3", "21")], None, "50.5")
        ),
    )
    text = build_277ca(
        envelope,
        ClaimAckParties("OPTUM BEHAVIORAL HEALTH", "87726", "HARBOR LIGHT", "HARBORLIGHT"),
        [ProviderClaimAcks("SUNNY PRACTICE", "1234567893", claims)],
        control_number="0001",
        reference="777",
        batch_reference="B1",
        payer_trace="SB777",
        created=datetime(2026, 2, 2, 12, 0),
    )
    assert validate_x12(text) == []
    (report,) = read_277ca(text)
    assert report.envelope == envelope and report.batch_reference == "B1"
    assert [(s.category, s.status) for s in report.batch_statuses] == [("A1", "19")]
    assert [c.statuses for c in report.claims] == [c.status.statuses for c in claims]
    assert [
        (c.patient_control_number, c.payer_claim_number, c.accepted, c.rejected) for c in report.claims
    ] == [("C100", "PCN1", True, False), ("C200", None, False, True)]
    assert [(c.service_start, c.service_end, c.total_charge) for c in report.claims] == [
        (date(2026, 1, 15), date(2026, 1, 16), Decimal("125")),
        (date(2026, 1, 15), date(2026, 1, 16), Decimal("50.5")),
    ]


def test_demo_loop_posts_the_sandbox_277ca(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    run_demo(folder, echo=lambda _line: None)
    assert len(list((folder / "inbox").glob("*.277"))) == 1
    ledger = Ledger(f"sqlite+pysqlite:///{folder / 'bhclaims.db'}")
    try:
        with ledger.session() as session:
            sent = session.scalar(select(func.count()).select_from(Claim).where(Claim.status != "held"))
            acks = session.scalar(
                select(func.count()).select_from(Acknowledgement).where(Acknowledgement.kind == "277CA")
            )
            missing = session.scalar(
                select(func.count())
                .select_from(Claim)
                .where(Claim.status != "held", Claim.payer_claim_number.is_(None))
            )
    finally:
        ledger.dispose()
    assert sent and acks == sent and missing == 0
