"""The fast path: a whole row checked by two precompiled patterns, no per-cell dispatch.

Almost every row of a real export is clean, and for a clean row the per-cell
checks of ``assemble`` do a great deal of bookkeeping (problem lists, reported
columns, a dispatch per cell) only to find nothing.  Here the cells of a row are
joined with a unit separator and matched against one pattern for the claim-level
columns and one for the line-level columns; the few rules that tie columns
together (frequency and original claim number, relationship and patient,
supervision, diagnosis gaps) are checked in plain code, and the records are built
directly.

The fast path only ever *accepts*: it never explains.  Its patterns admit a subset
of what the per-cell checks admit (ASCII digits only, no padding around a value,
…), and whatever it turns down — or cannot be sure about — goes through the
per-cell checks, which accept it or write the error.  So a row either yields
records equal to those the per-cell checks would build, or the exact error they
would report.  ``tests/test_parse_fastpath.py`` holds the two paths to that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from domain.claim import (
    OPTUM_BH_PAYER_NAME,
    Address,
    Frequency,
    LineOfBusiness,
    Patient,
    Provider,
    Relationship,
    RenderingLicense,
    ServiceLine,
    Source,
    Subscriber,
)
from parsers import cells
from parsers.columns import (
    BILLING_COLUMNS,
    CLAIM_COLUMNS,
    DIAGNOSIS_COLUMNS,
    FACILITY_COLUMNS,
    LINE_COLUMNS,
    MAX_DIAGNOSES,
    MAX_MODIFIERS,
    MODIFIER_COLUMNS,
    PAY_TO_COLUMNS,
    RENDERING_COLUMNS,
    SUPERVISING_COLUMNS,
)

# The cells of a row are joined with US (unit separator).  Every cell pattern
# refuses control characters, so a cell holding US itself cannot match and a
# match always splits the row at the true cell boundaries.
SEPARATOR = "\x1f"

_PLAIN = r"[^\x00-\x1f\x7f~*:^]"  # no control character, no X12 separator
_FIRST = r"[^\x00-\x1f\x7f~*:^=+\-@\s]"  # …nor a formula start or padding
_LAST = r"[^\x00-\x1f\x7f~*:^\s]"  # …nor padding


def _text(max_length: int) -> str:
    return rf"{_FIRST}(?:{_PLAIN}{{0,{max_length - 2}}}{_LAST})?"


def _one_of(vocabulary: tuple[str, ...]) -> str:
    return "(?:" + "|".join(map(re.escape, vocabulary)) + ")"


def _ident(max_length: int) -> str:
    return rf"[A-Za-z0-9][A-Za-z0-9-]{{0,{max_length - 1}}}"


_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_NPI = r"[0-9]{10}"
_TAXONOMY = r"[0-9]{3}[0-9A-Z]{6}X"
_DIAGNOSIS = r"[A-Za-z][0-9][0-9A-Za-z]\.?[0-9A-Za-z]{0,4}"
_SEX = r"[MFU]"

FREQUENCIES = {f.value: f for f in Frequency}
LINES_OF_BUSINESS = {lob.value: lob for lob in LineOfBusiness}
RELATIONSHIPS = {r.value: r for r in Relationship}
LICENSES = {lic.value: lic for lic in RenderingLicense}

# column -> (pattern, required).  A column that is required only with another
# (patient_* unless self, rendering_*, supervising_*) is optional here and
# checked in code.
_CLAIM_CELLS: dict[str, tuple[str, bool]] = {
    "claim_id": (_ident(20), True),
    "frequency": (_one_of(tuple(FREQUENCIES)), False),
    "original_claim_number": (_ident(50), False),
    "line_of_business": (_one_of(tuple(LINES_OF_BUSINESS)), True),
    "payer_id": (rf"(?![0-9]{{4}}(?:\x1f|\Z))[A-Za-z0-9]{{2,{cells.MAX_PAYER_ID_LENGTH}}}", True),
    "payer_name": (_text(60), False),
    "subscriber_id": (_text(80), True),
    "subscriber_last": (_text(60), True),
    "subscriber_first": (_text(35), True),
    "subscriber_dob": (_DATE, True),
    "subscriber_sex": (_SEX, True),
    "subscriber_address1": (_text(55), True),
    "subscriber_city": (_text(30), True),
    "subscriber_state": (r"[A-Z]{2}", True),
    "subscriber_zip": (r"[0-9]{5}(?:-?[0-9]{4})?", True),
    "patient_relationship": (_one_of(tuple(RELATIONSHIPS)), False),
    "patient_last": (_text(60), False),
    "patient_first": (_text(35), False),
    "patient_dob": (_DATE, False),
    "patient_sex": (_SEX, False),
    "billing_npi": (_NPI, True),
    "billing_name": (_text(60), True),
    "billing_tax_id": (r"[0-9]{2}-?[0-9]{7}", True),
    "billing_taxonomy": (_TAXONOMY, True),
    "billing_address1": (_text(55), True),
    "billing_city": (_text(30), True),
    "billing_state": (r"[A-Z]{2}", True),
    "billing_zip": (r"[0-9]{5}-?[0-9]{4}", True),
    "rendering_npi": (_NPI, False),
    "rendering_last": (_text(60), False),
    "rendering_first": (_text(35), False),
    "rendering_taxonomy": (_TAXONOMY, False),
    "rendering_license": (_one_of(tuple(LICENSES)), False),
    "supervising_npi": (_NPI, False),
    "supervising_last": (_text(60), False),
    "supervising_first": (_text(35), False),
    "prior_auth": (_text(50), False),
    **{f"diagnosis_{n}": (_DIAGNOSIS, n == 1) for n in range(1, MAX_DIAGNOSES + 1)},
}

# Amounts are kept short enough that Decimal never leaves its default precision.
_LINE_CELLS: dict[str, tuple[str, bool]] = {
    "line_id": (_ident(30), True),
    "service_date": (_DATE, True),
    "procedure_code": (r"(?:[0-9]{4}[0-9FTUftu]|[A-Za-z][0-9]{4})", True),
    **{f"modifier_{n}": (r"[0-9A-Za-z]{2}", False) for n in range(1, MAX_MODIFIERS + 1)},
    "units": (r"[0-9]{1,11}(?:\.[0-9]{1,3})?", True),  # cells.MAX_UNITS_LENGTH at most
    "charge": (r"[0-9]{1,10}(?:\.[0-9]{1,2})?", True),
    "place_of_service": (r"[0-9]{2}", True),
    "diagnosis_pointers": (r"[0-9](?:[0-9, ]{0,30}[0-9])?", False),
}


def _row_pattern(columns: Sequence[str], table: dict[str, tuple[str, bool]]) -> re.Pattern[str]:
    parts = []
    for column in columns:
        pattern, required = table[column]
        parts.append(f"(?:{pattern})" if required else f"(?:{pattern})?")
    return re.compile(SEPARATOR.join(parts))


def _span(columns: Sequence[str], group: Sequence[str]) -> slice:
    """Where ``group`` sits in ``columns``; the unpacking below relies on the order."""
    start = columns.index(group[0])
    if tuple(columns[start : start + len(group)]) != tuple(group):
        raise ValueError(f"columns {group} are not contiguous in {columns}")
    return slice(start, start + len(group))


# The claim-level columns fall into blocks: the claim's own (its id, payer,
# subscriber, patient), the providers, the diagnoses, and the optional pay-to and
# service facility.  Provider and diagnosis blocks repeat across the claims of an
# export, so they are checked once per distinct block and remembered.  A row that
# fills any pay-to or facility cell is left to the per-cell checks: few rows do.
OWN_COLUMNS = CLAIM_COLUMNS[: CLAIM_COLUMNS.index("patient_sex") + 1]
PROVIDER_COLUMNS = (*BILLING_COLUMNS, *RENDERING_COLUMNS, "rendering_license", *SUPERVISING_COLUMNS)
_OWN = _span(CLAIM_COLUMNS, OWN_COLUMNS)
_PROVIDERS = _span(CLAIM_COLUMNS, PROVIDER_COLUMNS)
_PRIOR_AUTH = CLAIM_COLUMNS.index("prior_auth")
_DIAGNOSES = _span(CLAIM_COLUMNS, DIAGNOSIS_COLUMNS)
_ELSEWHERE = _span(CLAIM_COLUMNS, (*PAY_TO_COLUMNS, *FACILITY_COLUMNS))
if (_OWN.stop, _PROVIDERS.stop, _PRIOR_AUTH + 1, _DIAGNOSES.stop, _ELSEWHERE.stop) != (
    _PROVIDERS.start,
    _PRIOR_AUTH,
    _DIAGNOSES.start,
    _ELSEWHERE.start,
    len(CLAIM_COLUMNS),
):
    raise ValueError("the claim-level blocks do not cover CLAIM_COLUMNS in order")
if OWN_COLUMNS != (
    "claim_id",
    "frequency",
    "original_claim_number",
    "line_of_business",
    "payer_id",
    "payer_name",
    "subscriber_id",
    "subscriber_last",
    "subscriber_first",
    "subscriber_dob",
    "subscriber_sex",
    "subscriber_address1",
    "subscriber_city",
    "subscriber_state",
    "subscriber_zip",
    "patient_relationship",
    "patient_last",
    "patient_first",
    "patient_dob",
    "patient_sex",
) or LINE_COLUMNS != (
    "line_id",
    "service_date",
    "procedure_code",
    *MODIFIER_COLUMNS,
    "units",
    "charge",
    "place_of_service",
    "diagnosis_pointers",
):
    raise ValueError("the fast path unpacks the columns in another order than columns.py")

OWN_ROW = _row_pattern(OWN_COLUMNS, _CLAIM_CELLS)
PROVIDER_ROW = _row_pattern(PROVIDER_COLUMNS, _CLAIM_CELLS)
DIAGNOSIS_ROW = _row_pattern(DIAGNOSIS_COLUMNS, _CLAIM_CELLS)
PRIOR_AUTH = re.compile(_CLAIM_CELLS["prior_auth"][0])
LINE_ROW = _row_pattern(LINE_COLUMNS, _LINE_CELLS)

_CACHE_LIMIT = 4096  # per cache: an export names few providers, codes and amounts
_UNSEEN: Any = object()


class _Providers(NamedTuple):
    billing: Provider
    rendering: Provider | None
    license: RenderingLicense
    supervising: Provider | None


class FastRows:
    """Claim headers and service lines from clean rows; None for anything else.

    Rows are given as tuples of cell text in ``CLAIM_COLUMNS`` / ``LINE_COLUMNS``
    order ("" for an absent column).  Caches are keyed by the raw cells, so a hit
    is exactly what a fresh check would give; they are bounded, so memory stays
    flat over any file.
    """

    def __init__(self, file: str, today: date) -> None:
        self.file = file
        self.today = today
        self._providers: dict[tuple[str, ...], _Providers | None] = {}
        self._diagnoses: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        self._modifiers: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        self._charges: dict[str, Decimal] = {}
        self._units: dict[str, Decimal | None] = {}
        self._pointers: dict[tuple[str, int], tuple[int, ...] | None] = {}

    def _past_date(self, value: str) -> date | None:
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            return None
        if parsed > self.today or parsed.year < 1900:
            return None
        return parsed

    def claim_header(self, claim_cells: tuple[str, ...]) -> tuple[dict[str, Any], int] | None:
        """The fields ``read_claim_header`` would return and the diagnosis count, or None."""
        if any(claim_cells[_ELSEWHERE]):
            return None
        own = claim_cells[_OWN]
        if OWN_ROW.fullmatch(SEPARATOR.join(own)) is None:
            return None
        (
            claim_id,
            frequency,
            original,
            lob,
            payer_id,
            payer_name,
            member_id,
            sub_last,
            sub_first,
            sub_dob,
            sub_sex,
            sub_address1,
            sub_city,
            sub_state,
            sub_zip,
            relationship,
            pat_last,
            pat_first,
            pat_dob,
            pat_sex,
        ) = own
        frequency = frequency or "1"
        if frequency == "1" and original:  # an original claim replaces nothing
            return None
        if frequency != "1" and not original:  # a replacement or void names its original
            return None
        subscriber_dob = self._past_date(sub_dob)
        if subscriber_dob is None:
            return None
        relationship = relationship or "self"
        patient = None
        if relationship == "self":
            if (
                (pat_last and pat_last != sub_last)
                or (pat_first and pat_first != sub_first)
                or (pat_dob and pat_dob != sub_dob)
                or (pat_sex and pat_sex != sub_sex)
            ):
                return None
        else:
            if not (pat_last and pat_first and pat_dob and pat_sex):
                return None
            patient_dob = self._past_date(pat_dob)
            if patient_dob is None:
                return None
            patient = Patient(pat_last, pat_first, patient_dob, pat_sex)

        provider_cells = claim_cells[_PROVIDERS]
        providers = self._providers.get(provider_cells, _UNSEEN)
        if providers is _UNSEEN:
            providers = _provider_block(provider_cells)
            if len(self._providers) < _CACHE_LIMIT:
                self._providers[provider_cells] = providers
        if providers is None:
            return None

        prior_auth = claim_cells[_PRIOR_AUTH]
        if prior_auth and PRIOR_AUTH.fullmatch(prior_auth) is None:
            return None

        diagnosis_cells = claim_cells[_DIAGNOSES]
        diagnoses = self._diagnoses.get(diagnosis_cells, _UNSEEN)
        if diagnoses is _UNSEEN:
            diagnoses = _diagnosis_block(diagnosis_cells)
            if len(self._diagnoses) < _CACHE_LIMIT:
                self._diagnoses[diagnosis_cells] = diagnoses
        if diagnoses is None:
            return None

        fields: dict[str, Any] = {
            "claim_id": claim_id,
            "line_of_business": LINES_OF_BUSINESS[lob],
            "payer_id": payer_id,
            "subscriber": Subscriber(
                member_id,
                sub_last,
                sub_first,
                subscriber_dob,
                sub_sex,
                Address(sub_address1, sub_city, sub_state, sub_zip.replace("-", "")),
            ),
            "billing": providers.billing,
            "diagnoses": diagnoses,
            "frequency": FREQUENCIES[frequency],
            "original_claim_number": original or None,
            "payer_name": payer_name or OPTUM_BH_PAYER_NAME,
            "relationship": RELATIONSHIPS[relationship],
            "patient": patient,
            "rendering": providers.rendering,
            "rendering_license": providers.license,
            "supervising": providers.supervising,
            "prior_auth": prior_auth or None,
            "pay_to": None,
            "service_facility": None,
        }
        return fields, len(diagnoses)

    def service_line(
        self, line_cells: tuple[str, ...], diagnosis_count: int, line: int
    ) -> ServiceLine | None:
        """The line ``read_service_line`` would return, or None."""
        if LINE_ROW.fullmatch(SEPARATOR.join(line_cells)) is None:
            return None
        (line_id, service_date, procedure, mod_1, mod_2, mod_3, mod_4, units, charge, place, pointers) = (
            line_cells
        )
        try:
            date_of_service = date.fromisoformat(service_date)
        except ValueError:
            return None
        if date_of_service > self.today:
            return None
        modifiers: tuple[str, ...] = ()
        if mod_1 or mod_2 or mod_3 or mod_4:
            modifier_cells = (mod_1, mod_2, mod_3, mod_4)
            read = self._modifiers.get(modifier_cells, _UNSEEN)
            if read is _UNSEEN:
                count = _filled_prefix(modifier_cells)
                read = None if count is None else tuple(m.upper() for m in modifier_cells[:count])
                if len(self._modifiers) < _CACHE_LIMIT:
                    self._modifiers[modifier_cells] = read
            if read is None:
                return None
            modifiers = read
        unit_count = self._units.get(units, _UNSEEN)
        if unit_count is _UNSEEN:
            count_read = Decimal(units)
            unit_count = count_read if count_read > 0 else None
            if len(self._units) < _CACHE_LIMIT:
                self._units[units] = unit_count
        if unit_count is None:
            return None
        amount = self._charges.get(charge)
        if amount is None:
            amount = Decimal(charge).quantize(cells.CENT)
            if len(self._charges) < _CACHE_LIMIT:
                self._charges[charge] = amount
        diagnosis_pointers: tuple[int, ...] = (1,)
        if pointers:
            read_pointers = self._pointers.get((pointers, diagnosis_count), _UNSEEN)
            if read_pointers is _UNSEEN:
                try:
                    read_pointers = cells.diagnosis_pointers(pointers, diagnosis_count)
                except cells.CellError:
                    read_pointers = None
                if len(self._pointers) < _CACHE_LIMIT:
                    self._pointers[(pointers, diagnosis_count)] = read_pointers
            if read_pointers is None:
                return None
            diagnosis_pointers = read_pointers
        return ServiceLine(
            line_id,
            date_of_service,
            procedure.upper(),
            amount,
            unit_count,
            place,
            modifiers,
            diagnosis_pointers,
            Source(self.file, line),
        )


def _filled_prefix(values: Sequence[str]) -> int | None:
    """How many values are filled, or None when an empty one precedes a filled one."""
    count = 0
    for value in values:
        if not value:
            break
        count += 1
    if any(values[count:]):
        return None
    return count


def _provider_block(block: tuple[str, ...]) -> _Providers | None:
    """The providers ``read_claim_header`` would read from these cells, or None."""
    if PROVIDER_ROW.fullmatch(SEPARATOR.join(block)) is None:
        return None
    (
        npi,
        name,
        tax_id,
        taxonomy,
        line1,
        city,
        state,
        zip_code,
        rendering_npi,
        rendering_last,
        rendering_first,
        rendering_taxonomy,
        license_,
        supervising_npi,
        supervising_last,
        supervising_first,
    ) = block
    rendering_given = bool(rendering_npi or rendering_last or rendering_first or rendering_taxonomy)
    rendering = None
    if rendering_given:
        if not (rendering_npi and rendering_last and rendering_first and rendering_taxonomy):
            return None
        rendering = Provider(
            rendering_npi, rendering_last, rendering_first, entity_type="1", taxonomy=rendering_taxonomy
        )
    # A solo clinician bills under their own Type 1 NPI; a group under its Type 2.
    billing = Provider(
        npi,
        name,
        entity_type="1" if npi == rendering_npi else "2",
        taxonomy=taxonomy,
        tax_id=tax_id.replace("-", ""),
        address=Address(line1, city, state, zip_code.replace("-", "")),
    )
    license_ = license_ or "independent"
    supervising = None
    if license_ == "supervised":
        if not rendering_given:
            return None
        if supervising_npi or supervising_last or supervising_first:
            if not (supervising_npi and supervising_last and supervising_first):
                return None
            supervising = Provider(supervising_npi, supervising_last, supervising_first, entity_type="1")
    elif supervising_npi or supervising_last or supervising_first:
        return None
    return _Providers(billing, rendering, LICENSES[license_], supervising)


def _diagnosis_block(block: tuple[str, ...]) -> tuple[str, ...] | None:
    """Codes upper-cased without the dot, or None on a bad code, a gap or a repeat."""
    if DIAGNOSIS_ROW.fullmatch(SEPARATOR.join(block)) is None:
        return None
    count = _filled_prefix(block)
    if count is None:
        return None
    codes = tuple(value.upper().replace(".", "") for value in block[:count])
    if len(set(codes)) != len(codes):
        return None
    return codes
