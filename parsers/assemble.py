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
from functools import partial
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
from parsers.cells import CellError, unsafe_text_reason
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
from parsers.fastpath import FastRows

T = TypeVar("T")

FREQUENCIES = tuple(f.value for f in Frequency)
LINES_OF_BUSINESS = tuple(lob.value for lob in LineOfBusiness)
RELATIONSHIPS = tuple(r.value for r in Relationship)
LICENSES = tuple(lic.value for lic in RenderingLicense)
SEXES = ("M", "F", "U")

MISSING = "required value is missing"
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


_SUSPECT_CHARACTERS = re.compile(r"[~*:^\x00-\x1f\x7f]")


def row_is_clean(row_cells: Mapping[str, str]) -> bool:
    """One scan of the whole row: no separator, control character or formula start.

    A false alarm (a comma followed by '=' inside a cell) only sends the row
    through the per-cell checks of ``unsafe_text_reason``.
    """
    joined = "," + ",".join(row_cells.values())
    return not (
        _SUSPECT_CHARACTERS.search(joined)
        or ",=" in joined
        or ",+" in joined
        or ",-" in joined
        or ",@" in joined
    )


class _CellReader:
    """Reads cells of one row, collecting (column, reason) problems instead of raising."""

    __slots__ = ("cells", "problems", "reported", "clean")

    def __init__(
        self,
        row_cells: Mapping[str, str],
        problems: list[tuple[str | None, str]],
        reported: frozenset[str] = frozenset(),
        clean: bool | None = None,
    ) -> None:
        self.cells = row_cells
        self.problems = problems
        self.reported = reported
        self.clean = row_is_clean(row_cells) if clean is None else clean

    def read(
        self, column: str, convert: Callable[[str], T], required: bool = False, allow_minus: bool = False
    ) -> T | None:
        value = self.cells.get(column)
        if not value:
            if required and column not in self.reported:
                self.problems.append((column, MISSING))
            return None
        if self.reported and column in self.reported:
            return None
        if not self.clean:
            reason = unsafe_text_reason(value, allow_minus=allow_minus)
            if reason:
                self.problems.append((column, reason))
                return None
        try:
            return convert(value)
        except CellError as error:
            self.problems.append((column, error.reason))
            return None

    def complain(self, column: str, reason: str) -> None:
        self.problems.append((column, reason))


def _keep(value: str) -> str:
    return value


_TEXT = {n: cells.text_limit(n) for n in (30, 35, 50, 55, 60, 80)}
_CLAIM_ID = partial(cells.identifier, max_length=20, what="a claim id")
_LINE_ID = partial(cells.identifier, max_length=30, what="a line id")
_PAYER_CLAIM_NUMBER = partial(cells.identifier, max_length=50, what="a payer claim number")
_FREQUENCY = partial(cells.one_of, vocabulary=FREQUENCIES, quote=True)
_LOB = partial(cells.one_of, vocabulary=LINES_OF_BUSINESS, quote=True)
_RELATIONSHIP = partial(cells.one_of, vocabulary=RELATIONSHIPS, quote=True)
_LICENSE = partial(cells.one_of, vocabulary=LICENSES, quote=True)
_SEX = partial(cells.one_of, vocabulary=SEXES, quote=False)


def _address(c: _CellReader, prefix: str, zip_check: Callable[[str], str]) -> Address | None:
    line1 = c.read(f"{prefix}_address1", _TEXT[55], True)
    city = c.read(f"{prefix}_city", _TEXT[30], True)
    state = c.read(f"{prefix}_state", cells.state, True)
    zip_code = c.read(f"{prefix}_zip", zip_check, True)
    if line1 and city and state and zip_code:
        return Address(line1, city, state, zip_code)
    return None


def _service_facility(c: _CellReader) -> ServiceFacility | None:
    """Loop 2310C: a name and a street address with ZIP+4 (the guide's rule for 2310C N403)."""
    name = c.read("facility_name", _TEXT[60], True)
    npi = c.read("facility_npi", cells.npi)
    address = _address(c, "facility", cells.facility_zip)
    if name and address:
        return ServiceFacility(name, address, npi)
    return None


def _person(c: _CellReader, prefix: str) -> tuple[str | None, str | None, str | None]:
    npi = c.read(f"{prefix}_npi", cells.npi, True)
    last = c.read(f"{prefix}_last", _TEXT[60], True)
    first = c.read(f"{prefix}_first", _TEXT[35], True)
    return npi, last, first


def _billing(c: _CellReader, rendering_npi: str | None) -> Provider | None:
    npi = c.read("billing_npi", cells.npi, True)
    name = c.read("billing_name", _TEXT[60], True)
    tax_id = c.read("billing_tax_id", cells.tax_id, True)
    taxonomy = c.read("billing_taxonomy", cells.taxonomy, True)
    address = _address(c, "billing", cells.billing_zip)
    if not (npi and name and tax_id and taxonomy and address):
        return None
    # A solo clinician bills under their own Type 1 NPI; a group under its Type 2.
    entity_type = "1" if npi == rendering_npi else "2"
    return Provider(npi, name, entity_type=entity_type, taxonomy=taxonomy, tax_id=tax_id, address=address)


