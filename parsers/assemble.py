"""Canonical rows → ``Claim`` records, shared by the CSV and XML readers.

A reader turns its input into ``CanonicalRow``s (canonical column → text, plus the
problems it met while reading) and tells the ``ClaimAssembler`` when a row is the
last one of its claim.  The assembler validates each cell, checks that the
claim-level columns agree across the rows of a claim, and yields either the
finished ``Claim`` or — if any of its rows was refused — nothing for that claim
but its ``RowError``s: a refused row refuses its whole claim, never part of it.

Two claims whose ids differ only in case are one claim to a payer (CLP01 comes back
upper-cased): the first one in the file is read, the other refused.  A claim whose
lines add up to more than a claim may bill (what the ledger's NUMERIC(12,2) holds)
is refused at its first row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
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
    ServiceFacility,
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
    MODIFIER_COLUMNS,
    PAY_TO_COLUMNS,
    RENDERING_COLUMNS,
    SUPERVISING_COLUMNS,
)
from parsers.errors import RowError
from parsers.rowcheck import MISSING, ColumnReader, RowReader

T = TypeVar("T")

CLAIM_TOTAL_LIMIT = Decimal(10) ** cells.MAX_CHARGE_DIGITS
"""A claim's lines may add up to 9,999,999,999.99 at most, as one line may (NUMERIC(12,2))."""
_CLAIM_ID_SHAPE = re.compile(r"[A-Za-z0-9-]{1,20}")


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


def _address(c: RowReader, prefix: str) -> Address | None:
    line1 = c.read(f"{prefix}_address1", True)
    city = c.read(f"{prefix}_city", True)
    state = c.read(f"{prefix}_state", True)
    zip_code = c.read(f"{prefix}_zip", True)
    if line1 and city and state and zip_code:
        return Address(line1, city, state, zip_code)
    return None


def _service_facility(c: RowReader) -> ServiceFacility | None:
    """Loop 2310C: a name and a street address with ZIP+4 (the guide's rule for 2310C N403)."""
    name = c.read("facility_name", True)
    npi = c.read("facility_npi")
    address = _address(c, "facility")
    if name and address:
        return ServiceFacility(name, address, npi)
    return None


def _person(c: RowReader, prefix: str) -> tuple[str | None, str | None, str | None]:
    npi = c.read(f"{prefix}_npi", True)
    last = c.read(f"{prefix}_last", True)
    first = c.read(f"{prefix}_first", True)
    return npi, last, first


def _billing(c: RowReader, rendering_npi: str | None) -> Provider | None:
    npi = c.read("billing_npi", True)
    name = c.read("billing_name", True)
    tax_id = c.read("billing_tax_id", True)
    taxonomy = c.read("billing_taxonomy", True)
    address = _address(c, "billing")
    if not (npi and name and tax_id and taxonomy and address):
        return None
    # A solo clinician bills under their own Type 1 NPI; a group under its Type 2.
    entity_type = "1" if npi == rendering_npi else "2"
    return Provider(npi, name, entity_type=entity_type, taxonomy=taxonomy, tax_id=tax_id, address=address)


def _rendering(c: RowReader) -> Provider | None:
    npi, last, first = _person(c, "rendering")
    taxonomy = c.read("rendering_taxonomy", True)
    if npi and last and first and taxonomy:
        return Provider(npi, last, first, entity_type="1", taxonomy=taxonomy)
    return None


def _supervising(c: RowReader) -> Provider | None:
    npi, last, first = _person(c, "supervising")
    if npi and last and first:
        return Provider(npi, last, first, entity_type="1")
    return None


class ProviderCache:
    """Providers already read, by their raw cells: an export names few of them.

    Only blocks read without a problem are cached, so a hit is exactly what a
    fresh read would give.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._entries: dict[tuple, Provider] = {}

    def read(
        self, c: RowReader, columns: tuple[str, ...], reader: Callable[[], Provider | None]
    ) -> Provider | None:
        key = (columns, *map(c.cells.get, columns))
        if c.reported and not c.reported.isdisjoint(columns):
            return reader()
        found = self._entries.get(key)
        if found is not None:
            return found
        before = len(c.problems)
        provider = reader()
        if provider is not None and len(c.problems) == before and len(self._entries) < self.limit:
            self._entries[key] = provider
        return provider


@dataclass(frozen=True, slots=True)
class ClaimHeader:
    """The claim-level part of a claim, read once from the claim's first row."""

    fields: dict[str, Any]
    diagnosis_count: int


