"""SNIP 3 balancing rules: each fires on its failing claim and is silent on its passing one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.rule_claims import clean_claim, codes, findings_of, line

CASES = [
    pytest.param(
        "SNIP3-TOTAL",
        clean_claim(extra=(("stated_total", "200.00"),)),
        clean_claim(extra=(("stated_total", "180.00"),)),
        id="stated-total-disagrees",
    ),
    pytest.param(
        "SNIP3-TOTAL",
        clean_claim(extra=(("stated_total", "1,80.00"),)),
        clean_claim(
            lines=(line("1"), line("2", procedure_code="90785", charge=Decimal("20.00"))),
            extra=(("stated_total", "200.00"),),
        ),
        id="stated-total-not-an-amount",
    ),
    pytest.param(
        "SNIP3-CHARGE",
        clean_claim(lines=(line("1"), line("2", procedure_code="90847", charge=Decimal("0.00")))),
        clean_claim(lines=(line("1"), line("2", procedure_code="90847", charge=Decimal("0.01")))),
        id="zero-charge",
    ),
    pytest.param(
        "SNIP3-CHARGE",
        clean_claim(lines=(line("1", charge=Decimal("180.005")),)),
        clean_claim(lines=(line("1", charge=Decimal("180.0")),)),
        id="fraction-of-a-cent",
    ),
    pytest.param(
        "SNIP3-UNITS",
        clean_claim(lines=(line("1", units=Decimal("0")),)),
        clean_claim(lines=(line("1", units=Decimal("0.5")),)),
        id="zero-units",
    ),
]


@pytest.mark.parametrize(("code", "failing", "passing"), CASES)
def test_snip3_rule_fires_on_failing_claim_only(code, failing, passing):
    assert code in codes(findings_of(failing))
    assert findings_of(passing) == []


def test_line_finding_points_at_the_export_row():
    [finding] = findings_of(clean_claim(lines=(line("1"), line("2", procedure_code="90847", charge=Decimal("-5.00")))))
    assert (finding.line_id, str(finding.source)) == ("2", "fixtures/day.csv:3")
    assert finding.severity == "error" and "$-5.00" in finding.message
