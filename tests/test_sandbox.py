"""The sandbox clearinghouse: 837P in, 999 + balanced pyx12-clean 835 (or a TA1) out, deterministically."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from edi.ta1 import read_ta1
from edi.x835 import read_835
from edi.x999 import read_999
from sandbox.clearinghouse import answer_837, payer_claim_number
from validators.remit_balance import check_balances
from validators.x12_syntax import validate_x12

TODAY = date(2026, 2, 2)
CORPUS_837 = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "x12" / "linuxforhealth-x12"
)


def claim_segments(
    claim_id: str,
    sbr09: str,
    lines: list[tuple[str, str, str]],
    *,
    frequency: str = "1",
    extra: tuple[str, ...] = (),
) -> list[str]:
    total = sum(Decimal(charge) for _, charge, _ in lines)
    segments = [
        f"SBR*P*18*GRP1******{sbr09}",
        "NM1*IL*1*DOE*JANE****MI*M" + claim_id,
        "NM1*PR*2*OPTUM BEHAVIORAL HEALTH*****PI*87726",
        f"CLM*{claim_id}*{total}***11:B:{frequency}*Y*A*Y*Y",
        *extra,
        "HI*ABK:F330",
    ]
    for number, (code, charge, line_id) in enumerate(lines, start=1):
        segments += [
            f"LX*{number}",
            f"SV1*HC:{code}*{charge}*UN*1***1",
            "DTP*472*D8*20260115",
            f"REF*6R*{line_id}",
        ]
    return segments


def interchange(*sets: list[str], control: str = "000000123") -> str:
    segments = [
        f"ISA*00*          *00*          *ZZ*PRACTICE       *ZZ*CLEARING       *260201*0900*^*00501*{control}*0*T*:",
        "GS*HC*PRACTICE*CLEARING*20260201*0900*123*X*005010X222A1",
    ]
    for number, body in enumerate(sets, start=1):
        st = [f"ST*837*{number:04d}*005010X222A1", "BHT*0019*00*B1*20260201*0900*CH"] + body
        segments += st + [f"SE*{len(st) + 1}*{number:04d}"]
    segments += [f"GE*{len(sets)}*123", f"IEA*1*{control}"]
    return "~\n".join(segments) + "~\n"


def billing(npi: str, name: str) -> list[str]:
    return ["HL*1**20*1", f"NM1*85*2*{name}*****XX*{npi}", "REF*EI*043333333"]


def subscriber(hl: int) -> str:
    return f"HL*{hl}*1*22*0"


CLAIMS = [
    subscriber(2), *claim_segments("C100", "CI", [("90837", "200", "L1"), ("90785", "50", "L2")]),
    subscriber(3), *claim_segments("S200", "16", [("90834", "150", "L3")]),
    subscriber(4), *claim_segments("T300", "CI", [("96130", "300", "L4"), ("90791", "250", "L5")]),
    subscriber(5), *claim_segments("V400", "CI", [("90837", "200", "L6")], frequency="8", extra=("REF*F8*SB0000000001",)),
    subscriber(6), *claim_segments("R500", "MC", [("90837", "200", "L7")], frequency="7", extra=("REF*F8*SB0000000002",)),
    subscriber(7), *claim_segments("M600", "MB", [("90832", "100", "L8")], extra=("NM1*DQ*1*SUPER*VISOR****XX*1234567893",)),
]  # fmt: skip
FILE = interchange(billing("1234567893", "SUNNY PRACTICE") + CLAIMS)


@pytest.fixture(scope="module")
def answer():
    return answer_837(FILE, today=TODAY, first_control_number=700)


@pytest.fixture(scope="module")
def remittance(answer):
    (remit,) = read_835(answer.remit_835)
    return remit


def test_answers_are_pyx12_clean(answer) -> None:
    assert validate_x12(answer.ack_999) == []
    assert validate_x12(answer.remit_835) == []
    assert answer.ta1 is None


def test_999_accepts_the_set_and_is_addressed_back(answer) -> None:
    (ack,) = read_999(answer.ack_999)
    assert (ack.code, ack.group_control_number, [s.control_number for s in ack.sets]) == (
        "A",
        "123",
        ["0001"],
    )
    assert (ack.envelope.sender_id, ack.envelope.receiver_id) == ("CLEARING", "PRACTICE")
    assert ack.envelope.interchange_control_number == "000000700"


def test_835_balances_and_is_addressed_back(remittance) -> None:
    assert check_balances(remittance) == []
    assert remittance.envelope.interchange_control_number == "000000701"
    assert (remittance.envelope.sender_id, remittance.envelope.receiver_id) == ("CLEARING", "PRACTICE")
    assert (remittance.payer_id, remittance.payee_npi, remittance.payment_date) == (
        "87726",
        "1234567893",
        TODAY,
    )


def claims_by_id(remittance):
    return {c.patient_control_number: c for c in remittance.claims}


def test_commercial_claim_paid_at_80_percent_with_line_ids(remittance) -> None:
    claim = claims_by_id(remittance)["C100"]
    assert claim.status == "1" and claim.filing_indicator == "12"
    assert [line.line_id for line in claim.lines] == ["L1", "L2"]
    assert [line.allowed for line in claim.lines] == [Decimal("160"), Decimal("40")]
    assert claim.lines[0].adjustments[0].group == "CO" and claim.lines[0].adjustments[0].reason == "45"
    assert claim.paid + claim.patient_responsibility == Decimal("200")
    assert claim.payer_claim_number == payer_claim_number("C100", "1", "SB")
    assert claim.lines[0].service_date == date(2026, 1, 15)


def test_sco_claim_has_no_patient_responsibility(remittance) -> None:
    claim = claims_by_id(remittance)["S200"]
    assert claim.patient_responsibility == 0 and claim.paid == Decimal("120")
    assert all(a.group != "PR" for a in claim.all_adjustments)


def test_testing_code_without_authorization_is_denied(remittance) -> None:
    claim = claims_by_id(remittance)["T300"]
    testing, intake = claim.lines
    assert testing.paid == 0 and [(a.group, a.reason, a.amount) for a in testing.adjustments] == [
        ("CO", "197", Decimal("300"))
    ]
    assert intake.paid > 0


def test_void_is_a_reversal_of_the_original_number(remittance, answer) -> None:
    claim = claims_by_id(remittance)["V400"]
    assert (claim.status, claim.payer_claim_number) == ("22", "SB0000000001")
    assert claim.charge == Decimal("-200") and claim.paid < 0
    assert ("V400", "reversed") in [(o.claim_id, o.outcome) for o in answer.outcomes]


def test_replacement_is_a_new_adjudication(remittance) -> None:
    claim = claims_by_id(remittance)["R500"]
    assert claim.status == "1" and claim.frequency == "7"
    assert claim.payer_claim_number == payer_claim_number("R500", "7", "SB") != "SB0000000002"


def test_medicare_with_a_supervisor_is_denied(remittance) -> None:
    claim = claims_by_id(remittance)["M600"]
    assert claim.status == "4" and claim.paid == 0
    assert [a.reason for a in claim.lines[0].adjustments] == ["185"]


def test_answer_is_deterministic() -> None:
    assert answer_837(FILE, today=TODAY, first_control_number=700) == answer_837(
        FILE, today=TODAY, first_control_number=700
    )


def test_two_billing_providers_get_two_transactions() -> None:
    text = interchange(
        billing("1234567893", "SUNNY PRACTICE")
        + [subscriber(2), *claim_segments("A1", "CI", [("90837", "200", "L1")])],
        billing("1245319599", "OTHER GROUP")
        + [subscriber(2), *claim_segments("B1", "CI", [("90834", "150", "L1")])],
    )
    result = answer_837(text, today=TODAY, first_control_number=10)
    remits = read_835(result.remit_835)
    assert [r.payee_npi for r in remits] == ["1234567893", "1245319599"]
    assert validate_x12(result.remit_835) == []
    assert all(check_balances(r) == [] for r in remits)


def test_void_only_file_forwards_the_debt() -> None:
    text = interchange(
        billing("1234567893", "SUNNY PRACTICE")
        + [
            subscriber(2),
            *claim_segments("V1", "16", [("90837", "200", "L1")], frequency="8", extra=("REF*F8*SB1",)),
        ]
    )
    result = answer_837(text, today=TODAY, first_control_number=20)
    (remit,) = read_835(result.remit_835)
    assert remit.total_paid == 0 and remit.handling_code == "H"
    assert [(p.reason, p.amount) for p in remit.provider_adjustments] == [("FB", Decimal("-160"))]
    assert check_balances(remit) == [] and validate_x12(result.remit_835) == []


def test_bad_amount_rejects_only_its_set() -> None:
    good = billing("1234567893", "SUNNY PRACTICE") + [
        subscriber(2),
        *claim_segments("G1", "CI", [("90837", "200", "L1")]),
    ]
    bad_claim = [
        seg.replace("*200*UN", "*2O0*UN") for seg in claim_segments("X1", "CI", [("90837", "200", "L1")])
    ]
    bad = billing("1234567893", "SUNNY PRACTICE") + [subscriber(2), *bad_claim]
    result = answer_837(interchange(good, bad), today=TODAY, first_control_number=30)
    (ack,) = read_999(result.ack_999)
    assert ack.code == "P" and [s.control_number for s in ack.rejected_sets] == ["0002"]
    assert ack.rejected_sets[0].segment_errors[0].segment_id == "SV1"
    assert validate_x12(result.ack_999) == []
    assert ("X1", "rejected") in [(o.claim_id, o.outcome) for o in result.outcomes]
    assert [c.patient_control_number for c in read_835(result.remit_835)[0].claims] == ["G1"]


def test_wrong_se_count_rejects_the_group() -> None:
    result = answer_837(FILE.replace("SE*", "SE*1", 1), today=TODAY, first_control_number=40)
    (ack,) = read_999(result.ack_999)
    assert ack.code == "R" and ack.sets[0].code == "R" and result.remit_835 is None
    assert validate_x12(result.ack_999) == []


@pytest.mark.parametrize(
    ("broken", "note"),
    [
        ("not x12 at all", "022"),
        (FILE[: FILE.index("IEA")], "023"),
        (FILE.replace("IEA*1*000000123", "IEA*1*000000124"), "001"),
    ],
    ids=["no-isa", "no-iea", "iea-mismatch"],
)
def test_broken_envelope_gets_a_ta1(broken: str, note: str) -> None:
    result = answer_837(broken, today=TODAY, first_control_number=50)
    assert result.ack_999 is None and result.remit_835 is None
    (ta1,) = read_ta1(result.ta1)
    assert (ta1.code, ta1.note_code) == ("R", note)


@pytest.mark.parametrize("path", sorted(CORPUS_837.glob("837_005010X222A2/*.837"))[:8], ids=lambda p: p.name)
def test_corpus_837s_get_clean_balanced_answers(path: Path) -> None:
    result = answer_837(path.read_text(), today=TODAY, first_control_number=60)
    assert validate_x12(result.ack_999) == []
    if result.remit_835 is not None:
        assert validate_x12(result.remit_835) == []
        assert all(check_balances(r) == [] for r in read_835(result.remit_835))
