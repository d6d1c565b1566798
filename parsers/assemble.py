"""Canonical rows → ``Claim`` records, shared by the CSV and XML readers.

A reader turns its input into ``CanonicalRow``s (each canonical column's text, by
position, plus the problems it met while reading) and tells the ``ClaimAssembler``
when a row is the last one of its claim.  The assembler validates each cell — the
claim-level ones once per claim, from its first row; a later row's claim-level cells
need only equal those — checks that the claim-level columns agree across the rows
of a claim, and yields either the
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
    CLAIM_WIDTH,
    DIAGNOSIS_COLUMNS,
    FACILITY_COLUMNS,
    LINE_COLUMNS,
    MAX_MODIFIERS,
    MODIFIER_COLUMNS,
    PAY_TO_COLUMNS,
    POSITION,
    RENDERING_COLUMNS,
    SUPERVISING_COLUMNS,
    span,
)
from parsers.errors import RowError
from parsers.rowcheck import MEMO_LIMIT, MISSING, ColumnReader, RowReader

T = TypeVar("T")

CLAIM_TOTAL_LIMIT = Decimal(10) ** cells.MAX_CHARGE_DIGITS
"""A claim's lines may add up to 9,999,999,999.99 at most, as one line may (NUMERIC(12,2))."""
_CLAIM_ID_SHAPE = re.compile(r"[A-Za-z0-9-]{1,20}")


@dataclass(slots=True)
class CanonicalRow:
    """One row as a reader saw it.

    ``cells`` is the row's text per canonical column, in ``ALL_COLUMNS`` order ("" for
    a column the file does not have; ``parsers.columns.POSITION`` says where each sits),
    or None when the row cannot be read at all (e.g. wrong cell count); ``claim_key``
    is the claim id cell when it could be found, so that the rest of the claim is
    refused with the row.  ``problems`` are (column, reason) pairs the reader already
    found (undecodable bytes, profile conversions).
    """

    line: int
    cells: list[str] | None
    claim_key: str | None
    problems: list[tuple[str | None, str]] = field(default_factory=list)


def _address(c: RowReader, prefix: str) -> Address | None:
    line1, city, state, zip_code = c.take(c.columns.plan(_ADDRESS[prefix], True))
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


def _billing(c: RowReader) -> Provider | None:
    npi, name, tax_id, taxonomy = c.take(c.columns.plan(_BILLING_OWN, True))
    address = _address(c, "billing")
    if not (npi and name and tax_id and taxonomy and address):
        return None
    # A solo clinician bills under their own Type 1 NPI; a group under its Type 2.
    entity_type = "1" if npi == (c.cells[_RENDERING_NPI] or None) else "2"
    return Provider(npi, name, entity_type=entity_type, taxonomy=taxonomy, tax_id=tax_id, address=address)


def _rendering(c: RowReader) -> Provider | None:
    npi, last, first, taxonomy = c.take(c.columns.plan(RENDERING_COLUMNS, True))
    if npi and last and first and taxonomy:
        return Provider(npi, last, first, entity_type="1", taxonomy=taxonomy)
    return None


def _supervising(c: RowReader) -> Provider | None:
    npi, last, first = c.take(c.columns.plan(SUPERVISING_COLUMNS, True))
    if npi and last and first:
        return Provider(npi, last, first, entity_type="1")
    return None


def _filled_in_order(c: RowReader, columns_at: tuple[tuple[str, int], ...], why: str) -> list[tuple[str, str]]:
    """(column, value) of each filled column of a numbered run (diagnosis_1..12, modifier_1..4), in
    order; a filled column after an empty one is a problem (``why`` says what it would break)."""
    row_cells = c.cells
    filled: list[tuple[str, str]] = []
    gap: str | None = None
    for column, at in columns_at:
        if not row_cells[at]:
            gap = gap or column
            continue
        if gap:
            c.complain(column, f"is filled but {gap} is empty{why}")
        code = c.read(column)
        if code is not None:
            filled.append((column, code))
    return filled


def _diagnoses(c: RowReader) -> tuple[str, ...]:
    """The claim's diagnosis codes; a gap or a repeat is a problem."""
    diagnoses: list[str] = []
    for column, code in _filled_in_order(c, _DIAGNOSIS_AT, "; diagnosis pointers would shift"):
        if code in diagnoses:
            c.complain(column, f"repeats diagnosis_{diagnoses.index(code) + 1}")
        diagnoses.append(code)
    if not c.cells[_DIAGNOSIS_1] and "diagnosis_1" not in c.reported:
        c.complain("diagnosis_1", MISSING)
    return tuple(diagnoses)