# The vocabularies by value: the checks admit only these words.
_FREQUENCIES = {f.value: f for f in Frequency}
_LINES_OF_BUSINESS = {lob.value: lob for lob in LineOfBusiness}
_RELATIONSHIPS = {r.value: r for r in Relationship}
_LICENSES = {lic.value: lic for lic in RenderingLicense}
_CLAIM_OWN = ("claim_id", "frequency", "original_claim_number")
_PAYER_AND_SUBSCRIBER = (
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
)
_REQUIRED_OF_PAYER_AND_SUBSCRIBER = tuple(column for column in _PAYER_AND_SUBSCRIBER if column != "payer_name")
_PATIENT = ("patient_last", "patient_first", "patient_dob", "patient_sex")


def read_claim_header(
    columns: ColumnReader,
    row_cells: Mapping[str, str],
    reported: frozenset[str] = frozenset(),
    *,
    providers: ProviderCache | None = None,
) -> tuple[ClaimHeader | None, list]:
    """Validate the claim-level columns; return the header or None and the problems.

    ``reported`` names columns the reader already complained about (skipped here).
    """
    problems: list[tuple[str | None, str]] = []
    c = columns.row(row_cells, problems, reported)
    get = row_cells.get
    providers = providers or ProviderCache()

    claim_id, frequency, original = c.take(columns.plan(_CLAIM_OWN, ("claim_id",)))
    frequency = frequency or "1"
    if frequency in ("7", "8") and not get("original_claim_number"):
        c.complain(
            "original_claim_number",
            f"required for frequency {frequency} (replacement/void): the payer claim number of the original",
        )
    if frequency == "1" and get("original_claim_number"):
        c.complain("original_claim_number", "given, but frequency is 1 (an original claim replaces nothing)")
    (lob, payer_id, payer_name, member_id, sub_last, sub_first, sub_dob, sub_sex, line1, city, state,
     zip_code) = c.take(columns.plan(_PAYER_AND_SUBSCRIBER, _REQUIRED_OF_PAYER_AND_SUBSCRIBER))
    payer_name = payer_name or OPTUM_BH_PAYER_NAME
    sub_address = Address(line1, city, state, zip_code) if line1 and city and state and zip_code else None

    relationship = c.read("patient_relationship") or "self"
    patient = None
    if relationship == "self":
        for column in ("patient_last", "patient_first", "patient_dob", "patient_sex"):
            if get(column) and get(column) != get(column.replace("patient_", "subscriber_")):
                c.complain(column, "differs from the subscriber's, but patient_relationship is self")
    else:
        pat_last, pat_first, pat_dob, pat_sex = c.take(columns.plan(_PATIENT, True))
        if pat_last and pat_first and pat_dob and pat_sex:
            patient = Patient(pat_last, pat_first, pat_dob, pat_sex)

    rendering = None
    rendering_given = any(map(get, RENDERING_COLUMNS))
    if rendering_given:
        rendering = providers.read(c, RENDERING_COLUMNS, lambda: _rendering(c))
    billing = providers.read(
        c, (*BILLING_COLUMNS, "rendering_npi"), lambda: _billing(c, get("rendering_npi") or None)
    )

    license_ = c.read("rendering_license") or "independent"
    supervising = None
    if license_ == "supervised":
        if not rendering_given:
            c.complain("rendering_npi", "a supervised clinician must be named as the rendering provider")
        # No supervisor at all is the rule pack's to judge: the fix depends on the plan
        # (Medicare plans do not take supervisory billing at all).
        if any(map(get, SUPERVISING_COLUMNS)):
            supervising = providers.read(c, SUPERVISING_COLUMNS, lambda: _supervising(c))
    elif any(map(get, SUPERVISING_COLUMNS)):
        c.complain(
            "supervising_npi", "a supervising provider is given, but rendering_license is not supervised"
        )

    prior_auth = c.read("prior_auth")

    diagnoses: list[str] = []
    gap: str | None = None
    for column in DIAGNOSIS_COLUMNS:
        if not get(column):
            gap = gap or column
            continue
        if gap:
            c.complain(column, f"is filled but {gap} is empty; diagnosis pointers would shift")
        code = c.read(column)
        if code is not None:
            if code in diagnoses:
                c.complain(column, f"repeats diagnosis_{diagnoses.index(code) + 1}")
            diagnoses.append(code)
    if not get("diagnosis_1") and "diagnosis_1" not in reported:
        c.complain("diagnosis_1", MISSING)

    pay_to = None
    if any(map(get, PAY_TO_COLUMNS)):
        pay_to = _address(c, "pay_to")
    facility = None
    if any(map(get, FACILITY_COLUMNS)):
        facility = _service_facility(c)

    if problems or not reported.isdisjoint(CLAIM_COLUMNS):
        return None, problems
    assert member_id and sub_last and sub_first and sub_dob and sub_sex and sub_address and billing and lob
    fields: dict[str, Any] = {
        "claim_id": claim_id,
        "line_of_business": _LINES_OF_BUSINESS[lob],
        "payer_id": payer_id,
        "subscriber": Subscriber(member_id, sub_last, sub_first, sub_dob, sub_sex, sub_address),
        "billing": billing,
        "diagnoses": tuple(diagnoses),
        "frequency": _FREQUENCIES[frequency],
        "original_claim_number": original,
        "payer_name": payer_name,
        "relationship": _RELATIONSHIPS[relationship],
        "patient": patient,
        "rendering": rendering,
        "rendering_license": _LICENSES[license_],
        "supervising": supervising,
        "prior_auth": prior_auth,
        "pay_to": pay_to,
        "service_facility": facility,
    }
    return ClaimHeader(fields, len(diagnoses)), problems


