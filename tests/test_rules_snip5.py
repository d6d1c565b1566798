"""SNIP 5 code-set rules, and the shipped ICD-10-CM table itself."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.claim import Address
from domain.npi import npi_is_valid
from tests.rule_claims import (
    BILLING,
    RENDERING,
    SUBSCRIBER,
    SUPERVISED_MEDICAID,
    SUPERVISING,
    clean_claim,
    codes,
    findings_of,
    line,
)
from validators.codesets import icd10cm_billable, is_billable_icd10cm

CASES = [
    pytest.param(
        "SNIP5-NPI",
        clean_claim(rendering=replace(RENDERING, npi="1987654321")),
        clean_claim(rendering=replace(RENDERING, npi="1987654328")),
        id="rendering-npi-check-digit",
    ),
    pytest.param(
        "SNIP5-NPI",
        clean_claim(billing=replace(BILLING, npi="234567893")),  # lost its leading digit
        clean_claim(billing=replace(BILLING, npi="1234567893")),
        id="billing-npi-nine-digits",
    ),
    pytest.param(
        "SNIP5-ICD10",
        clean_claim(diagnoses=("F411", "F32")),
        clean_claim(diagnoses=("F411", "F321")),
        id="category-header",
    ),
    pytest.param(
        "SNIP5-ICD10",
        clean_claim(diagnoses=("F9999",)),
        clean_claim(diagnoses=("F909",)),
        id="made-up-code",
    ),
    pytest.param(
        "SNIP5-PROCEDURE",
        clean_claim(lines=(line("1", procedure_code="9083"),)),
        clean_claim(lines=(line("1", procedure_code="H0004"),)),
        id="procedure-too-short",
    ),
    pytest.param(
        "SNIP5-PROCEDURE",
        clean_claim(lines=(line("1", modifiers=("HO", "9")),)),
        clean_claim(lines=(line("1", modifiers=("HO", "59")),)),
        id="modifier-shape",
    ),
    pytest.param(
        "SNIP5-PROCEDURE",
        clean_claim(lines=(line("1", modifiers=("HO", "95", "GT", "U5", "59")),)),
        clean_claim(lines=(line("1", modifiers=("HO", "95", "GT", "U5")),)),
        id="five-modifiers",
    ),
    pytest.param(
        "SNIP5-POS",
        clean_claim(lines=(line("1", place_of_service="30"),)),
        clean_claim(lines=(line("1", place_of_service="53"),)),
        id="unassigned-place-of-service",
    ),
    pytest.param(
        "SNIP5-STATE",
        clean_claim(subscriber=replace(SUBSCRIBER, address=replace(SUBSCRIBER.address, state="Ma"))),
        clean_claim(subscriber=replace(SUBSCRIBER, address=replace(SUBSCRIBER.address, state="NH"))),
        id="state-lower-case",
    ),
    pytest.param(
        "SNIP5-ZIP",
        clean_claim(subscriber=replace(SUBSCRIBER, address=replace(SUBSCRIBER.address, zip="1970"))),
        clean_claim(subscriber=replace(SUBSCRIBER, address=replace(SUBSCRIBER.address, zip="019701234"))),
        id="zip-lost-leading-zero",
    ),
    pytest.param(
        "SNIP5-ZIP",
        clean_claim(billing=replace(BILLING, address=replace(BILLING.address, zip="01930"))),
        clean_claim(billing=replace(BILLING, address=replace(BILLING.address, zip="019301234"))),
        id="billing-zip-needs-plus-four",
    ),
    pytest.param(
        "SNIP5-TAXONOMY",
        clean_claim(**{**SUPERVISED_MEDICAID, "supervising": replace(SUPERVISING, taxonomy="103T00000")}),
        clean_claim(**SUPERVISED_MEDICAID),
        id="taxonomy-missing-x",
    ),
]


@pytest.mark.parametrize(("code", "failing", "passing"), CASES)
def test_snip5_rule_fires_on_failing_claim_only(code, failing, passing):
    assert code in codes(findings_of(failing))
    assert findings_of(passing) == []


@pytest.mark.parametrize("code", ["F32.1", "F41.1", "F43.10", "F90.0", "F32A", "Z13.31", "F1020"])
def test_icd10cm_table_has_billable_behavioral_codes(code):
    assert is_billable_icd10cm(code)


@pytest.mark.parametrize("code", ["F32", "F43.1", "F99.99", "F41.9X", "", "Z00.12"])
def test_icd10cm_table_refuses_headers_and_made_up_codes(code):
    assert not is_billable_icd10cm(code)


def test_icd10cm_table_is_a_full_release():
    # The FY2026 tables carry about 74,700 billable codes; a truncated file would not.
    assert 74_000 < len(icd10cm_billable()) < 80_000


def test_icd10cm_message_tells_a_header_from_a_made_up_code():
    [header] = findings_of(clean_claim(diagnoses=("F411", "F32")))
    [made_up] = findings_of(clean_claim(diagnoses=("F9999",)))
    assert "F32 is a category" in header.message.replace("(", "").replace(")", "")
    assert "not an ICD-10-CM code" in made_up.message


@pytest.mark.parametrize(
    ("npi", "valid"), [("1234567893", True), ("1234567890", False), ("12345678a3", False)]
)
def test_npi_luhn_with_80840_prefix(npi, valid):
    assert npi_is_valid(npi) is valid


PARTY_WITH_ADDRESS = {
    "subscriber": lambda address: clean_claim(subscriber=replace(SUBSCRIBER, address=address)),
    "billing provider": lambda address: clean_claim(billing=replace(BILLING, address=address)),
    "rendering clinician": lambda address: clean_claim(rendering=replace(RENDERING, address=address)),
    "supervising clinician": lambda address: clean_claim(
        **{**SUPERVISED_MEDICAID, "supervising": replace(SUPERVISING, address=address)}
    ),
}


@pytest.mark.parametrize("party", PARTY_WITH_ADDRESS)
def test_state_and_zip_are_checked_on_every_address(party):
    claim_with = PARTY_WITH_ADDRESS[party]
    good = Address("1 MAIN ST", "SALEM", "MA", "019701234")
    [state] = findings_of(claim_with(replace(good, state="Ma")))
    [zip_code] = findings_of(claim_with(replace(good, zip="1970")))
    assert (state.code, zip_code.code) == ("SNIP5-STATE", "SNIP5-ZIP")
    assert state.message.startswith(f"The {party}'s address has state 'Ma'")
    assert zip_code.message.startswith(f"The {party}'s ZIP code has 4 characters")
    assert findings_of(claim_with(good)) == []


def test_dotted_or_lower_case_diagnoses_are_read_as_their_codes():
    assert findings_of(clean_claim(diagnoses=("F41.1", "f331"))) == []
    [finding] = findings_of(clean_claim(diagnoses=("F41.1", "f32")))
    assert finding.code == "SNIP5-ICD10" and "Diagnosis 2 (F32) is a category" in finding.message
