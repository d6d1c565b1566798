"""Places: US state and territory codes accepted in N4 (USPS two-letter abbreviations), and
the Massachusetts county of a ZIP code (US Census 2020 ZCTA-to-county relationship file,
Massachusetts rows only: validators/codesets/README.md)."""

from functools import cache
from importlib import resources

US_STATE_CODES: frozenset[str] = frozenset(
    # 50 states and DC
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
    # territories and freely associated states served by USPS
    "AS GU MP PR VI FM MH PW "
    # military mail (APO/FPO)
    "AA AE AP".split()
)

MGB_SERVICE_COUNTIES: frozenset[str] = frozenset(
    {"Bristol", "Dukes", "Essex", "Middlesex", "Nantucket", "Norfolk", "Plymouth", "Suffolk"}
)
"""2026 SCO / One Care service area of Mass General Brigham Health Plan (payer-87726.md)."""


@cache
def _massachusetts_counties() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    text = resources.files(__package__).joinpath("ma_zcta_county_2020.csv").read_text(encoding="ascii")
    for line in text.splitlines()[4:]:  # after the comment lines and the header
        zcta, _, county = line.split(",")
        table.setdefault(zcta, set()).add(county)
    return {zcta: frozenset(counties) for zcta, counties in table.items()}


def massachusetts_counties(zip_code: str) -> frozenset[str]:
    """The Massachusetts counties a ZIP code's area (its 2020 ZCTA) lies in; empty when the ZIP
    has no ZCTA in Massachusetts (a PO-box or unique ZIP, or one outside the state)."""
    return _massachusetts_counties().get(zip_code[:5], frozenset())
