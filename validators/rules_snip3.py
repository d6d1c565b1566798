"""WEDI SNIP level 3: balancing — the claim's money and quantities add up.

``Claim.total_charge`` is the sum of the lines by construction, so what can go
wrong is a line's own charge or units, and a total that a parser read from the
PM export (``("stated_total", "123.45")`` in ``Claim.extra``) that disagrees.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from domain.claim import Claim
from validators.findings import CheckContext, Finding, Rule

# Each check tests the clean claim first and returns () (how a rule is written: validators/engine.py).
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_SOURCE_837P = "837P implementation guide 005010X222A1: CLM02 equals the sum of SV102"


def check_stated_total(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for key, value in claim.extra:
        if key != "stated_total":
            continue
        try:
            stated = Decimal(value)
        except InvalidOperation:
            return (
                TOTAL.finding(
                    claim,
                    f"The claim total {value!r} in the export is not an amount; "
                    "correct the total in the PM system.",
                ),
            )
        if not stated.is_finite() or stated != claim.total_charge:
            return (
                TOTAL.finding(
                    claim,
                    f"The claim total in the export (${value}) does not equal the sum of its line "
                    f"charges (${claim.total_charge}); correct the charges or the total in the PM system.",
                ),
            )
    return ()


@lru_cache(maxsize=4096)
def _charge_ok(charge: Decimal) -> bool:
    return charge > _ZERO and charge == charge.quantize(_CENT)


def check_line_charges(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for line in claim.lines:
        if not _charge_ok(line.charge):
            return _charge_findings(claim)
    return ()


def _charge_findings(claim: Claim) -> list[Finding]:
    return [
        CHARGE.finding(
            claim,
            f"Line {line.line_id} ({line.procedure_code}, {line.service_date}) has a charge of ${line.charge}; "
            + (
                "enter the practice's fee, more than $0.00."
                if line.charge <= _ZERO
                else "that is finer than a cent, round it to dollars and cents."
            ),
            line,
        )
        for line in claim.lines
        if not _charge_ok(line.charge)
    ]


def check_line_units(claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
    for line in claim.lines:
        if line.units <= _ZERO:
            return _units_findings(claim)
    return ()


def _units_findings(claim: Claim) -> list[Finding]:
    return [
        UNITS.finding(
            claim,
            f"Line {line.line_id} ({line.procedure_code}, {line.service_date}) has {line.units} "
            "units; enter the number of units billed (1 or more).",
            line,
        )
        for line in claim.lines
        if line.units <= _ZERO
    ]


TOTAL = Rule(
    "SNIP3-TOTAL",
    3,
    "error",
    "A claim total stated in the export equals the sum of its line charges",
    _SOURCE_837P,
    check_stated_total,
)
CHARGE = Rule(
    "SNIP3-CHARGE",
    3,
    "error",
    "Every line charge is more than $0.00 and in whole cents",
    "837P SV102: line item charge amount, a positive monetary amount",
    check_line_charges,
)
UNITS = Rule(
    "SNIP3-UNITS",
    3,
    "error",
    "Every line bills more than 0 units",
    "837P SV104: service unit count, a positive quantity",
    check_line_units,
)

RULES: tuple[Rule, ...] = (TOTAL, CHARGE, UNITS)
