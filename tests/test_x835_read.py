"""The 835 reader: every corpus remittance reads; broken input is an X12ParseError, never a crash."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.x12 import X12ParseError
from edi.x835 import iter_remittances, read_835, read_remittance_text
from tests.examples import scaled

CORPUS_835 = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "x12" / "linuxforhealth-x12"
)
FILES = sorted(CORPUS_835.glob("**/*.835"))
MANAGED_CARE = CORPUS_835 / "835_005010X221A1" / "managed-care.835"
MEDICARE = CORPUS_835 / "835_005010X221A1" / "medicare-part-a.835"
SECONDARY = CORPUS_835 / "835_005010X221A1" / "secondary-payment.835"

pytestmark = pytest.mark.skipif(not FILES, reason="shared corpus not present")


def text_of(path: Path) -> str:
    return path.read_text()


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_reads_every_corpus_835(path: Path) -> None:
    remittances = read_835(text_of(path), source=path.name)
    assert len(remittances) == 1
    assert remittances[0].claims
    assert remittances[0].source is not None and remittances[0].source.file == path.name


def test_managed_care_header_claims_and_lines() -> None:
    (remit,) = read_835(text_of(MANAGED_CARE))
    assert (remit.handling_code, remit.total_paid, remit.payment_method) == ("I", Decimal("945.00"), "ACH")
    assert remit.payment_date is None  # BPR16 20002316 is not a date
    assert remit.identity == ("1935665544", "7170066655")
    assert (remit.payer_name, remit.payee_npi, remit.payee_tax_id) == (
        "RUSHMORE LIFE",
        "5544667733",
        "777667755",
    )
    assert remit.interchange_control_number == "000000907"
    first, second = remit.claims
    assert (first.patient_control_number, first.status, first.charge, first.paid) == (
        "5554555444", "1", Decimal("800.00"), Decimal("450.00")
    )  # fmt: skip
    assert first.patient_responsibility == Decimal("300.00")
    assert first.payer_claim_number == "94060555410000"
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [("CO", "A2", Decimal("50.00"))]
    line = first.lines[0]
    assert (line.procedure_qualifier, line.procedure_code, line.charge, line.paid) == (
        "HC", "99211", Decimal("800.00"), Decimal("500.00")
    )  # fmt: skip
    assert (line.service_start, line.service_end) == (date(2002, 3, 1), date(2002, 3, 4))
    assert [(a.group, a.reason) for a in second.lines[0].adjustments] == [("PR", "1"), ("CO", "45")]


def test_medicare_plb_remarks_and_claim_dates() -> None:
    (remit,) = read_835(text_of(MEDICARE))
    assert remit.payer_id == "999"  # REF*2U
    assert remit.payment_date == date(2002, 9, 13)
    (plb,) = remit.provider_adjustments
    assert (plb.provider_id, plb.fiscal_period_end, plb.reason, plb.reference, plb.amount) == (
        "6543210903", date(2002, 12, 31), "CV", "CP", Decimal("-1.27")
    )  # fmt: skip
    assert remit.claims[1].remark_codes == ("MA02",)
    assert remit.claims[0].statement_start == date(2002, 8, 16)
    assert remit.claims[0].lines == ()


def test_secondary_multi_triple_cas_and_units() -> None:
    (remit,) = read_835(text_of(SECONDARY))
    line = remit.claims[1].lines[1]
    assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [
        ("PR", "1", Decimal("150.00")), ("PR", "2", Decimal("70.00")), ("CO", "42", Decimal("85.00"))
    ]  # fmt: skip
    assert line.units == Decimal("1.00") and line.revenue_code == "220" and line.allowed == Decimal("500.00")


@pytest.mark.parametrize(
    "terminator", ["~", "~\n", "~\r\n", "\n"], ids=["tilde", "tilde-lf", "tilde-crlf", "lf"]
)
def test_any_segment_terminator(terminator: str) -> None:
    original = text_of(MANAGED_CARE)
    segments = [s.strip() for s in original.split("~") if s.strip()]
    text = terminator.join(segments) + terminator  # ISA106 is the terminator's first character
    assert read_835(text) == read_835(original)


def test_several_transactions_and_payers_in_one_interchange() -> None:
    managed = text_of(MANAGED_CARE).split("~")
    medicare = text_of(MEDICARE).split("~")
    body_a = [s for s in managed if s.strip() and s.strip()[:2] not in ("IS", "GS", "GE", "IE")]
    body_b = [s for s in medicare if s.strip() and s.strip()[:2] not in ("IS", "GS", "GE", "IE")]
    head = [s for s in managed if s.strip()[:3] in ("ISA", "GS*")]
    text = "~".join(head + body_a + body_b + ["GE*2*1", "IEA*1*000000907"]) + "~"
    first, second = read_835(text)
    assert first.payer_name == "RUSHMORE LIFE" and second.payer_name == "INSURANCE COMPANY OF TIMBUCKTU"
    assert first.envelope == second.envelope


def test_streams_remittances_from_parts() -> None:
    produced = iter_remittances(read_remittance_text(text_of(MEDICARE)))
    assert next(produced).trace_number == "12345"


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("SE*26*112233", "SE*25*112233", "SE01"),
        ("SE*26*112233", "SE*26*112234", "SE02"),
        ("IEA*1*000000907", "IEA*1*000000908", "IEA02"),
        ("GE*1*1", "GE*2*1", "GE01"),
        ("CLP*5554555444*1*800.00", "CLP*5554555444*1*8O0.00", "CLP03"),
        ("CAS*CO*A2*50.00", "CAS*CO*A2*", "CAS03"),
        ("DTM*150*20020301", "DTM*150*20021301", "DTM02"),
        ("BPR*I*945.00", "BPR*I*1E5", "BPR02"),
    ],
)
def test_broken_input_names_the_segment(old: str, new: str, why: str) -> None:
    text = text_of(MANAGED_CARE)
    assert old in text
    with pytest.raises(X12ParseError, match="segment") as caught:
        read_835(text.replace(old, new, 1))
    assert why[:2] in str(caught.value) or "segment" in str(caught.value)


def test_truncated_file_is_an_error() -> None:
    text = text_of(MANAGED_CARE)
    with pytest.raises(X12ParseError, match="IEA"):
        read_835(text[: text.index("GE*")])


def test_cas_with_six_triples_and_refuses_a_seventh() -> None:
    text = text_of(MANAGED_CARE)
    six = "CAS*CO*A2*10**45*10**1*10**2*10**3*10**4*10"
    (remit,) = read_835(text.replace("CAS*CO*A2*50.00", six, 1))
    assert len(remit.claims[0].adjustments) == 6
    with pytest.raises(X12ParseError):
        read_835(text.replace("CAS*CO*A2*50.00", six + "**5*10", 1))


def test_patient_names_stay_out_of_repr() -> None:
    (remit,) = read_835(text_of(MANAGED_CARE))
    assert "BUDD" not in repr(remit) and "33344555510" not in repr(remit)
    assert remit.claims[0].patient_last == "BUDD"


def test_a_duplicate_set_control_number_is_an_error() -> None:
    text = text_of(MANAGED_CARE)
    segments = [s for s in text.split("~") if s.strip()]
    st_to_se = segments[2:-2]
    doubled = segments[:2] + st_to_se + st_to_se + ["GE*2*1", "IEA*1*000000907"]
    with pytest.raises(X12ParseError, match="ST02"):
        read_835("~".join(doubled) + "~")


MANAGED_TEXT = MANAGED_CARE.read_text() if MANAGED_CARE.exists() else ""


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=max(len(MANAGED_TEXT) - 1, 0)))
def test_cut_at_any_byte_is_an_error_or_the_whole_file(cut: int) -> None:
    whole = read_835(MANAGED_TEXT)
    try:
        result = read_835(MANAGED_TEXT[:cut])
    except X12ParseError:
        return
    assert result == whole  # only cuts inside the final terminator/whitespace may read


@settings(max_examples=scaled(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=max(len(MANAGED_TEXT) - 1, 0)),
    replacement=st.sampled_from(list("*~:^0123456789.-AZ \n\x00é")),
)
def test_garbled_byte_raises_only_parse_errors(position: int, replacement: str) -> None:
    garbled = MANAGED_TEXT[:position] + replacement + MANAGED_TEXT[position + 1 :]
    try:
        read_835(garbled)
    except X12ParseError:
        pass
