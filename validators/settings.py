"""Rule settings: the ``[rules]`` table of bhclaims.toml, validated once.

Every number that Optum's material states in two ways is a setting here, with the
stricter reading as its default (payer-87726.md).  Example::

    [rules]
    "OPT-TF-90" = "warning"          # re-level a rule: error, warning, info or off
    "OPT-ABA" = "off"
    commercial_supervision = "error" # same as "OPT-SUPV-COMMERCIAL" = "error"
    telehealth_modifiers = ["95", "GT", "93", "FQ"]
    facility_procedure_codes = ["H0035", "S9480"]
    facility_places_of_service = []  # default: the level of care is the code, not the place
    sco_one_care_start = 2026-01-01
    correction_receipt_days = 90

    [rules.timely_filing_days]
    medicaid = 120

    [rules.corrected_claim_days]
    commercial = 180

    [rules.telehealth_missing_modifier]   # per line of business: error, warning, info or off
    medicaid = "error"

    [rules.preventive_z_code_under_age]   # Z code alone for preventive care, patient under this age
    medicaid = 21

    [rules.appeal_windows]               # "N days" or "N months" from the remittance date
    medicaid = "60 days"

The ``[supervision]`` table (``supervision_from_mapping``) says per line of business how a
supervised clinician's claim is billed: "supervisor", "supervisee" or "not_permitted".

Anything unknown or malformed is a ``ValueError`` naming the key: a typo in a
rule code must not silently leave a rule on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from domain.claim import DEFAULT_SUPERVISED_BILLING, LineOfBusiness, SupervisedBilling
from validators.codesets.procedures import FACILITY_PROCEDURES, TELEHEALTH_MODIFIERS

SeverityLevel = Literal["error", "warning", "info", "off"]
_LEVELS = ("error", "warning", "info", "off")

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


DEFAULT_PREVENTIVE_Z_CODE_UNDER_AGE: Mapping[LineOfBusiness, int] = MappingProxyType(
    {lob: 21 if lob is LineOfBusiness.MEDICAID else 18 for lob in LineOfBusiness}
)
"""A Z code alone for preventive behavioral-health services: MassHealth covers them to age 21
(EPSDT, the Medicaid child benefit), other plans to 18 (payer-87726.md, Codes)."""

DEFAULT_APPEAL_WINDOWS: Mapping[LineOfBusiness, tuple[int, str]] = MappingProxyType(
    {
        LineOfBusiness.MEDICAID: (60, "days"),
        LineOfBusiness.COMMERCIAL: (12, "months"),
        LineOfBusiness.MEDICARE_ADVANTAGE: (12, "months"),
        # SCO and One Care are integrated MassHealth + Medicare plans; Optum's material names
        # no separate number, so the stricter MassHealth reading is the default.
        LineOfBusiness.SCO: (60, "days"),
        LineOfBusiness.ONE_CARE: (60, "days"),
    }
)
"""Optum appeals of an adverse determination: MassHealth within 60 calendar days,
Commercial and Medicare Advantage within 12 months (payer-87726.md, Deadlines)."""

DEFAULT_TELEHEALTH_MISSING_MODIFIER: Mapping[LineOfBusiness, SeverityLevel] = MappingProxyType(
    {lob: "warning" for lob in LineOfBusiness}
)
"""A telehealth line without 95/GT/93/FQ is paid by Optum in practice; a warning by default."""

DSNP_START = date(2026, 1, 1)
"""Optum administers behavioral health for the Massachusetts SCO and One Care D-SNPs from 2026-01-01."""


def _frozen(mapping: Mapping[LineOfBusiness, Any]) -> tuple[tuple[LineOfBusiness, Any], ...]:
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Validated rule settings; hashable, so the engine can cache its plan per settings."""

    severity_overrides: tuple[tuple[str, SeverityLevel], ...] = ()
    timely_filing: tuple[tuple[LineOfBusiness, int], ...] = field(default=_frozen(DEFAULT_TIMELY_FILING_DAYS))
    corrected_claim: tuple[tuple[LineOfBusiness, int], ...] = field(
        default=_frozen(DEFAULT_CORRECTED_CLAIM_DAYS)
    )
    telehealth_modifiers: frozenset[str] = frozenset(TELEHEALTH_MODIFIERS)
    telehealth_places_of_service: frozenset[str] = frozenset({"02", "10"})
    telehealth_missing_modifier: tuple[tuple[LineOfBusiness, SeverityLevel], ...] = field(
        default=_frozen(DEFAULT_TELEHEALTH_MISSING_MODIFIER)
    )
    facility_procedure_codes: frozenset[str] = frozenset(FACILITY_PROCEDURES)
    facility_places_of_service: frozenset[str] = frozenset()
    preventive_z_code_under_age: tuple[tuple[LineOfBusiness, int], ...] = field(
        default=_frozen(DEFAULT_PREVENTIVE_Z_CODE_UNDER_AGE)
    )
    appeal_windows: tuple[tuple[LineOfBusiness, tuple[int, str]], ...] = field(
        default=_frozen(DEFAULT_APPEAL_WINDOWS)
    )
    supervision: tuple[tuple[LineOfBusiness, SupervisedBilling], ...] = field(
        default=_frozen(DEFAULT_SUPERVISED_BILLING)
    )
    sco_one_care_start: date = DSNP_START
    correction_receipt_days: int = 90

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

    def telehealth_level(self, lob: LineOfBusiness) -> SeverityLevel:
        """How a telehealth line without a telehealth modifier is reported for a plan."""
        return _days(self.telehealth_missing_modifier, lob)

    def preventive_z_code_age(self, lob: LineOfBusiness) -> int:
        """Patients under this age may be billed a preventive service with a Z code alone."""
        return _days(self.preventive_z_code_under_age, lob)

    def appeal_window(self, lob: LineOfBusiness) -> tuple[int, str]:
        """(amount, "days" or "months") from the remittance date within which to appeal."""
        return _days(self.appeal_windows, lob)

    def supervised_billing(self, lob: LineOfBusiness) -> SupervisedBilling:
        """How a supervised clinician's claim for this plan is billed (``[supervision]``)."""
        return _days(self.supervision, lob)

    @property
    def supervised_billing_by_plan(self) -> Mapping[LineOfBusiness, SupervisedBilling]:
        """The ``[supervision]`` table as the 837P builder takes it."""
        return MappingProxyType(dict(self.supervision))

    @classmethod
    def from_mapping(
        cls,
        table: Mapping[str, Any],
        known_rule_codes: Iterable[str],
        *,
        supervision: Mapping[LineOfBusiness, SupervisedBilling] | None = None,
    ) -> RuleSettings:
        """Build settings from the ``[rules]`` table; ValueError for anything wrong.

        ``known_rule_codes`` are the rule pack's codes (``validators.engine.rule_settings`` passes
        them: the engine imports this module, not the other way round); ``supervision`` is the checked ``[supervision]`` table (``supervision_from_mapping``).
        """
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
            overrides[key] = _level(f"[rules] {key!r}", value)

        if "commercial_supervision" in table:
            level = _level("[rules] 'commercial_supervision'", table["commercial_supervision"])
            overrides.setdefault(COMMERCIAL_SUPERVISION_RULE, level)
        for key, parse in _OPTION_PARSERS.items():
            if key in table and parse is not None:
                options.update(parse(key, table[key]))
        if supervision is not None:
            options["supervision"] = _frozen({**DEFAULT_SUPERVISED_BILLING, **supervision})
        return cls(severity_overrides=tuple(sorted(overrides.items())), **options)


