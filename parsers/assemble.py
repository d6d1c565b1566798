"""Canonical rows → ``Claim`` records, shared by the CSV and XML readers.

A reader turns its input into ``CanonicalRow``s (canonical column → text, plus the
problems it met while reading) and tells the ``ClaimAssembler`` when a row is the
last one of its claim.  The assembler validates each cell, checks that the
claim-level columns agree across the rows of a claim, and yields either the
finished ``Claim`` or — if any of its rows was refused — nothing for that claim
but its ``RowError``s: a refused row refuses its whole claim, never part of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from domain.claim import (
    OPTUM_BH_PAYER_NAME,
    Address,
    Claim,
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
from parsers.cells import CellError, unsafe_text_reason
from parsers.columns import CLAIM_COLUMNS, DIAGNOSIS_COLUMNS, MODIFIER_COLUMNS
from parsers.errors import RowError

T = TypeVar("T")

FREQUENCIES = tuple(f.value for f in Frequency)
LINES_OF_BUSINESS = tuple(lob.value for lob in LineOfBusiness)
RELATIONSHIPS = tuple(r.value for r in Relationship)
LICENSES = tuple(lic.value for lic in RenderingLicense)
SEXES = ("M", "F", "U")

MISSING = "required value is missing"


@dataclass(slots=True)
class CanonicalRow:
    """One row as a reader saw it.

    ``cells`` is None when the row cannot be read at all (e.g. wrong cell count);
    ``claim_key`` is the claim id cell when it could be found, so that the rest of
    the claim is refused with the row.  ``problems`` are (column, reason) pairs the
    reader already found (undecodable bytes, profile conversions).
    """

    line: int
    cells: dict[str, str] | None
    claim_key: str | None
    problems: list[tuple[str | None, str]] = field(default_factory=list)


# One search over the whole row: no separator, no control character, no cell
# starting like a formula.  A false alarm (a comma followed by '=' inside a cell)
# only sends the row through the per-cell checks.
_ROW_SUSPECT = re.compile(r"[~*:^\x00-\x1f\x7f]|,[=+\-@]")


def row_is_clean(row_cells: Mapping[str, str]) -> bool:
    return _ROW_SUSPECT.search("," + ",".join(row_cells.values())) is None


class _CellReader:
    """Reads cells of one row, collecting (column, reason) problems instead of raising."""

    __slots__ = ("cells", "problems", "reported", "clean")

    def __init__(
        self,
        row_cells: Mapping[str, str],
        problems: list[tuple[str | None, str]],
        reported: frozenset[str] = frozenset(),
    ) -> None:
        self.cells = row_cells
        self.problems = problems
        self.reported = reported
        self.clean = row_is_clean(row_cells)

    def raw(self, column: str, *, required: bool = False, allow_minus: bool = False) -> str | None:
        if column in self.reported:
            return None
        value = self.cells.get(column, "")
        if not value:
            if required:
                self.problems.append((column, MISSING))
            return None
        if not self.clean:
            reason = unsafe_text_reason(value, allow_minus=allow_minus)
            if reason:
                self.problems.append((column, reason))
                return None
        return value

    def read(
        self,
        column: str,
        convert: Callable[..., T],
        *args: Any,
        required: bool = False,
        allow_minus: bool = False,
        **kwargs: Any,
    ) -> T | None:
        value = self.raw(column, required=required, allow_minus=allow_minus)
        if value is None:
            return None
        try:
            return convert(value, *args, **kwargs)
        except CellError as error:
            self.problems.append((column, error.reason))
            return None

    def filled(self, column: str) -> bool:
        return bool(self.cells.get(column))

    def complain(self, column: str, reason: str) -> None:
        self.problems.append((column, reason))


def _address(c: _CellReader, prefix: str, *, zip4_required: bool = False) -> Address | None:
    line1 = c.read(f"{prefix}_address1", cells.text, required=True, max_length=55)
    city = c.read(f"{prefix}_city", cells.text, required=True, max_length=30)
    state = c.read(f"{prefix}_state", cells.state, required=True)
    zip_code = c.read(f"{prefix}_zip", cells.zip_code, required=True, zip4_required=zip4_required)
    if line1 and city and state and zip_code:
        return Address(line1, city, state, zip_code)
    return None


def _person(c: _CellReader, prefix: str, *, required: bool) -> tuple[str | None, str | None, str | None]:
    npi = c.read(f"{prefix}_npi", cells.npi, required=required)
    last = c.read(f"{prefix}_last", cells.text, required=required, max_length=60)
    first = c.read(f"{prefix}_first", cells.text, required=required, max_length=35)
    return npi, last, first


@dataclass(frozen=True, slots=True)
class ClaimHeader:
    """The claim-level part of a claim, read once from the claim's first row."""

    fields: dict[str, Any]
    diagnosis_count: int


