"""The ICD-10-CM billable-code table (CDC/CMS release of 2026-04-01, FY2026).

The table is read once, on first use, into a frozenset: about 75,000 codes,
a few tens of milliseconds.  ``build_icd10cm.py`` regenerates it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

ICD10CM_RELEASE = "2026-04"
"""The ICD-10-CM release shipped: FY2026 April 1 update, for dates of service
2026-04-01 to 2026-09-30 (codes valid since 2025-10-01 remain in it)."""

_TABLE = f"icd10cm_billable_{ICD10CM_RELEASE}.txt"


@cache
def icd10cm_billable() -> frozenset[str]:
    """Billable ICD-10-CM codes, without the dot (``F321``, ``F4310``)."""
    text = resources.files(__package__).joinpath(_TABLE).read_text(encoding="ascii")
    return frozenset(text.split())


def is_billable_icd10cm(code: str) -> bool:
    """True for a billable code; accepts it with or without the dot, any case."""
    return code.replace(".", "").upper() in icd10cm_billable()