_LINE_HEAD = ("line_id", "service_date", "procedure_code")  # a service date in the future is refused
_LINE_AMOUNTS = ("units", "charge", "place_of_service")


def read_service_line(
    columns: ColumnReader,
    row_cells: Mapping[str, str],
    diagnosis_count: int,
    source: Source,
    reported: frozenset[str] = frozenset(),
) -> tuple[ServiceLine | None, list]:
    """Validate the line-level columns; return the service line or None and the problems."""
    problems: list[tuple[str | None, str]] = []
    c = columns.row(row_cells, problems, reported)
    get = row_cells.get
    line_id, service_date, procedure = c.take(columns.plan(_LINE_HEAD, True))
    modifiers: list[str] = []
    if get("modifier_1") or get("modifier_2") or get("modifier_3") or get("modifier_4"):
        gap: str | None = None
        for column in MODIFIER_COLUMNS:
            if not get(column):
                gap = gap or column
                continue
            if gap:
                c.complain(column, f"is filled but {gap} is empty")
            code = c.read(column)
            if code is not None:
                modifiers.append(code)
    units, charge, place = c.take(columns.plan(_LINE_AMOUNTS, True))
    pointers: tuple[int, ...] | None = (1,)
    if get("diagnosis_pointers"):
        (pointers,) = c.take(columns.pointer_plan(diagnosis_count))
    if problems or not reported.isdisjoint(LINE_COLUMNS):
        return None, problems
    assert line_id and service_date and procedure and units and charge is not None and place and pointers
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
    header_values: tuple[str | None, ...]
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
        self._providers = ProviderCache()
        self._columns = ColumnReader(today)
        self.refused_claim_ids: list[str] = []
        self._by_case: dict[str, tuple[str, int]] = {}  # upper-cased claim id -> (claim id, first line)

    def _case_twin(self, key: str, line: int) -> str | None:
        """Why the claim ``key`` opening at ``line`` is refused as a case variant of an earlier one."""
        first = self._by_case.setdefault(key.upper(), (key, line))
        if first[0] == key:
            return None
        return (f"claim id {key} differs only in case from claim {first[0]} (line {first[1]}); payers "
                "upper-case claim ids, so the two could not be told apart")

    def _error(self, line: int | None, column: str | None, reason: str, key: str | None) -> RowError:
        label = self.labels.get(column, column) if column else None
        claim_id = key if key and _CLAIM_ID_SHAPE.fullmatch(key) else None
        return RowError(self.file, line, label, reason, claim_id)

    def add(self, row: CanonicalRow, *, last_of_claim: bool) -> list[Claim | RowError]:
        """The items this row decides: its errors, and its claim if it was the last row."""
        key = row.claim_key
        if not key:
            out: list[Claim | RowError] = [self._error(row.line, col, why, None) for col, why in row.problems]
            if row.cells is not None and not row.problems:
                out.append(self._error(row.line, "claim_id", MISSING, None))
            return out
        problems = list(row.problems)
        reported = frozenset(column for column, _ in problems if column) if problems else frozenset()
        claim = self._open.get(key)
        if claim is None and (twin := self._case_twin(key, row.line)) is not None:
            problems.append(("claim_id", twin))
        if row.cells is not None:
            row_cells = row.cells
            values = tuple(map(row_cells.get, CLAIM_COLUMNS))
            if claim is None or not claim.header_values:
                header, header_problems = read_claim_header(
                    self._columns, row_cells, reported, providers=self._providers
                )
                problems.extend(header_problems)
                if claim is None:
                    claim = self._open[key] = _OpenClaim(key, row.line, values, header)
                else:
                    claim.header_values, claim.header = values, header
            elif values != claim.header_values:
                for column, mine, theirs in zip(CLAIM_COLUMNS, values, claim.header_values, strict=True):
                    if mine != theirs:
                        problems.append(
                            (
                                column,
                                f"differs from line {claim.first_line} of the same claim; claim-level columns must agree",
                            )
                        )
            diagnosis_count = (
                claim.header.diagnosis_count
                if claim.header
                else sum(1 for column in DIAGNOSIS_COLUMNS if row_cells.get(column))
            )
            line, line_problems = read_service_line(
                self._columns, row_cells, diagnosis_count, Source(self.file, row.line), reported
            )
            if line_problems:
                problems.extend(line_problems)
            if line is not None:
                if line.line_id in claim.line_ids:
                    problems.append(
                        (
                            "line_id",
                            f"line id already used on line {claim.line_ids[line.line_id]} of this claim",
                        )
                    )
                else:
                    claim.line_ids[line.line_id] = row.line
                    claim.lines.append(line)
        elif claim is None:
            claim = self._open[key] = _OpenClaim(key, row.line, (), None)
        out = []
        if problems or claim.header is None:
            claim.refused = True
            out = [self._error(row.line, column, reason, key) for column, reason in problems]
        if last_of_claim:
            finished = self._complete(key)
            if finished is not None:
                out.append(finished)
        return out

    def _complete(self, key: str) -> Claim | RowError | None:
        """The claim, or the error that refuses it whole (its total), or None (its rows were refused)."""
        claim = self._open.pop(key)
        if claim.refused or claim.header is None:
            self.refused_claim_ids.append(key)
            return None
        lines = claim.lines
        if len(lines) > 1:  # one line is bounded by its own cell check
            total = sum([line.charge for line in lines], Decimal(0))
            if total >= CLAIM_TOTAL_LIMIT:
                self.refused_claim_ids.append(key)
                return self._error(claim.first_line, "charge", f"the claim's lines add up to {total}, more than "
                                   f"the {CLAIM_TOTAL_LIMIT - cells.CENT} a claim may bill", key)
        return Claim(
            **claim.header.fields,
            lines=tuple(claim.lines),
            source=Source(self.file, claim.first_line),
        )

    def finish(self, broken_at: int | None = None) -> list[Claim | RowError]:
        """Complete every claim still open; if the file broke off, refuse them instead."""
        return [item for _first_line, item in self.finish_tagged(broken_at)]

    def finish_tagged(self, broken_at: int | None = None) -> list[tuple[int, Claim | RowError]]:
        """``finish``, each item with the first line of its claim (the order it comes in)."""
        out: list[tuple[int, Claim | RowError]] = []
        for key in list(self._open):
            first_line = self._open[key].first_line
            if broken_at is not None:
                self._open[key].refused = True
                out.append((
                    first_line,
                    self._error(
                        broken_at,
                        None,
                        "the file could not be read past this line; claim refused as incomplete",
                        key,
                    ),
                ))
            finished = self._complete(key)
            if finished is not None:
                out.append((first_line, finished))
        return out