def read_claim_header(
    row_cells: Mapping[str, str], today: date, reported: frozenset[str] = frozenset()
) -> tuple[ClaimHeader | None, list]:
    """Validate the claim-level columns; return the header or None and the problems.

    ``reported`` names columns the reader already complained about (skipped here).
    """
    problems: list[tuple[str | None, str]] = []
    c = _CellReader(row_cells, problems, reported)

    claim_id = c.read("claim_id", cells.identifier, required=True, max_length=20, what="a claim id")
    frequency = c.read("frequency", cells.one_of, FREQUENCIES, quote=True) or "1"
    original = c.read(
        "original_claim_number", cells.identifier, max_length=50, what="a payer claim number"
    )
    if frequency in ("7", "8") and not c.filled("original_claim_number"):
        c.complain(
            "original_claim_number",
            f"required for frequency {frequency} (replacement/void): the payer claim number of the original",
        )
    if frequency == "1" and c.filled("original_claim_number"):
        c.complain("original_claim_number", "given, but frequency is 1 (an original claim replaces nothing)")
    lob = c.read("line_of_business", cells.one_of, LINES_OF_BUSINESS, quote=True, required=True)
    payer_id = c.read("payer_id", cells.payer_id, required=True)
    payer_name = c.read("payer_name", cells.text, max_length=60) or OPTUM_BH_PAYER_NAME

    member_id = c.read("subscriber_id", cells.text, required=True, max_length=80)
    sub_last = c.read("subscriber_last", cells.text, required=True, max_length=60)
    sub_first = c.read("subscriber_first", cells.text, required=True, max_length=35)
    sub_dob = c.read("subscriber_dob", cells.past_date, today, required=True, what="date of birth")
    sub_sex = c.read("subscriber_sex", cells.one_of, SEXES, quote=False, required=True)
    sub_address = _address(c, "subscriber")

    relationship = c.read("patient_relationship", cells.one_of, RELATIONSHIPS, quote=True) or "self"
    patient = None
    patient_columns = ("patient_last", "patient_first", "patient_dob", "patient_sex")
    if relationship == "self":
        for column in patient_columns:
            counterpart = column.replace("patient_", "subscriber_")
            if c.filled(column) and row_cells.get(column) != row_cells.get(counterpart):
                c.complain(column, "differs from the subscriber's, but patient_relationship is self")
    else:
        pat_last = c.read("patient_last", cells.text, required=True, max_length=60)
        pat_first = c.read("patient_first", cells.text, required=True, max_length=35)
        pat_dob = c.read("patient_dob", cells.past_date, today, required=True, what="date of birth")
        pat_sex = c.read("patient_sex", cells.one_of, SEXES, quote=False, required=True)
        if pat_last and pat_first and pat_dob and pat_sex:
            patient = Patient(pat_last, pat_first, pat_dob, pat_sex)

    billing_npi = c.read("billing_npi", cells.npi, required=True)
    billing_name = c.read("billing_name", cells.text, required=True, max_length=60)
    billing_tax_id = c.read("billing_tax_id", cells.tax_id, required=True)
    billing_taxonomy = c.read("billing_taxonomy", cells.taxonomy, required=True)
    billing_address = _address(c, "billing", zip4_required=True)

    rendering = None
    rendering_given = any(
        c.filled(col) for col in ("rendering_npi", "rendering_last", "rendering_first", "rendering_taxonomy")
    )
    if rendering_given:
        r_npi, r_last, r_first = _person(c, "rendering", required=True)
        r_taxonomy = c.read("rendering_taxonomy", cells.taxonomy, required=True)
        if r_npi and r_last and r_first and r_taxonomy:
            rendering = Provider(r_npi, r_last, r_first, entity_type="1", taxonomy=r_taxonomy)

    license_ = c.read("rendering_license", cells.one_of, LICENSES, quote=True) or "independent"
    supervising = None
    supervising_given = any(
        c.filled(col) for col in ("supervising_npi", "supervising_last", "supervising_first")
    )
    if license_ == "supervised":
        if not rendering_given:
            c.complain("rendering_npi", "a supervised clinician must be named as the rendering provider")
        s_npi, s_last, s_first = _person(c, "supervising", required=True)
        if s_npi and s_last and s_first:
            supervising = Provider(s_npi, s_last, s_first, entity_type="1")
    elif supervising_given:
        c.complain("supervising_npi", "a supervising provider is given, but rendering_license is not supervised")

    prior_auth = c.read("prior_auth", cells.text, max_length=50)

    diagnoses: list[str] = []
    gap: str | None = None
    for column in DIAGNOSIS_COLUMNS:
        if not c.filled(column):
            gap = gap or column
            continue
        if gap and column != "diagnosis_1":
            c.complain(column, f"is filled but {gap} is empty; diagnosis pointers would shift")
        code = c.read(column, cells.diagnosis, required=column == "diagnosis_1")
        if code is not None:
            if code in diagnoses:
                c.complain(column, f"repeats diagnosis_{diagnoses.index(code) + 1}")
            diagnoses.append(code)
    if not c.filled("diagnosis_1"):
        c.complain("diagnosis_1", MISSING)

    if problems:
        return None, problems
    billing_entity = "1" if rendering is not None and rendering.npi == billing_npi else "2"
    assert member_id and sub_last and sub_first and sub_dob and sub_sex and sub_address
    assert billing_npi and billing_name and billing_tax_id and billing_taxonomy and billing_address
    fields: dict[str, Any] = {
        "claim_id": claim_id,
        "line_of_business": LineOfBusiness(lob),
        "payer_id": payer_id,
        "subscriber": Subscriber(member_id, sub_last, sub_first, sub_dob, sub_sex, sub_address),
        "billing": Provider(
            billing_npi,
            billing_name,
            entity_type=billing_entity,
            taxonomy=billing_taxonomy,
            tax_id=billing_tax_id,
            address=billing_address,
        ),
        "diagnoses": tuple(diagnoses),
        "frequency": Frequency(frequency),
        "original_claim_number": original,
        "payer_name": payer_name,
        "relationship": Relationship(relationship),
        "patient": patient,
        "rendering": rendering,
        "rendering_license": RenderingLicense(license_),
        "supervising": supervising,
        "prior_auth": prior_auth,
    }
    return ClaimHeader(fields, len(diagnoses)), problems