def _rendering(c: _CellReader) -> Provider | None:
    npi, last, first = _person(c, "rendering")
    taxonomy = c.read("rendering_taxonomy", cells.taxonomy, True)
    if npi and last and first and taxonomy:
        return Provider(npi, last, first, entity_type="1", taxonomy=taxonomy)
    return None


def _supervising(c: _CellReader) -> Provider | None:
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
        self, c: _CellReader, columns: tuple[str, ...], reader: Callable[[], Provider | None]
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


def read_claim_header(
    row_cells: Mapping[str, str],
    today: date,
    reported: frozenset[str] = frozenset(),
    *,
    clean: bool | None = None,
    providers: ProviderCache | None = None,
) -> tuple[ClaimHeader | None, list]:
    """Validate the claim-level columns; return the header or None and the problems.

    ``reported`` names columns the reader already complained about (skipped here).
    """
    problems: list[tuple[str | None, str]] = []
    c = _CellReader(row_cells, problems, reported, clean)
    get = row_cells.get
    providers = providers or ProviderCache()
    date_of_birth = partial(cells.past_date, today=today, what="date of birth")

    claim_id = c.read("claim_id", _CLAIM_ID, True)
    frequency = c.read("frequency", _FREQUENCY) or "1"
    original = c.read("original_claim_number", _PAYER_CLAIM_NUMBER)
    if frequency in ("7", "8") and not get("original_claim_number"):
        c.complain(
            "original_claim_number",
            f"required for frequency {frequency} (replacement/void): the payer claim number of the original",
        )
    if frequency == "1" and get("original_claim_number"):
        c.complain("original_claim_number", "given, but frequency is 1 (an original claim replaces nothing)")
    lob = c.read("line_of_business", _LOB, True)
    payer_id = c.read("payer_id", cells.payer_id, True)
    payer_name = c.read("payer_name", _TEXT[60]) or OPTUM_BH_PAYER_NAME

    member_id = c.read("subscriber_id", _TEXT[80], True)
    sub_last = c.read("subscriber_last", _TEXT[60], True)
    sub_first = c.read("subscriber_first", _TEXT[35], True)
    sub_dob = c.read("subscriber_dob", date_of_birth, True)
    sub_sex = c.read("subscriber_sex", _SEX, True)
    sub_address = _address(c, "subscriber", cells.zip_code)

    relationship = c.read("patient_relationship", _RELATIONSHIP) or "self"
    patient = None
    if relationship == "self":
        for column in ("patient_last", "patient_first", "patient_dob", "patient_sex"):
            if get(column) and get(column) != get(column.replace("patient_", "subscriber_")):
                c.complain(column, "differs from the subscriber's, but patient_relationship is self")
    else:
        pat_last = c.read("patient_last", _TEXT[60], True)
        pat_first = c.read("patient_first", _TEXT[35], True)
        pat_dob = c.read("patient_dob", date_of_birth, True)
        pat_sex = c.read("patient_sex", _SEX, True)
        if pat_last and pat_first and pat_dob and pat_sex:
            patient = Patient(pat_last, pat_first, pat_dob, pat_sex)

    rendering = None
    rendering_given = any(get(column) for column in RENDERING_COLUMNS)
    if rendering_given:
        rendering = providers.read(c, RENDERING_COLUMNS, lambda: _rendering(c))
    billing = providers.read(
        c, (*BILLING_COLUMNS, "rendering_npi"), lambda: _billing(c, get("rendering_npi") or None)
    )

    license_ = c.read("rendering_license", _LICENSE) or "independent"
    supervising = None
    if license_ == "supervised":
        if not rendering_given:
            c.complain("rendering_npi", "a supervised clinician must be named as the rendering provider")
        # No supervisor at all is the rule pack's to judge: the fix depends on the plan
        # (Medicare plans do not take supervisory billing at all).
        if any(get(column) for column in SUPERVISING_COLUMNS):
            supervising = providers.read(c, SUPERVISING_COLUMNS, lambda: _supervising(c))
    elif any(get(column) for column in SUPERVISING_COLUMNS):
        c.complain(
            "supervising_npi", "a supervising provider is given, but rendering_license is not supervised"
        )

    prior_auth = c.read("prior_auth", _TEXT[50])

    diagnoses: list[str] = []
    gap: str | None = None
    for column in DIAGNOSIS_COLUMNS:
        if not get(column):
            gap = gap or column
            continue
        if gap:
            c.complain(column, f"is filled but {gap} is empty; diagnosis pointers would shift")
        code = c.read(column, cells.diagnosis)
        if code is not None:
            if code in diagnoses:
                c.complain(column, f"repeats diagnosis_{diagnoses.index(code) + 1}")
            diagnoses.append(code)
    if not get("diagnosis_1") and "diagnosis_1" not in reported:
        c.complain("diagnosis_1", MISSING)

    pay_to = None
    if any(get(column) for column in PAY_TO_COLUMNS):
        pay_to = _address(c, "pay_to", cells.zip_code)
    facility = None
    if any(get(column) for column in FACILITY_COLUMNS):
        facility = _service_facility(c)

    if problems or not reported.isdisjoint(CLAIM_COLUMNS):
        return None, problems
    assert member_id and sub_last and sub_first and sub_dob and sub_sex and sub_address and billing and lob
    fields: dict[str, Any] = {
        "claim_id": claim_id,
        "line_of_business": LineOfBusiness(lob),
        "payer_id": payer_id,
        "subscriber": Subscriber(member_id, sub_last, sub_first, sub_dob, sub_sex, sub_address),
        "billing": billing,
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
        "pay_to": pay_to,
        "service_facility": facility,
    }
    return ClaimHeader(fields, len(diagnoses)), problems