def supervision_from_mapping(table: Mapping[str, Any]) -> dict[LineOfBusiness, SupervisedBilling]:
    """The ``[supervision]`` table: line of business = "supervisor", "supervisee" or "not_permitted".

    Plans it does not name keep their default (``DEFAULT_SUPERVISED_BILLING``).
    """
    if not isinstance(table, Mapping):
        raise ValueError(f"[supervision] must be a table, not {type(table).__name__}")
    allowed = ", ".join(mode.value for mode in SupervisedBilling)
    result = dict(DEFAULT_SUPERVISED_BILLING)
    for lob_name, value in table.items():
        lob = _line_of_business("supervision", lob_name)
        try:
            result[lob] = SupervisedBilling(value)
        except ValueError:
            raise ValueError(f"[supervision] {lob_name}: {value!r} is not one of {allowed}") from None
    return result


def _days(table: tuple[tuple[LineOfBusiness, Any], ...], lob: LineOfBusiness) -> Any:
    """The value for ``lob`` in a per-plan table."""
    for table_lob, days in table:
        if table_lob == lob:
            return days
    raise KeyError(lob)


def _line_of_business(key: str, name: Any) -> LineOfBusiness:
    try:
        return LineOfBusiness(name)
    except ValueError:
        allowed = ", ".join(lob.value for lob in LineOfBusiness)
        raise ValueError(f"[{key}] {name!r}: not a line of business ({allowed})") from None