def read_service_line(
    row_cells: Mapping[str, str],
    today: date,
    diagnosis_count: int,
    source: Source,
    reported: frozenset[str] = frozenset(),
) -> tuple[ServiceLine | None, list]:
    problems: list[tuple[str | None, str]] = []
    c = _CellReader(row_cells, problems, reported)
    line_id = c.read("line_id", cells.identifier, required=True, max_length=30, what="a line id")
    service_date = c.read("service_date", cells.iso_date, required=True)
    if service_date is not None and service_date > today:
        c.complain("service_date", f"service date {service_date} is in the future (today is {today})")
    procedure = c.read("procedure_code", cells.procedure, required=True)
    modifiers: list[str] = []
    gap: str | None = None
    for column in MODIFIER_COLUMNS:
        if not c.filled(column):
            gap = gap or column
            continue
        if gap:
            c.complain(column, f"is filled but {gap} is empty")
        code = c.read(column, cells.modifier)
        if code is not None:
            modifiers.append(code)
    units = c.read("units", cells.units, required=True, allow_minus=True)
    charge = c.read("charge", cells.charge, required=True, allow_minus=True)
    place = c.read("place_of_service", cells.place_of_service, required=True)
    pointers = (1,)
    if c.filled("diagnosis_pointers"):
        pointers = c.read("diagnosis_pointers", cells.diagnosis_pointers, diagnosis_count) or (1,)
    if problems:
        return None, problems
    assert line_id and service_date and procedure and units and charge is not None and place
    line = ServiceLine(
        line_id=line_id,
        service_date=service_date,
        procedure_code=procedure,
        charge=charge,
        units=units,
        place_of_service=place,
        modifiers=tuple(modifiers),
        diagnosis_pointers=pointers,
        source=source,
    )
    return line, problems


