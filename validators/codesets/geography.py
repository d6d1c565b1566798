"""Places: the Massachusetts county of a ZIP code (US Census 2020 ZCTA-to-county relationship file,
Massachusetts rows only: validators/codesets/README.md)."""

from functools import cache
from importlib import resources

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
