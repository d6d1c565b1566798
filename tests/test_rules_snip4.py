"""SNIP 4 situational rules: each fires on its failing claim and is silent on its passing one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.claim import Frequency, Relationship
from tests.rule_claims import (
    CHILD,
    RENDERING,
    SUPERVISED_MEDICAID,
    SUPERVISING,
    clean_claim,
    codes,
    findings_of,
    line,
)

THIRTEEN_DIAGNOSES = tuple("F411 F331 F900 F4310 F17210 F321 F1020 F4323 F840 F419 F329 F339 F4312".split())

CASES = [
    pytest.param(
        "SNIP4-PATIENT",
        clean_claim(relationship=Relationship.CHILD),
        clean_claim(relationship=Relationship.CHILD, patient=CHILD),
        id="dependent-without-demographics",
    ),
    pytest.param(
        "SNIP4-PATIENT",
        clean_claim(
            relationship=Relationship.SPOUSE,
            patient=replace(CHILD, sex="X", dob=CHILD.dob.replace(year=1979)),
        ),
        clean_claim(
            relationship=Relationship.SPOUSE, patient=replace(CHILD, dob=CHILD.dob.replace(year=1979))
        ),
        id="dependent-bad-sex",
    ),
    pytest.param(
        "SNIP4-ORIGINAL-REF",
        clean_claim(frequency=Frequency.VOID),
        clean_claim(frequency=Frequency.VOID, original_claim_number="2026041500123"),
        id="void-without-original",
    ),
    pytest.param(
        "SNIP4-SUPV-RENDERING",
        clean_claim(rendering=None, supervising=SUPERVISING, lines=(line("1", modifiers=("U5",)),)),
        clean_claim(**SUPERVISED_MEDICAID),
        id="supervising-without-rendering",
    ),
    pytest.param(
        "SNIP4-TELEHEALTH-MOD",
        clean_claim(lines=(line("1", place_of_service="10"),)),
        clean_claim(lines=(line("1", place_of_service="10", modifiers=("95",)),)),
        id="telehealth-without-95",
    ),
    pytest.param(
        "SNIP4-TELEHEALTH-MOD",
        clean_claim(lines=(line("1", place_of_service="02", modifiers=("HO",)),)),
        clean_claim(lines=(line("1", place_of_service="02", modifiers=("HO", "GT")),)),
        id="telehealth-other-than-home-without-gt",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(lines=(line("1", diagnosis_pointers=(1, 3)),)),
        clean_claim(lines=(line("1", diagnosis_pointers=(2, 1)),)),
        id="pointer-past-last-diagnosis",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(
            diagnoses=("F411", "F331", "F900", "F4310", "F17210"),
            lines=(line("1", diagnosis_pointers=(1, 2, 3, 4, 5)),),
        ),
        clean_claim(
            diagnoses=("F411", "F331", "F900", "F4310", "F17210"),
            lines=(line("1", diagnosis_pointers=(1, 2, 3, 4)),),
        ),
        id="five-pointers",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(diagnoses=()),
        clean_claim(diagnoses=("F411",)),
        id="no-diagnosis",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(lines=(line("1"), line("2", procedure_code="90847", diagnosis_pointers=(3,)))),
        clean_claim(lines=(line("1"), line("2", procedure_code="90847", diagnosis_pointers=(2,)))),
        id="single-pointer-past-last-diagnosis",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(lines=(line("1", diagnosis_pointers=(0,)),)),
        clean_claim(lines=(line("1", diagnosis_pointers=(1,)),)),
        id="pointer-zero",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(lines=(line("1", diagnosis_pointers=(2, 2)),)),
        clean_claim(lines=(line("1", diagnosis_pointers=(2, 1)),)),
        id="same-pointer-twice",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(lines=(line("1", diagnosis_pointers=()),)),
        clean_claim(lines=(line("1", diagnosis_pointers=(1,)),)),
        id="line-without-pointer",
    ),
    pytest.param(
        "SNIP4-DX-POINTER",
        clean_claim(diagnoses=THIRTEEN_DIAGNOSES),
        clean_claim(diagnoses=THIRTEEN_DIAGNOSES[:12]),
        id="thirteen-diagnoses",
    ),
    pytest.param(
        "SNIP4-RENDERING-TAXONOMY",
        clean_claim(rendering=replace(RENDERING, taxonomy=None)),
        clean_claim(rendering=RENDERING),
        id="rendering-without-taxonomy",
    ),
]


@pytest.mark.parametrize(("code", "failing", "passing"), CASES)
def test_snip4_rule_fires_on_failing_claim_only(code, failing, passing):
    assert code in codes(findings_of(failing))
    assert findings_of(passing) == []


def test_pointer_findings_name_each_line_that_points_wrong():
    claim = clean_claim(
        lines=(
            line("1"),
            line("2", procedure_code="90847", diagnosis_pointers=(3,)),
            line("3", procedure_code="90846"),
            line("4", procedure_code="90853", diagnosis_pointers=(1, 1)),
        )
    )
    findings = findings_of(claim)
    assert [(finding.code, finding.line_id) for finding in findings] == [
        ("SNIP4-DX-POINTER", "2"),
        ("SNIP4-DX-POINTER", "4"),
    ]
    assert "diagnosis 3 but the claim has 2" in findings[0].message
    assert "same diagnosis twice" in findings[1].message


def test_too_many_diagnoses_is_one_claim_level_finding():
    [finding] = findings_of(clean_claim(diagnoses=THIRTEEN_DIAGNOSES))
    assert finding.line_id is None and "13 diagnoses" in finding.message