@dataclass(slots=True)
class _OpenClaim:
    key: str
    first_line: int
    header_values: tuple[str, ...]
    header: ClaimHeader | None
    lines: list[ServiceLine] = field(default_factory=list)
    line_ids: dict[str, int] = field(default_factory=dict)
    refused: bool = False


class ClaimAssembler:
    """Groups canonical rows into claims; only the rows of open claims are held.

    The reader says which row is the last of its claim (it knows, having indexed
    the file first); ``finish`` completes whatever is still open at the end.
    """

    def __init__(self, file: str, today: date, labels: Mapping[str, str] | None = None) -> None:
        self.file = file
        self.today = today
        self.labels = labels or {}
        self._open: dict[str, _OpenClaim] = {}
        self.refused_claim_ids: list[str] = []

    def _error(self, line: int | None, column: str | None, reason: str, key: str | None) -> RowError:
        label = self.labels.get(column, column) if column else None
        return RowError(self.file, line, label, reason, key)

    def add(self, row: CanonicalRow, *, last_of_claim: bool) -> Iterator[Claim | RowError]:
        key = row.claim_key
        if not key:
            for column, reason in row.problems:
                yield self._error(row.line, column, reason, None)
            if row.cells is not None and not row.problems:
                yield self._error(row.line, "claim_id", MISSING, None)
            return
        problems = list(row.problems)
        reported = frozenset(column for column, _ in problems if column)
        claim = self._open.get(key)
        if row.cells is not None:
            values = tuple(map(row.cells.get, CLAIM_COLUMNS))
            if claim is None or not claim.header_values:
                header, header_problems = read_claim_header(row.cells, self.today, reported)
                problems.extend(header_problems)
                if claim is None:
                    claim = self._open[key] = _OpenClaim(key, row.line, values, header)
                else:
                    claim.header_values, claim.header = values, header
            elif values != claim.header_values:
                for column, mine, theirs in zip(CLAIM_COLUMNS, values, claim.header_values, strict=True):
                    if mine != theirs:
                        problems.append(
                            (column, f"differs from line {claim.first_line} of the same claim; claim-level columns must agree")
                        )
            diagnosis_count = (
                claim.header.diagnosis_count
                if claim.header
                else sum(1 for column in DIAGNOSIS_COLUMNS if row.cells.get(column))
            )
            line, line_problems = read_service_line(
                row.cells, self.today, diagnosis_count, Source(self.file, row.line), reported
            )
            problems.extend(line_problems)
            if line is not None:
                if line.line_id in claim.line_ids:
                    problems.append(
                        ("line_id", f"line id {line.line_id} already used on line {claim.line_ids[line.line_id]} of this claim")
                    )
                else:
                    claim.line_ids[line.line_id] = row.line
                    claim.lines.append(line)
        elif claim is None:
            claim = self._open[key] = _OpenClaim(key, row.line, (), None)
        if problems or claim.header is None:
            claim.refused = True
        for column, reason in problems:
            yield self._error(row.line, column, reason, key)
        if last_of_claim:
            yield from self._complete(key)

    def _complete(self, key: str) -> Iterator[Claim | RowError]:
        claim = self._open.pop(key)
        if claim.refused or claim.header is None:
            self.refused_claim_ids.append(key)
            return
        yield Claim(
            **claim.header.fields,
            lines=tuple(claim.lines),
            source=Source(self.file, claim.first_line),
        )

    def finish(self, broken_at: int | None = None) -> Iterator[Claim | RowError]:
        """Complete every claim still open; if the file broke off, refuse them instead."""
        for key in list(self._open):
            if broken_at is not None:
                self._open[key].refused = True
                yield self._error(
                    broken_at, None, "the file could not be read past this line; claim refused as incomplete", key
                )
            yield from self._complete(key)
