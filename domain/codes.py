"""CARC and RARC descriptions, shipped as data (``domain/codes/*.csv``).

The files hold the subset of the X12 code lists that behavioral-health
remittances use; each file's header says its source and date.  A code we do
not ship is described as "not in the shipped subset" rather than guessed, so a
clerk knows to look it up on the X12 code list site.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

CODES = Path(__file__).resolve().parent / "codes"

GROUP_CODES = {
    "CO": "Contractual obligation",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer initiated reduction",
    "CR": "Correction and reversal",
}


@cache
def _table(name: str) -> dict[str, str]:
    """``code,description`` per line: the description is everything after the first comma."""
    table: dict[str, str] = {}
    with (CODES / name).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                code, _, description = line.partition(",")
                table[code.strip()] = description.strip()
    return table


def carc_codes() -> dict[str, str]:
    return dict(_table("carc.csv"))


def rarc_codes() -> dict[str, str]:
    return dict(_table("rarc.csv"))


def _unknown(kind: str, code: str) -> str:
    return f"{kind} {code}: not in the shipped subset (see x12.org/codes)"


def describe_carc(group: str | None, reason: str) -> str:
    """The reason's text; ``group`` (CO, PR, ...) is accepted for call sites that have it
    and does not change the text (the group says who bears the amount, not why)."""
    return _table("carc.csv").get(reason.strip()) or _unknown("CARC", reason)


def describe_rarc(code: str) -> str:
    return _table("rarc.csv").get(code.strip()) or _unknown("RARC", code)


def describe_group(group: str) -> str:
    return GROUP_CODES.get(group, f"group {group}")
