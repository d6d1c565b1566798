"""The 837P reader: our golden files, the public corpus, broken input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domain.claim import Frequency, LineOfBusiness, Relationship, Source
from edi.read837 import MISSING_DATE, read_837p
from edi.x12 import X12ParseError
from tests.claim_factory import as_read_back, without_sources
from tests.regen_golden import GOLDEN_CASES, GOLDEN_DIR, RECEIVER, SUBMITTER

IMSWEB = "imsweb-x12-parser/837_5010"
LFH = "linuxforhealth-x12"

# 837P files of the corpus written to be read (some break pyx12's rules, none the envelope).
READABLE_837P = {
    f"{IMSWEB}/x12_valid.txt": 2,
    f"{IMSWEB}/x12_valid_different_separators.txt": 2,
    f"{IMSWEB}/x12_no_errors.txt": 2,
    f"{IMSWEB}/x12_complex.txt": 6,
    f"{IMSWEB}/x12_many_claims.txt": 820,
    f"{IMSWEB}/x12_multiple_isa.txt": 4,
    f"{IMSWEB}/x12_multiple_gs.txt": 6,
    f"{IMSWEB}/x12_multiple_st.txt": 4,
    f"{IMSWEB}/x12_multiple_transactions.txt": 624,
    f"{IMSWEB}/x12_writer_test.txt": 1,
    f"{IMSWEB}/x12_ambiguous_loop.txt": 1,
    f"{IMSWEB}/x12_segments_out_of_order.txt": 2,
    f"{IMSWEB}/x12_missing_elements.txt": 2,
    f"{IMSWEB}/x12_segment_errors.txt": 1,
    f"{IMSWEB}/x12_loop_errors1_exceeds_max_1_parent.txt": 1,
    f"{IMSWEB}/x12_loop_errors2_exceeds_max_repeats_multiple_parents.txt": 2,
    f"{LFH}/demo.837": 1,
    **{
        f"{LFH}/837_005010X222A2/{name}": 1
        for name in (
            "demo.ambulance.example5.837",
            "demo.autoaccident.837",
            "demo.cob.2ndary.example4.837",
            "demo.cob.example3.A.837",
            "demo.cob.example3.B.837",
            "demo.cob.example3.C.837",
            "demo.cob.example4.837",
            "demo.drug.example10.1.837",
            "demo.drug.example10.2.837",
            "demo.drug.example10.3.837",
            "demo.example1.837",
            "demo.example11.837",
            "demo.example12.837",
            "demo.example2.837",
            "demo.example6.837",
            "demo.example7.837",
            "demo.example8.837",
            "demo.example9.837",
        )
    },
}

# Deliberately broken files, and files that are not 837Ps: a typed error naming the segment.
UNREADABLE = {
    f"{IMSWEB}/x12_no_isa_line.txt": "no ISA segment",
    f"{IMSWEB}/x12_bad_first_line.txt": "x12_bad_first_line.txt.*ISA",
    f"{IMSWEB}/x12_bad_segment_identifier.txt": "segment 6: bad segment identifier",
    f"{IMSWEB}/x12_bad_valid_code.txt": "segment 22: claim without a billing provider",
    f"{IMSWEB}/x12_loop_errors3_missing_loops.txt": "segment 16: claim without a billing provider",
    f"{IMSWEB}/x12_missing_required_loop_in_one_repeat.txt": "segment 21: claim without a subscriber",
    f"{IMSWEB}/x12_missing_required_loops_mult_repeats.txt": "has no service lines",
    f"{IMSWEB}/x223-test.txt": "segment 3: not an 837P",
    f"{IMSWEB}/x12_999_accepted.txt": "not an 837P",
    f"{IMSWEB}/x12_999_rejected.txt": "not an 837P",
    "imsweb-x12-parser/277_5010/x12_277CA_accepted.txt": "not an 837P",
}


def corpus_text(corpus_dir: Path, name: str) -> str:
    return (corpus_dir / name).read_text(encoding="ascii")


# -- our own files ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_file_reads_back_to_its_claims(name):
    interchange, claims = GOLDEN_CASES[name]
    read = read_837p((GOLDEN_DIR / f"{name}.837").read_text(), source=f"{name}.837")
    assert [without_sources(c) for c in read.claims] == [as_read_back(c) for c in claims]
    assert read.sender_id == SUBMITTER.id and read.receiver_id == RECEIVER.id
    assert read.interchange_control_number == f"{interchange:09d}"
    assert read.group_control_number == str(interchange)
    assert read.transaction_set_control_numbers == ("0001",)
    assert read.usage_indicator == "T"


def test_claim_source_is_the_file_and_the_clm_segment_index():
    text = (GOLDEN_DIR / "telehealth.837").read_text()
    claim = read_837p(text, source="telehealth.837").claims[0]
    clm_index = [line.split("*")[0] for line in text.splitlines()].index("CLM") + 1
    assert claim.source == Source("telehealth.837", clm_index)
    assert [line.source.line for line in claim.lines] == [clm_index + 4, clm_index + 8]


def test_replacement_and_void_carry_the_original_claim_number():
    replacement = read_837p((GOLDEN_DIR / "replacement.837").read_text()).claims[0]
    void = read_837p((GOLDEN_DIR / "void.837").read_text()).claims[0]
    assert (replacement.frequency, replacement.original_claim_number) == (
        Frequency.REPLACEMENT,
        "2025031000123",
    )
    assert (void.frequency, void.original_claim_number) == (Frequency.VOID, "2025031000456")


def test_patient_not_subscriber_reads_the_guide_forbidden_subscriber_dob_as_missing():
    claim = read_837p((GOLDEN_DIR / "patient_not_subscriber.837").read_text()).claims[0]
    assert claim.relationship is Relationship.CHILD
    assert claim.patient is not None and claim.patient.dob == date(2012, 9, 3)
    assert claim.subscriber.dob == MISSING_DATE and claim.subscriber.address.zip == "02144"


# -- the public corpus --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(READABLE_837P))
def test_corpus_837p_reads_into_claims(corpus_dir, name):
    read = read_837p(corpus_text(corpus_dir, name), source=name)
    assert len(read.claims) == READABLE_837P[name]
    for claim in read.claims:
        assert claim.claim_id and claim.lines and claim.billing.npi
        assert claim.source is not None and claim.source.file == name


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_broken_corpus_files_raise_a_typed_error_naming_the_position(corpus_dir, name):
    with pytest.raises(X12ParseError, match=UNREADABLE[name]):
        read_837p(corpus_text(corpus_dir, name), source=name)


def test_different_separators_read_like_the_standard_ones(corpus_dir):
    standard = read_837p(corpus_text(corpus_dir, f"{IMSWEB}/x12_valid.txt"))
    other = read_837p(corpus_text(corpus_dir, f"{IMSWEB}/x12_valid_different_separators.txt"))
    assert [without_sources(c) for c in standard.claims] == [without_sources(c) for c in other.claims]


def test_several_interchanges_groups_and_transactions_are_all_read(corpus_dir):
    multiple_gs = read_837p(corpus_text(corpus_dir, f"{IMSWEB}/x12_multiple_gs.txt"))
    assert (
        len(multiple_gs.group_control_numbers) == 3 and len(multiple_gs.transaction_set_control_numbers) == 3
    )
    multiple_isa = read_837p(corpus_text(corpus_dir, f"{IMSWEB}/x12_multiple_isa.txt"))
    assert len(multiple_isa.interchange_control_numbers) == 2


def test_unknown_claim_filing_code_is_mapped_and_kept(corpus_dir):
    claim = read_837p(corpus_text(corpus_dir, f"{LFH}/837_005010X222A2/demo.example7.837")).claims[0]
    assert claim.line_of_business is LineOfBusiness.MEDICARE_ADVANTAGE
    assert ("sbr09", "MB") in claim.extra
    hmo = read_837p(corpus_text(corpus_dir, f"{LFH}/837_005010X222A2/demo.example2.837")).claims[0]
    assert hmo.line_of_business is LineOfBusiness.COMMERCIAL and ("sbr09", "HM") in hmo.extra


def test_corpus_claim_fields(corpus_dir):
    claim = read_837p(corpus_text(corpus_dir, f"{LFH}/837_005010X222A2/demo.cob.example3.B.837")).claims[0]
    assert claim.claim_id == "26407789" and claim.relationship is Relationship.CHILD
    assert claim.diagnoses == ("4779", "2724", "2780", "53081")
    assert claim.rendering is not None and claim.rendering.taxonomy == "204C00000X"
    assert [line.procedure_code for line in claim.lines] == ["99213", "90782", "J3301"]
    assert claim.lines[0].diagnosis_pointers == (1, 2, 3, 4)
    assert str(claim.total_charge) == "79.04"
    # The 2330A other subscriber (NM1*IL in loop 2330A) must not replace the 2010BA one.
    assert claim.subscriber.last == "SMITH" and claim.subscriber.first == "JACK"


# -- envelope errors ----------------------------------------------------------


def golden(name: str = "simple") -> str:
    return (GOLDEN_DIR / f"{name}.837").read_text()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.replace("SE*", "XX*"), "outside|ST inside|not closed|GE before"),
        (lambda t: t.replace("IEA*1*000000101", "IEA*1*000000999"), "IEA02 does not match"),
        (lambda t: t.replace("GE*1*101", "GE*1*102"), "GE02 does not match"),
        (lambda t: t.rsplit("IEA", 1)[0], "not closed by IEA"),
        (lambda t: t.replace("SV1*HC:90837*180", "SV1*HC:90837*1X0"), "segment 24: .*amount"),
        (lambda t: t.replace("DTP*472*D8*20250303", "DTP*472*D8*20251303"), "segment 25: .*date"),
        (lambda t: t.replace("ST*837", "ST*835"), "not an 837P"),
        (lambda t: "junk" + t, "data before the ISA"),
        (lambda t: t[:50], "ISA segment is 50 characters"),
    ],
)
def test_broken_envelopes_and_values_raise_x12_parse_error(mutate, message):
    with pytest.raises(X12ParseError, match=message):
        read_837p(mutate(golden()), source="broken.837")


def test_parse_error_names_the_source_and_segment():
    with pytest.raises(X12ParseError) as info:
        read_837p(golden().replace("SV1*HC:90837*180", "SV1*HC:90837*1X0"), source="broken.837")
    assert info.value.source == "broken.837" and info.value.segment_index == 24


def test_tokenizer_errors_keep_their_segment_position_and_gain_the_source(corpus_dir):
    name = f"{IMSWEB}/x12_bad_segment_identifier.txt"
    with pytest.raises(X12ParseError) as info:
        read_837p(corpus_text(corpus_dir, name), source="bad.txt")
    assert info.value.segment_index == 6 and info.value.source == "bad.txt"
    assert str(info.value).startswith("bad.txt segment 6: ")
