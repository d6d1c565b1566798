"""Rule settings: the ``[rules]`` table of bhclaims.toml, validated once.

Every number that Optum's material states in two ways is a setting here, with the
stricter reading as its default (payer-87726.md).  Example::

    [rules]
    "OPT-TF-90" = "warning"          # re-level a rule: error, warning or off
    "OPT-ABA" = "off"
    commercial_supervision = "error" # same as "OPT-SUPV-COMMERCIAL" = "error"
    telehealth_modifiers = ["95", "GT"]
    facility_procedure_codes = ["H0035", "S9480"]
    facility_places_of_service = ["21", "51", "55", "56"]

    [rules.timely_filing_days]
    medicaid = 120

    [rules.corrected_claim_days]
    commercial = 180

Anything unknown or malformed is a ``ValueError`` naming the key: a typo in a
rule code must not silently leave a rule on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from domain.claim import LineOfBusiness
from validators.codesets.procedures import FACILITY_PLACES_OF_SERVICE, FACILITY_PROCEDURES

SeverityLevel = Literal["error", "warning", "off"]
_LEVELS = ("error", "warning", "off")

COMMERCIAL_SUPERVISION_RULE = "OPT-SUPV-COMMERCIAL"

DEFAULT_TIMELY_FILING_DAYS: Mapping[LineOfBusiness, int] = MappingProxyType(
    {lob: 90 for lob in LineOfBusiness}
)
"""Optum: claims within 90 days of the date of service, every line of business."""

DEFAULT_CORRECTED_CLAIM_DAYS: Mapping[LineOfBusiness, int] = MappingProxyType(
    {
        LineOfBusiness.COMMERCIAL: 180,
        LineOfBusiness.MEDICARE_ADVANTAGE: 180,
        LineOfBusiness.SCO: 180,
        LineOfBusiness.ONE_CARE: 180,
        LineOfBusiness.MEDICAID: 365,
    }
)
"""Optum: corrected claim after a denial — commercial 180 days of the PRA date,
Medicare 180 (SCO and One Care are Medicare D-SNPs), Medicaid 365.  The portal's
"365 days from the denial" counts from the same event, since the denial arrives
on the PRA, so both readings give one number."""


def _frozen(mapping: Mapping[LineOfBusiness, int]) -> tuple[tuple[LineOfBusiness, int], ...]:
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Validated rule settings; hashable, so the engine can cache its plan per settings."""

    severity_overrides: tuple[tuple[str, SeverityLevel], ...] = ()
    timely_filing: tuple[tuple[LineOfBusiness, int], ...] = field(default=_frozen(DEFAULT_TIMELY_FILING_DAYS))
    corrected_claim: tuple[tuple[LineOfBusiness, int], ...] = field(
        default=_frozen(DEFAULT_CORRECTED_CLAIM_DAYS)
    )
    telehealth_modifiers: frozenset[str] = frozenset({"95", "GT"})
    telehealth_places_of_service: frozenset[str] = frozenset({"02", "10"})
    facility_procedure_codes: frozenset[str] = frozenset(FACILITY_PROCEDURES)
    facility_places_of_service: frozenset[str] = frozenset(FACILITY_PLACES_OF_SERVICE)

    def severity_for(self, code: str) -> SeverityLevel | None:
        """The practice's level for a rule code, or None to keep the rule's default."""
        for rule_code, level in self.severity_overrides:
            if rule_code == code:
                return level
        return None

    def timely_filing_days(self, lob: LineOfBusiness) -> int:
        """Days from the date of service within which Optum must receive the claim."""
        return _days(self.timely_filing, lob)

    def corrected_claim_days(self, lob: LineOfBusiness) -> int:
        """Days from the original claim's remittance (PRA) date for a corrected claim."""
        return _days(self.corrected_claim, lob)

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Any], known_rule_codes: Iterable[str] | None = None
    ) -> RuleSettings:
        """Build settings from the ``[rules]`` table; ValueError for anything wrong.

        ``known_rule_codes`` defaults to the codes of the engine's rule pack.
        """
        if known_rule_codes is None:
            from validators.engine import RULE_CODES

            known_rule_codes = RULE_CODES
        known = frozenset(known_rule_codes)
        if not isinstance(table, Mapping):
            raise ValueError(f"[rules] must be a table, not {type(table).__name__}")

        overrides: dict[str, SeverityLevel] = {}
        options: dict[str, Any] = {}
        for key, value in table.items():
            if key in _OPTION_PARSERS:
                continue
            if key not in known:
                hint = " (rule codes are upper case, e.g. OPT-TF-90)" if key.upper() in known else ""
                raise ValueError(f"[rules] {key!r}: not a rule code or setting{hint}")
            overrides[key] = _level(key, value)

        if "commercial_supervision" in table:
            level = _level("commercial_supervision", table["commercial_supervision"])
            overrides.setdefault(COMMERCIAL_SUPERVISION_RULE, level)
        for key, parse in _OPTION_PARSERS.items():
            if key in table and parse is not None:
                options.update(parse(key, table[key]))
        return cls(severity_overrides=tuple(sorted(overrides.items())), **options)


