"""The 837P builder: golden files, envelope and hierarchy, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from domain.claim import Address, Frequency, LineOfBusiness, Relationship, Subscriber
from edi.text import to_x12_text
from edi.tokenizer import SegmentSource
from edi.x837p import (
    BuildSettings,
    ClaimNotWritable,
    ControlNumbers,
    build_837p,
    transaction_count,
)
from tests.claim_factory import (
    BILLING_GROUP,
    RENDERING_CLINICIAN,
    SUBSCRIBER,
    make_claim,
    make_line,
    make_npi,
)
from tests.regen_golden import GOLDEN_CASES, GOLDEN_DIR, RECEIVER, SETTINGS, SUBMITTER, build_golden
from validators.x12_syntax import validate_x12

CONTROL = ControlNumbers(7, 7)


def build(claims, *, settings=SETTINGS, control=CONTROL) -> str:
    return build_837p(claims, submitter=SUBMITTER, receiver=RECEIVER, control=control, settings=settings)


def segments(text: str) -> list[tuple[str, ...]]:
    source = SegmentSource(text)
    return [tuple(raw.split(source.separators.element)) for batch in source.batches() for raw in batch]


def ids_with(text: str, segment_id: str) -> list[tuple[str, ...]]:
    return [elements for elements in segments(text) if elements[0] == segment_id]


# -- golden files -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_file_is_reproduced_byte_for_byte(name):
    expected = (GOLDEN_DIR / f"{name}.837").read_bytes()
    assert build_golden(name).encode("ascii") == expected


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_file_passes_pyx12(name):
    assert validate_x12((GOLDEN_DIR / f"{name}.837").read_text()) == []


# -- envelope -----------------------------------------------------------------


def test_envelope_names_sender_receiver_and_control_numbers():
    text = build([make_claim()], control=ControlNumbers(interchange=42, group=9))
    isa = segments(text)[0]
    assert text.startswith("ISA*") and len(text.split("~")[0]) == 105
    assert isa[6] == "RIVERBEND01".ljust(15) and isa[8] == "CLEARHOUSE".ljust(15)
    assert isa[13] == "000000042" and isa[15] == "T" and isa[16] == ":"
    assert ids_with(text, "GS")[0][2:4] == ("RIVERBEND01", "CLEARHOUSE")
    assert ids_with(text, "GS")[0][6] == "9" and ids_with(text, "GE")[0] == ("GE", "1", "9")
    assert ids_with(text, "IEA")[0] == ("IEA", "1", "000000042")
    assert ids_with(text, "BHT")[0][6] == "CH"


def test_transactions_are_cut_every_claims_per_transaction_and_counted():
    settings = replace(SETTINGS, claims_per_transaction=2)
    claims = [make_claim(f"C{n}") for n in range(5)]
    text = build(claims, settings=settings)
    assert [st[2] for st in ids_with(text, "ST")] == ["0001", "0002", "0003"]
    assert ids_with(text, "GE")[0][1] == "3" == str(transaction_count(5, settings))
    all_segments = segments(text)
    starts = [i for i, s in enumerate(all_segments) if s[0] == "ST"]
    for start in starts:
        end = next(i for i in range(start, len(all_segments)) if all_segments[i][0] == "SE")
        assert all_segments[end][1] == str(end - start + 1)
        assert all_segments[end][2] == all_segments[start][2]
    assert validate_x12(text) == []


def test_transaction_count():
    settings = BuildSettings(created=datetime(2025, 1, 1), claims_per_transaction=5000)
    assert [transaction_count(n, settings) for n in (0, 1, 5000, 5001, 100_000)] == [0, 1, 1, 2, 20]


def test_no_claims_is_refused():
    with pytest.raises(ValueError):
        build([])


# -- hierarchy ----------------------------------------------------------------


def test_hl_numbering_parents_and_child_codes():
    other_billing = replace(
        BILLING_GROUP, npi=make_npi("111222333"), last_or_org="OTHER GROUP", tax_id="041111111"
    )
    claims = [
        make_claim("A"),
        make_claim("B", relationship=Relationship.SPOUSE),
        make_claim("C", billing=other_billing),
    ]
    hls = [hl[1:5] for hl in ids_with(build(claims), "HL")]
    assert hls == [
        ("1", "", "20", "1"),
        ("2", "1", "22", "0"),
        ("3", "1", "22", "1"),
        ("4", "3", "23", "0"),
        ("5", "", "20", "1"),
        ("6", "5", "22", "0"),
    ]


def test_claims_sharing_a_billing_provider_share_one_2000a():
    text = build([make_claim("A"), make_claim("B"), make_claim("C")])
    assert [hl[3] for hl in ids_with(text, "HL")] == ["20", "22", "22", "22"]
    assert len(ids_with(text, "NM1")) == 2 + 1 + 3 * 2  # 41, 40, 85, (IL, PR) per claim


def test_patient_loop_carries_relationship_code_and_demographics():
    for relationship, code in (
        (Relationship.SPOUSE, "01"),
        (Relationship.CHILD, "19"),
        (Relationship.OTHER, "G8"),
    ):
        text = build([make_claim(relationship=relationship)])
        assert ids_with(text, "PAT")[0] == ("PAT", code)
        sbr = ids_with(text, "SBR")[0]
        assert sbr[1] == "P" and sbr[2] == ""
        # 2010BA N3/N4/DMG are "do not send" when the patient is not the subscriber.
        assert [d[2] for d in ids_with(text, "DMG")] == ["20120903"]
        assert len(ids_with(text, "N3")) == 2  # billing + 2010CA


def test_self_subscriber_has_sbr02_18_and_demographics():
    text = build([make_claim()])
    assert ids_with(text, "SBR")[0] == ("SBR", "P", "18", "", "", "", "", "", "", "CI")
    assert ids_with(text, "DMG")[0] == ("DMG", "D8", "19800412", "F")


@pytest.mark.parametrize(
    ("line_of_business", "sbr09", "sbr04"),
    [
        (LineOfBusiness.COMMERCIAL, "CI", ""),
        (LineOfBusiness.MEDICAID, "MC", ""),
        (LineOfBusiness.MEDICARE_ADVANTAGE, "16", ""),
        (LineOfBusiness.SCO, "16", "SENIOR CARE OPTIONS"),
        (LineOfBusiness.ONE_CARE, "16", "ONE CARE"),
    ],
)
def test_claim_filing_code_and_plan_name(line_of_business, sbr09, sbr04):
    sbr = ids_with(build([make_claim(line_of_business=line_of_business)]), "SBR")[0]
    assert sbr[9] == sbr09 and sbr[4] == sbr04


def test_payer_loop_names_optum_bh():
    assert ids_with(build([make_claim()]), "NM1")[-1] == (
        "NM1",
        "PR",
        "2",
        "OPTUM BEHAVIORAL HEALTH",
        "",
        "",
        "",
        "",
        "PI",
        "87726",
    )


# -- claim and lines ----------------------------------------------------------


def test_amounts_are_written_without_trailing_zeros():
    claim = make_claim(
        lines=(
            make_line("L1", charge=Decimal("100.00")),
            make_line("L2", charge=Decimal("100.50")),
            make_line("L3", charge=Decimal("100.55")),
        )
    )
    text = build([claim])
    assert [sv1[2] for sv1 in ids_with(text, "SV1")] == ["100", "100.5", "100.55"]
    assert ids_with(text, "CLM")[0][2] == "301.05"


def test_clm_composite_and_indicators():
    clm = ids_with(build([make_claim(lines=(make_line(place_of_service="02"),))]), "CLM")[0]
    assert clm[5:10] == ("02:B:1", "Y", "A", "Y", "Y")


def test_sv105_only_when_the_line_place_differs_from_the_claim():
    claim = make_claim(
        lines=(make_line("L1"), make_line("L2", place_of_service="10", modifiers=("95", "HO")))
    )
    sv1 = ids_with(build([claim]), "SV1")
    assert sv1[0] == ("SV1", "HC:90837", "180", "UN", "1", "", "", "1")
    assert sv1[1] == ("SV1", "HC:90837:95:HO", "180", "UN", "1", "10", "", "1")


def test_diagnoses_abk_then_abf_without_dots_and_pointers():
    claim = make_claim(
        diagnoses=("F33.1", "F41.1", "Z63.0"), lines=(make_line(diagnosis_pointers=(2, 1, 3)),)
    )
    text = build([claim])
    assert ids_with(text, "HI")[0] == ("HI", "ABK:F331", "ABF:F411", "ABF:Z630")
    assert ids_with(text, "SV1")[0][7] == "2:1:3"


def test_prior_auth_and_original_claim_number_references():
    text = build(
        [make_claim(prior_auth="PA1", frequency=Frequency.REPLACEMENT, original_claim_number="ORIG9")]
    )
    assert ids_with(text, "REF")[1:3] == [("REF", "G1", "PA1"), ("REF", "F8", "ORIG9")]


def test_line_has_service_date_and_line_item_control_number():
    text = build([make_claim(lines=(make_line("LINE-77"),))])
    assert ids_with(text, "DTP")[0] == ("DTP", "472", "D8", "20250303")
    assert ids_with(text, "REF")[-1] == ("REF", "6R", "LINE-77")


def test_rendering_loop_is_left_out_when_rendering_is_the_billing_provider():
    same = replace(RENDERING_CLINICIAN, npi=BILLING_GROUP.npi)
    assert not [nm1 for nm1 in ids_with(build([make_claim(rendering=same)]), "NM1") if nm1[1] == "82"]
    text = build([make_claim(rendering=RENDERING_CLINICIAN)])
    assert ("PRV", "PE", "PXC", "101YM0800X") in ids_with(text, "PRV")


def test_type_1_billing_provider_is_a_person():
    solo = replace(BILLING_GROUP, last_or_org="Nguyen", first="Linh", entity_type="1")
    nm1 = [n for n in ids_with(build([make_claim(billing=solo)]), "NM1") if n[1] == "85"][0]
    assert nm1[2:5] == ("1", "NGUYEN", "LINH")


# -- text and refusals --------------------------------------------------------


def test_non_ascii_names_are_transliterated_and_uppercased():
    subscriber = replace(
        SUBSCRIBER, last="Muñoz–Pérez", first="Zoë", address=Address("12 Straße", "Köln", "MA", "02144")
    )
    text = build([make_claim(subscriber=subscriber)])
    assert ids_with(text, "NM1")[3][3:5] == ("MUNOZ-PEREZ", "ZOE")
    assert ("N3", "12 STRASSE") in ids_with(text, "N3")
    assert text.isascii()
    assert validate_x12(text) == []


def test_to_x12_text():
    assert to_x12_text("  Zoë   O’Brien\t") == "ZOE O'BRIEN"
    assert to_x12_text("Łukasz Ærø") == "LUKASZ AERO"


@pytest.mark.parametrize("separator", ["~", "*", ":", "^"])
def test_separator_in_a_name_is_refused_naming_the_claim_not_the_patient(separator):
    subscriber = replace(SUBSCRIBER, last=f"SMITH{separator}JONES")
    with pytest.raises(ClaimNotWritable) as info:
        build([make_claim("CLAIM-9", subscriber=subscriber)])
    message = str(info.value)
    assert "CLAIM-9" in message and "subscriber last name" in message
    assert "SMITH" not in message and "JONES" not in message
    assert SUBSCRIBER.member_id not in message


def test_separator_in_member_id_is_refused_without_the_id():
    subscriber = replace(SUBSCRIBER, member_id="AB*123")
    with pytest.raises(ClaimNotWritable, match="CLAIM-9") as info:
        build([make_claim("CLAIM-9", subscriber=subscriber)])
    assert "AB*123" not in str(info.value)


def test_five_digit_billing_zip_is_refused():
    billing = replace(BILLING_GROUP, address=replace(BILLING_GROUP.address, zip="02108"))
    with pytest.raises(ClaimNotWritable, match=r"claim ZIP5: billing provider ZIP must be 9 digits"):
        build([make_claim("ZIP5", billing=billing)])


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"diagnoses": tuple(f"F4{n}" for n in range(13))}, "at most 12"),
        ({"diagnoses": ()}, "no diagnosis"),
        ({"lines": (make_line(diagnosis_pointers=(2,)),)}, "diagnosis pointers"),
        ({"lines": (make_line(modifiers=("95", "HO", "GT", "U5", "AJ")),)}, "modifiers"),
        ({"lines": ()}, "no service lines"),
        ({"frequency": Frequency.VOID}, "original claim number"),
        ({"relationship": Relationship.CHILD, "patient": None}, "no patient"),
        ({"lines": (make_line(charge=Decimal("1.005")),)}, "2 decimal places"),
        ({"subscriber": replace(SUBSCRIBER, sex="X")}, "sex"),
        ({"subscriber": replace(SUBSCRIBER, member_id="7")}, "member id must be 2 to 80"),
        (
            {"subscriber": replace(SUBSCRIBER, address=replace(SUBSCRIBER.address, city="X"))},
            "city must be 2 to 30",
        ),
        ({"subscriber": replace(SUBSCRIBER, last="X" * 61)}, "last name must be 1 to 60"),
        ({"subscriber": replace(SUBSCRIBER, last="中文")}, "last name must be 1 to 60"),
        ({"lines": (make_line(modifiers=("9",)),)}, "modifier must be 2"),
        ({"billing": replace(BILLING_GROUP, taxonomy="261Q")}, "taxonomy"),
    ],
)
def test_claims_that_cannot_be_written_are_refused_with_their_id(changes, reason):
    with pytest.raises(ClaimNotWritable, match=reason) as info:
        build([make_claim("BAD1", **changes)])
    assert info.value.claim_id == "BAD1"


def test_subscriber_with_only_required_fields_builds():
    bare = Subscriber(
        member_id="M1", last="DOE", first="", dob=SUBSCRIBER.dob, sex="U", address=SUBSCRIBER.address
    )
    assert validate_x12(build([make_claim(subscriber=bare)])) == []