def _level(where: str, value: Any) -> SeverityLevel:
    if value not in _LEVELS:
        raise ValueError(f"{where}: {value!r} is not one of error, warning, info, off")
    return value  # type: ignore[no-any-return]


def _by_lob(defaults: Mapping[LineOfBusiness, Any], attribute: str, read_value):  # type: ignore[no-untyped-def]
    """A parser of ``[rules.<key>]``: line of business = value, the rest from ``defaults``."""

    def parse(key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValueError(f"[rules.{key}] must be a table of line of business = value")
        merged = dict(defaults)
        for lob_name, item in value.items():
            merged[_line_of_business(f"rules.{key}", lob_name)] = read_value(f"[rules.{key}] {lob_name}", item)
        return {attribute: _frozen(merged)}

    return parse


def _whole_number(low: int, high: int, what: str):  # type: ignore[no-untyped-def]
    def read(where: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{where}: {value!r} is not {what} ({low}-{high})")
        return value

    return read


def _window(where: str, value: Any) -> tuple[int, str]:
    """"60 days" or "12 months"."""
    match = re.fullmatch(r"\s*(\d{1,4})\s+(days?|months?)\s*", value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match.group(1)) <= 3650:
        raise ValueError(f"{where}: {value!r} is not a window such as \"60 days\" or \"12 months\"")
    unit = match.group(2)
    return int(match.group(1)), unit if unit.endswith("s") else unit + "s"


def _one_date(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, date):
        raise ValueError(f"[rules] {key}: {value!r} is not a date (YYYY-MM-DD)")
    return {key: value}


def _days_setting(key: str, value: Any) -> dict[str, Any]:
    return {key: _whole_number(1, 3650, "a number of days")(f"[rules] {key}", value)}


_DAYS = _whole_number(1, 3650, "a number of days")


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
    "timely_filing_days": _by_lob(DEFAULT_TIMELY_FILING_DAYS, "timely_filing", _DAYS),
    "corrected_claim_days": _by_lob(DEFAULT_CORRECTED_CLAIM_DAYS, "corrected_claim", _DAYS),
    "telehealth_missing_modifier": _by_lob(
        DEFAULT_TELEHEALTH_MISSING_MODIFIER, "telehealth_missing_modifier", _level
    ),
    "preventive_z_code_under_age": _by_lob(
        DEFAULT_PREVENTIVE_Z_CODE_UNDER_AGE, "preventive_z_code_under_age", _whole_number(1, 26, "an age")
    ),
    "appeal_windows": _by_lob(DEFAULT_APPEAL_WINDOWS, "appeal_windows", _window),
    "sco_one_care_start": _one_date,
    "correction_receipt_days": _days_setting,
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
