"""TA1, 999 and 277CA readers on the corpus; the 999 builder round trip; sniffing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from domain.acks import ElementError, Envelope, SegmentError
from edi.build999 import acknowledge_group, build_999
from edi.sniff import FileKind, sniff
from edi.ta1 import read_ta1
from edi.x12 import X12ParseError
from edi.x277ca import read_277ca
from edi.x999 import read_999
from validators.x12_syntax import validate_x12

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "x12"
IMSWEB = SHARED / "imsweb-x12-parser"


def corpus(relative: str) -> str:
    path = IMSWEB / relative
    if not path.exists():
        pytest.skip("shared corpus not present")
    return path.read_text()


def test_999_accepted_from_corpus() -> None:
    # Its IEA02 (000000001) disagrees with ISA13: tolerated in acknowledgments.
    (ack,) = read_999(corpus("837_5010/x12_999_accepted.txt"))
    assert (ack.functional_id, ack.group_control_number, ack.version, ack.code) == (
        "HC",
        "17456",
        "005010X223A2",
        "A",
    )
    assert (ack.included, ack.received, ack.accepted) == (1, 1, 1)
    assert [(s.control_number, s.code) for s in ack.sets] == [("0001", "A")]
    assert ack.rejected_sets == ()
    assert (ack.envelope.group_sender, ack.envelope.group_receiver) == ("RCVR1", "SNDR12345")


def test_999_rejected_from_corpus_with_its_segment_error() -> None:
    (ack,) = read_999(corpus("837_5010/x12_999_rejected.txt"))
    assert ack.group_rejected and ack.accepted == 0
    (rejected,) = ack.rejected_sets
    assert (rejected.control_number, rejected.code, rejected.reasons) == ("0028", "R", ("5",))
    assert rejected.segment_errors == (SegmentError("NM", 17, "", "1"),)


def test_277ca_accepted_from_corpus() -> None:
    (report,) = read_277ca(corpus("277_5010/x12_277CA_accepted.txt"))
    assert (report.batch_reference, report.payer_name) == ("000000674", "NYSDOH")
    assert [s.category for s in report.batch_statuses] == ["A1"]
    (claim,) = report.claims
    assert (claim.patient_control_number, claim.payer_claim_number) == ("5781", "1107000000014420")
    assert (claim.category, claim.accepted, claim.rejected) == ("A2", True, False)
    assert claim.total_charge == Decimal("125") and claim.status_date == date(2011, 3, 11)


def test_277ca_rejected_from_corpus() -> None:
    (report,) = read_277ca(corpus("277_5010/x12_277CA_rejected.txt"))  # '|' components, one line
    (claim,) = report.claims
    assert claim.patient_control_number == "3920394930203"
    assert claim.rejected and not claim.accepted
    assert (claim.statuses[0].category, claim.statuses[0].status, claim.statuses[0].entity) == (
        "A7",
        "562",
        "85",
    )
    assert claim.service_start == date(2009, 3, 11)
    assert "XX99999X" not in repr(claim)


def test_277_x212_reads_each_claim() -> None:
    (report,) = read_277ca(corpus("277_5010/x12_277_x212.txt"))
    assert [c.patient_control_number for c in report.claims] == [f"000000{i}" for i in range(1, 9)]
    assert all(c.accepted for c in report.claims)


def test_ta1_reads_code_and_note() -> None:
    text = (
        "ISA*00*          *00*          *ZZ*CLEARING       *ZZ*PRACTICE       *260105*1030*^*00501*000000900*0*P*:~\n"
        "TA1*000000123*260104*2359*R*025~\nIEA*0*000000900~\n"
    )
    (ack,) = read_ta1(text)
    assert (ack.control_number, ack.code, ack.note_code, ack.rejected) == ("000000123", "R", "025", True)
    assert ack.interchange_date == date(2026, 1, 4)
    assert ack.envelope.sender_id == "CLEARING"
    assert sniff(text).kind is FileKind.TA1


@pytest.mark.parametrize(
    ("relative", "kind"),
    [
        ("imsweb-x12-parser/837_5010/x12_999_accepted.txt", FileKind.ACK_999),
        ("imsweb-x12-parser/277_5010/x12_277CA_rejected.txt", FileKind.CLAIM_ACK_277CA),
        ("imsweb-x12-parser/277_5010/x12_277_x212.txt", FileKind.STATUS_277),
        ("linuxforhealth-x12/demo.835", FileKind.REMITTANCE_835),
        ("linuxforhealth-x12/demo.837", FileKind.CLAIM_837P),
        ("imsweb-x12-parser/837_5010/x223-test.txt", FileKind.CLAIM_837I),
    ],
)
def test_sniff_names_the_transaction(relative: str, kind: FileKind) -> None:
    path = SHARED / relative
    if not path.exists():
        pytest.skip("shared corpus not present")
    assert sniff(path.read_text()).kind is kind


def test_acknowledgments_without_trailers_are_errors() -> None:
    # The corpus '.835.997' files are 999s cut after AK1: no AK9, SE, GE, IEA.
    path = SHARED / "linuxforhealth-x12" / "835_005010X221A1" / "managed-care.835.997"
    if not path.exists():
        pytest.skip("shared corpus not present")
    with pytest.raises(X12ParseError, match="IEA"):
        read_999(path.read_text())


RECEIVED = Envelope(
    "ZZ", "PRACTICE", "ZZ", "CLEARING", "000000123", "T", "HC", "PRACTICE", "CLEARING", "123", "005010X222A1"
)
SETS = [("837", "0001", "005010X222A1"), ("837", "0002", "005010X222A1")]


def test_999_accepting_all_sets_is_pyx12_clean_and_reads_back() -> None:
    ack = acknowledge_group(RECEIVED, SETS, control_number=900)
    text = build_999(ack, created=datetime(2026, 1, 5, 10, 30))
    assert validate_x12(text) == []
    assert read_999(text) == (ack,)
    assert ack.code == "A" and ack.accepted == 2
    assert (ack.envelope.sender_id, ack.envelope.receiver_id) == ("CLEARING", "PRACTICE")
    assert (ack.envelope.group_sender, ack.envelope.group_receiver) == ("CLEARING", "PRACTICE")


def test_999_rejecting_one_set_is_partial_and_pyx12_clean() -> None:
    error = SegmentError("CLM", 20, "2300", "8", (ElementError("2", "782", "6"),))
    ack = acknowledge_group(RECEIVED, SETS, control_number=901, rejected={"0002": (error,)})
    text = build_999(ack, created=datetime(2026, 1, 5, 10, 30))
    assert validate_x12(text) == []
    (back,) = read_999(text)
    assert back.code == "P" and [s.control_number for s in back.rejected_sets] == ["0002"]
    assert back.rejected_sets[0].segment_errors == (error,)


def test_999_rejecting_every_set_rejects_the_group() -> None:
    ack = acknowledge_group(RECEIVED, SETS, control_number=902, rejected={"0001": (), "0002": ()})
    text = build_999(ack, created=datetime(2026, 1, 5, 10, 30))
    assert validate_x12(text) == []
    assert read_999(text)[0].code == "R"