def read_service_line(
    row_cells: Mapping[str, str],
    today: date,
    diagnosis_count: int,
    source: Source,
    reported: frozenset[str] = frozenset(),
    *,
    clean: bool | None = None,
) -> tuple[ServiceLine | None, list]:
    problems: list[tuple[str | None, str]] = []
    c = _CellReader(row_cells, problems, reported, clean)
    get = row_cells.get
    line_id = c.read("line_id", _LINE_ID, True)
    service_date = c.read("service_date", cells.iso_date, True)
    if service_date is not None and service_date > today:
        c.complain("service_date", f"service date is in the future (today is {today})")
    procedure = c.read("procedure_code", cells.procedure, True)
    modifiers: list[str] = []
    if get("modifier_1") or get("modifier_2") or get("modifier_3") or get("modifier_4"):
        gap: str | None = None
        for column in MODIFIER_COLUMNS:
            if not get(column):
                gap = gap or column
                continue
            if gap:
                c.complain(column, f"is filled but {gap} is empty")
            code = c.read(column, cells.modifier)
            if code is not None:
                modifiers.append(code)
    units = c.read("units", cells.units, True, allow_minus=True)
    charge = c.read("charge", cells.charge, True, allow_minus=True)
    place = c.read("place_of_service", cells.place_of_service, True)
    pointers: tuple[int, ...] | None = (1,)
    if get("diagnosis_pointers"):
        pointers = c.read(
            "diagnosis_pointers", partial(cells.diagnosis_pointers, diagnosis_count=diagnosis_count)
        )
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
        self._fast = FastRows(file, today)
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
        if key and row.cells is not None and not row.problems:
            get = row.cells.get
            values = tuple(map(get, CLAIM_COLUMNS))
            texts = tuple(value or "" for value in values)
            line_cells = tuple(get(column) or "" for column in LINE_COLUMNS)
            out = self.add_clean(row.line, key, texts, values, line_cells, last_of_claim=last_of_claim)
            if out is not None:
                return out
        return self.add_per_cell(row, last_of_claim=last_of_claim)

    def add_clean(
        self,
        line: int,
        key: str,
        claim_cells: tuple[str, ...],
        claim_values: tuple[str | None, ...],
        line_cells: tuple[str, ...],
        *,
        last_of_claim: bool,
    ) -> list[Claim | RowError] | None:
        """``add`` through the fast path; None, with nothing changed, for a row it turns down.

        ``claim_cells`` and ``line_cells`` are the row's text in ``CLAIM_COLUMNS`` and
        ``LINE_COLUMNS`` order ("" for an absent column); ``claim_values`` is the same
        claim part with None for an absent column, as ``add_per_cell`` keeps it.
        """
        claim = self._open.get(key)
        if claim is None:
            if claim_cells[0] != key:
                return None
            read = self._fast.claim_header(claim_cells)
            if read is None:
                return None
            header = ClaimHeader(*read)
        else:
            if claim.header is None or claim_values != claim.header_values:
                return None
            header = claim.header
        service_line = self._fast.service_line(line_cells, header.diagnosis_count, line)
        if service_line is None:
            return None
        if claim is None:
            if self._by_case.setdefault(key.upper(), (key, line))[0] != key:  # ``_case_twin``, inline
                return None
            claim = self._open[key] = _OpenClaim(key, line, claim_values, header)
        elif service_line.line_id in claim.line_ids:
            return None
        claim.line_ids[service_line.line_id] = line
        claim.lines.append(service_line)
        if last_of_claim:
            finished = self._complete(key)
            return [] if finished is None else [finished]
        return []

    def add_per_cell(self, row: CanonicalRow, *, last_of_claim: bool) -> list[Claim | RowError]:
        """``add`` through the per-cell checks: the reference behaviour, and every error's author."""
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
            clean = row_is_clean(row_cells)
            values = tuple(map(row_cells.get, CLAIM_COLUMNS))
            if claim is None or not claim.header_values:
                header, header_problems = read_claim_header(
                    row_cells, self.today, reported, clean=clean, providers=self._providers
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
                row_cells, self.today, diagnosis_count, Source(self.file, row.line), reported, clean=clean
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