def _days(table: tuple[tuple[LineOfBusiness, int], ...], lob: LineOfBusiness) -> int:
    for table_lob, days in table:
        if table_lob == lob:
            return days
    raise KeyError(lob)


def _level(key: str, value: Any) -> SeverityLevel:
    if value not in _LEVELS:
        raise ValueError(f"[rules] {key!r}: {value!r} is not one of error, warning, off")
    return value  # type: ignore[no-any-return]


def _days_by_lob(defaults: Mapping[LineOfBusiness, int], attribute: str):  # type: ignore[no-untyped-def]
    def parse(key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValueError(f"[rules.{key}] must be a table of line of business = days")
        merged = dict(defaults)
        for lob_name, days in value.items():
            try:
                lob = LineOfBusiness(lob_name)
            except ValueError:
                allowed = ", ".join(lob.value for lob in LineOfBusiness)
                raise ValueError(f"[rules.{key}] {lob_name!r}: not a line of business ({allowed})") from None
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
                raise ValueError(f"[rules.{key}] {lob_name}: {days!r} is not a number of days (1-3650)")
            merged[lob] = days
        return {attribute: _frozen(merged)}

    return parse


def _code_set(pattern: str, attribute: str, what: str):  # type: ignore[no-untyped-def]
    shape = re.compile(pattern)

    def parse(key: str, value: Any) -> dict[str, Any]:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"[rules] {key}: must be a list of {what}")
        codes = list(value)
        for code in codes:
            if not isinstance(code, str) or not shape.fullmatch(code):
                raise ValueError(f"[rules] {key}: {code!r} is not {what}")
        return {attribute: frozenset(codes)}

    return parse


_OPTION_PARSERS = {
    "commercial_supervision": None,  # sugar for the OPT-SUPV-COMMERCIAL level, handled above
    "timely_filing_days": _days_by_lob(DEFAULT_TIMELY_FILING_DAYS, "timely_filing"),
    "corrected_claim_days": _days_by_lob(DEFAULT_CORRECTED_CLAIM_DAYS, "corrected_claim"),
    "telehealth_modifiers": _code_set(r"[A-Z0-9]{2}", "telehealth_modifiers", "a two-character modifier"),
    "telehealth_places_of_service": _code_set(
        r"\d{2}", "telehealth_places_of_service", "a two-digit place of service"
    ),
    "facility_procedure_codes": _code_set(
        r"[A-Z0-9]{4,5}", "facility_procedure_codes", "a HCPCS/CPT or revenue code"
    ),
    "facility_places_of_service": _code_set(
        r"\d{2}", "facility_places_of_service", "a two-digit place of service"
    ),
}