class BlockMemo:
    """One block of claim-level columns (a provider, the diagnoses, an address) already
    read, by its raw cells: an export names few providers and diagnosis sets.

    Only blocks read without a problem are kept (a refusal is found and written afresh),
    and a block is read afresh when the reader already complained about one of its
    cells; so a hit is exactly what a fresh read would give.  Bounded, like the memo of
    single cells (``parsers.rowcheck``).
    """

    __slots__ = ("where", "columns", "limit", "_entries")

    def __init__(self, columns: tuple[str, ...], limit: int = MEMO_LIMIT) -> None:
        self.where = span(columns)
        self.columns = frozenset(columns)
        self.limit = limit
        self._entries: dict[tuple[str, ...], Any] = {}

    def read(self, c: RowReader, reader: Callable[[RowReader], T]) -> T:
        if c.reported and not c.reported.isdisjoint(self.columns):
            return reader(c)
        key = tuple(c.cells[self.where])
        found = self._entries.get(key, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[no-any-return]
        before = len(c.problems)
        result = reader(c)
        if len(c.problems) == before and len(self._entries) < self.limit:
            self._entries[key] = result
        return result


class Blocks:
    """The block memos of one file."""

    __slots__ = ("providers", "diagnoses", "pay_to", "facility")

    def __init__(self) -> None:
        self.providers = BlockMemo(_PROVIDER_COLUMNS)
        self.diagnoses = BlockMemo(DIAGNOSIS_COLUMNS)
        self.pay_to = BlockMemo(PAY_TO_COLUMNS)
        self.facility = BlockMemo(FACILITY_COLUMNS)


@dataclass(frozen=True, slots=True)
class ClaimHeader:
    """The claim-level part of a claim, read once from the claim's first row."""

    fields: dict[str, Any]
    diagnosis_count: int


_UNSEEN: Any = object()
# The vocabularies by value: the checks admit only these words.
_FREQUENCIES = {f.value: f for f in Frequency}
_LINES_OF_BUSINESS = {lob.value: lob for lob in LineOfBusiness}
_RELATIONSHIPS = {r.value: r for r in Relationship}
_LICENSES = {lic.value: lic for lic in RenderingLicense}
# The claim's own run of columns, read in one go: its id, payer, subscriber, relationship.
_CLAIM_OWN = ("claim_id", "frequency", "original_claim_number")
_OWN_RUN = CLAIM_COLUMNS[: CLAIM_COLUMNS.index("patient_relationship") + 1]
_REQUIRED_OF_OWN_RUN = tuple(
    column
    for column in _OWN_RUN
    if column not in ("frequency", "original_claim_number", "payer_name", "patient_relationship")
)
_PATIENT = ("patient_last", "patient_first", "patient_dob", "patient_sex")
# patient_* column, its position, and its subscriber_* twin's position.
_PATIENT_AND_SUBSCRIBER_AT = tuple(
    (column, POSITION[column], POSITION[column.replace("patient_", "subscriber_")]) for column in _PATIENT
)
_ADDRESS = {
    prefix: (f"{prefix}_address1", f"{prefix}_city", f"{prefix}_state", f"{prefix}_zip")
    for prefix in ("subscriber", "billing", "pay_to", "facility")
}
_BILLING_OWN = ("billing_npi", "billing_name", "billing_tax_id", "billing_taxonomy")
_DIAGNOSIS_AT = tuple((column, POSITION[column]) for column in DIAGNOSIS_COLUMNS)
_DIAGNOSIS_1 = POSITION["diagnosis_1"]
_ORIGINAL = POSITION["original_claim_number"]
_PRIOR_AUTH = POSITION["prior_auth"]
_PATIENT_CELLS = span(_PATIENT)
_RENDERING_NPI = POSITION["rendering_npi"]
_RENDERING = span(RENDERING_COLUMNS)
_PROVIDER_COLUMNS = (*BILLING_COLUMNS, *RENDERING_COLUMNS, "rendering_license", *SUPERVISING_COLUMNS)
_SUPERVISING = span(SUPERVISING_COLUMNS)
_PAY_TO = span(PAY_TO_COLUMNS)
_FACILITY = span(FACILITY_COLUMNS)
_DIAGNOSES = span(DIAGNOSIS_COLUMNS)


def _frequency_rule(c: RowReader, before: int, frequency: str) -> None:
    """A replacement or void names the original's payer claim number; an original names none.

    Said right after the problems of the claim's own three cells, where a reader of the
    row would look for it (the rest of the run was read in the same go).
    """
    problems = c.problems
    at = before
    while at < len(problems) and problems[at][0] in _CLAIM_OWN:
        at += 1
    if frequency in ("7", "8") and not c.cells[_ORIGINAL]:
        problems.insert(at, (
            "original_claim_number",
            f"required for frequency {frequency} (replacement/void): the payer claim number of the original",
        ))
    if frequency == "1" and c.cells[_ORIGINAL]:
        problems.insert(at, (
            "original_claim_number", "given, but frequency is 1 (an original claim replaces nothing)"
        ))


def _providers(c: RowReader) -> tuple[Provider | None, Provider | None, RenderingLicense, Provider | None]:
    """Rendering, billing, the rendering clinician's license and the supervisor: one block,
    since the rules tie them together (billing's entity type, supervision)."""
    row_cells = c.cells
    rendering = None
    rendering_given = any(row_cells[_RENDERING])
    if rendering_given:
        rendering = _rendering(c)
    billing = _billing(c)
    license_ = c.read("rendering_license") or "independent"
    supervising = None
    supervising_given = any(row_cells[_SUPERVISING])
    if license_ == "supervised":
        if not rendering_given:
            c.complain("rendering_npi", "a supervised clinician must be named as the rendering provider")
        # No supervisor at all is the rule pack's to judge: the fix depends on the plan
        # (Medicare plans do not take supervisory billing at all).
        if supervising_given:
            supervising = _supervising(c)
    elif supervising_given:
        c.complain(
            "supervising_npi", "a supervising provider is given, but rendering_license is not supervised"
        )
    return rendering, billing, _LICENSES[license_], supervising


def read_claim_header(c: RowReader, blocks: Blocks) -> ClaimHeader | None:
    """Validate the claim-level columns of the row ``c`` reads; its problems go to ``c``.

    The header, or None when any claim-level cell was refused (here or by the reader:
    ``c.reported`` names columns the reader already complained about, skipped here).
    """
    columns = c.columns
    row_cells = c.cells
    before = len(c.problems)

    (claim_id, frequency, original, lob, payer_id, payer_name, member_id, sub_last, sub_first, sub_dob, sub_sex,
     line1, city, state, zip_code, relationship) = c.take(columns.plan(_OWN_RUN, _REQUIRED_OF_OWN_RUN))
    frequency = frequency or "1"
    if (frequency == "1") == bool(row_cells[_ORIGINAL]):
        _frequency_rule(c, before, frequency)
    payer_name = payer_name or OPTUM_BH_PAYER_NAME
    sub_address = Address(line1, city, state, zip_code) if line1 and city and state and zip_code else None

    relationship = relationship or "self"
    patient = None
    if relationship == "self":
        if any(row_cells[_PATIENT_CELLS]):
            for column, at, subscriber_at in _PATIENT_AND_SUBSCRIBER_AT:
                if row_cells[at] and row_cells[at] != row_cells[subscriber_at]:
                    c.complain(column, "differs from the subscriber's, but patient_relationship is self")
    else:
        pat_last, pat_first, pat_dob, pat_sex = c.take(columns.plan(_PATIENT, True))
        if pat_last and pat_first and pat_dob and pat_sex:
            patient = Patient(pat_last, pat_first, pat_dob, pat_sex)

    rendering, billing, license_, supervising = blocks.providers.read(c, _providers)
    prior_auth = c.read("prior_auth") if row_cells[_PRIOR_AUTH] else None
    diagnoses = blocks.diagnoses.read(c, _diagnoses)

    pay_to = None
    if any(row_cells[_PAY_TO]):
        pay_to = blocks.pay_to.read(c, lambda c: _address(c, "pay_to"))
    facility = None
    if any(row_cells[_FACILITY]):
        facility = blocks.facility.read(c, _service_facility)

    if len(c.problems) > before or (c.reported and not c.reported.isdisjoint(CLAIM_COLUMNS)):
        return None
    assert member_id and sub_last and sub_first and sub_dob and sub_sex and sub_address and billing and lob
    fields: dict[str, Any] = {
        "claim_id": claim_id,
        "line_of_business": _LINES_OF_BUSINESS[lob],
        "payer_id": payer_id,
        "subscriber": Subscriber(member_id, sub_last, sub_first, sub_dob, sub_sex, sub_address),
        "billing": billing,
        "diagnoses": diagnoses,
        "frequency": _FREQUENCIES[frequency],
        "original_claim_number": original,
        "payer_name": payer_name,
        "relationship": _RELATIONSHIPS[relationship],
        "patient": patient,
        "rendering": rendering,
        "rendering_license": license_,
        "supervising": supervising,
        "prior_auth": prior_auth,
        "pay_to": pay_to,
        "service_facility": facility,
    }
    return ClaimHeader(fields, len(diagnoses))


_LINE_HEAD = ("line_id", "service_date", "procedure_code")  # a service date in the future is refused
_LINE_AMOUNTS = ("units", "charge", "place_of_service")
# A line's cells, read in one go, when its first n modifier cells are the filled ones.
_LINE_RUNS = tuple(_LINE_HEAD + MODIFIER_COLUMNS[:filled] + _LINE_AMOUNTS for filled in range(MAX_MODIFIERS + 1))
_MODIFIERS = span(MODIFIER_COLUMNS)
_MODIFIER_AT = tuple((column, POSITION[column]) for column in MODIFIER_COLUMNS)
_POINTERS = POSITION["diagnosis_pointers"]


def _modifiers(c: RowReader) -> tuple[str, ...]:
    """The line's modifiers; a gap is a problem."""
    return tuple(code for _, code in _filled_in_order(c, _MODIFIER_AT, ""))


def read_service_line(c: RowReader, diagnosis_count: int, source: Source) -> ServiceLine | None:
    """Validate the line-level columns of the row ``c`` reads; its problems go to ``c``.

    The service line, or None when any line-level cell was refused.
    """
    columns = c.columns
    row_cells = c.cells
    before = len(c.problems)
    pointers_given = bool(row_cells[_POINTERS])
    written = row_cells[_MODIFIERS]
    filled = written.index("") if "" in written else MAX_MODIFIERS
    if not any(written[filled:]):  # the modifiers, if any, fill the first cells: one go
        run = _LINE_RUNS[filled]
        read = c.take(columns.pointer_plan(diagnosis_count, run) if pointers_given else columns.plan(run, True))
        line_id, service_date, procedure = read[:3]
        modifiers = tuple(read[3 : 3 + filled])
        units, charge, place = read[3 + filled : 6 + filled]
        pointers = read[-1] if pointers_given else (1,)
    else:
        line_id, service_date, procedure = c.take(columns.plan(_LINE_HEAD, True))
        modifiers = _modifiers(c)
        units, charge, place, pointers = c.take(columns.pointer_plan(diagnosis_count, _LINE_AMOUNTS))
        if not pointers_given:
            pointers = (1,)
    if len(c.problems) > before or (c.reported and not c.reported.isdisjoint(LINE_COLUMNS)):
        return None
    assert line_id and service_date and procedure and units and charge is not None and place and pointers
    return ServiceLine(
        line_id=line_id,
        service_date=service_date,
        procedure_code=procedure,
        charge=charge,
        units=units,
        place_of_service=place,
        modifiers=modifiers,
        diagnosis_pointers=pointers,
        source=source,
    )


@dataclass(slots=True)
class _OpenClaim:
    key: str
    first_line: int
    header_values: list[str]  # the raw claim-level cells of its first readable row
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
        self._blocks = Blocks()
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
            c = RowReader(self._columns, row_cells, problems, reported)
            values = row_cells[:CLAIM_WIDTH]
            if claim is None or not claim.header_values:
                header = read_claim_header(c, self._blocks)
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
                claim.header.diagnosis_count if claim.header else sum(1 for value in row_cells[_DIAGNOSES] if value)
            )
            line = read_service_line(c, diagnosis_count, Source(self.file, row.line))
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
            claim = self._open[key] = _OpenClaim(key, row.line, [], None)
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
