"""The one row validator: each canonical column's cell check, chosen once per file.

``ColumnReader`` is built once per export (it knows the file's ``today``, which the
date checks need) and maps every canonical column to the check its cells get, the
way a compiled function would; ``assemble`` reads every row of every claim through
it.  Exports repeat themselves — the same NPIs, taxonomies, codes, places of
service, charges and service dates on row after row — so for those columns the
reader keeps a small memo of cells it has already accepted: the value string, per
column, mapped to what the check returned.  A memo hit is exactly what a fresh
check would give (checks are pure functions of the cell and the file's ``today``),
a value accepted in one column is never taken as checked in another, and the memo
is bounded so memory stays flat over any file.  Refused values are not kept: every
refusal is found, and written, afresh.

Reasons come from ``parsers.cells`` and never contain the cell's value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import Any, NamedTuple

from domain.claim import Frequency, LineOfBusiness, Relationship, RenderingLicense
from parsers import cells
from parsers.cells import CellError, unsafe_text_reason
from parsers.columns import (
    BILLING_COLUMNS,
    DIAGNOSIS_COLUMNS,
    FACILITY_COLUMNS,
    MODIFIER_COLUMNS,
    POSITION,
    RENDERING_COLUMNS,
    SUPERVISING_COLUMNS,
)

FREQUENCIES = tuple(f.value for f in Frequency)
LINES_OF_BUSINESS = tuple(lob.value for lob in LineOfBusiness)
RELATIONSHIPS = tuple(r.value for r in Relationship)
LICENSES = tuple(lic.value for lic in RenderingLicense)
SEXES = ("M", "F", "U")

MISSING = "required value is missing"
MEMO_LIMIT = 4096
"""Values kept per column: an export names few providers, codes and amounts."""

Check = Callable[[str], Any]


def _text(max_length: int) -> Check:
    return cells.text_limit(max_length)


def _service_date(value: str, today: date) -> date:
    parsed = cells.iso_date(value)
    if parsed > today:
        raise CellError(f"service date is in the future (today is {today})")
    return parsed


def column_checks(today: date) -> dict[str, Check]:
    """Canonical column -> the check its cells get (raises ``CellError``); ``today`` bound in."""
    date_of_birth = partial(cells.past_date, today=today, what="date of birth")
    sex = partial(cells.one_of, vocabulary=SEXES, quote=False)
    checks: dict[str, Check] = {
        "claim_id": partial(cells.identifier, max_length=20, what="a claim id"),
        "frequency": partial(cells.one_of, vocabulary=FREQUENCIES, quote=True),
        "original_claim_number": partial(cells.identifier, max_length=50, what="a payer claim number"),
        "line_of_business": partial(cells.one_of, vocabulary=LINES_OF_BUSINESS, quote=True),
        "payer_id": cells.payer_id,
        "payer_name": _text(60),
        "subscriber_id": _text(80),
        "subscriber_last": _text(60),
        "subscriber_first": _text(35),
        "subscriber_dob": date_of_birth,
        "subscriber_sex": sex,
        "subscriber_zip": cells.zip_code,
        "patient_relationship": partial(cells.one_of, vocabulary=RELATIONSHIPS, quote=True),
        "patient_last": _text(60),
        "patient_first": _text(35),
        "patient_dob": date_of_birth,
        "patient_sex": sex,
        "billing_npi": cells.npi,
        "billing_name": _text(60),
        "billing_tax_id": cells.tax_id,
        "billing_taxonomy": cells.taxonomy,
        "billing_zip": cells.billing_zip,
        "rendering_npi": cells.npi,
        "rendering_last": _text(60),
        "rendering_first": _text(35),
        "rendering_taxonomy": cells.taxonomy,
        "rendering_license": partial(cells.one_of, vocabulary=LICENSES, quote=True),
        "supervising_npi": cells.npi,
        "supervising_last": _text(60),
        "supervising_first": _text(35),
        "prior_auth": _text(50),
        "pay_to_zip": cells.zip_code,
        "facility_name": _text(60),
        "facility_npi": cells.npi,
        "facility_zip": cells.facility_zip,
        "line_id": partial(cells.identifier, max_length=30, what="a line id"),
        "service_date": partial(_service_date, today=today),
        "procedure_code": cells.procedure,
        "units": cells.units,
        "charge": cells.charge,
        "place_of_service": cells.place_of_service,
    }
    for prefix in ("subscriber", "billing", "pay_to", "facility"):
        checks[f"{prefix}_address1"] = _text(55)
        checks[f"{prefix}_city"] = _text(30)
        checks[f"{prefix}_state"] = cells.state
    for column in DIAGNOSIS_COLUMNS:
        checks[column] = cells.diagnosis
    for column in MODIFIER_COLUMNS:
        checks[column] = cells.modifier
    return checks


# The columns whose values repeat across the rows of an export: names repeat from
# member to member.  Not the member's id, birth date and street (one member's worth
# each), nor diagnosis_pointers, whose check also depends on the claim's diagnosis count.
MEMO_COLUMNS: frozenset[str] = frozenset(
    {
        "frequency",
        "line_of_business",
        "payer_id",
        "payer_name",
        "subscriber_last",
        "subscriber_first",
        "patient_last",
        "patient_first",
        "subscriber_city",
        "subscriber_state",
        "subscriber_zip",
        "subscriber_sex",
        "patient_relationship",
        "patient_sex",
        *BILLING_COLUMNS,
        *RENDERING_COLUMNS,
        "rendering_license",
        *SUPERVISING_COLUMNS,
        *DIAGNOSIS_COLUMNS,
        *FACILITY_COLUMNS,
        "line_id",
        "service_date",
        "procedure_code",
        *MODIFIER_COLUMNS,
        "units",
        "charge",
        "place_of_service",
    }
)

# Amounts: a leading '-' is left to the amount check, which says "negative".
MINUS_ALLOWED: frozenset[str] = frozenset({"units", "charge"})

# What ``unsafe_text_reason`` looks for: a cell with neither needs no closer look.
_SUSPECT_CHARACTERS = cells.SUSPECT_CHARACTERS
_FORMULA_STARTS = cells.FORMULA_STARTS


class Step(NamedTuple):
    """How one column of a plan is read: chosen once per file."""

    column: str
    at: int  # the column's position in a canonical row
    required: bool
    check: Check
    memo: dict[str, Any] | None  # the column's accepted values, or None: not memoised
    minus_allowed: bool


_NONE = repeat(None)
_NOT_KEPT: dict[str, Any] = {}
"""The memo of a column whose values are not kept: every look-up misses."""


def _no_cells(row_cells: Sequence[str]) -> tuple[str, ...]:
    return ()


class Plan:
    """The steps that read a run of columns, compiled once per file.

    ``pick`` takes the run's cells out of a canonical row and ``memos`` are their
    memos (``_NOT_KEPT`` for a column without one), so that every cell of the run is
    looked up in one go, in C (``itemgetter``, ``map``); only the cells that miss are
    read step by step.
    """

    __slots__ = ("steps", "memos", "pick", "places")

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.steps = steps
        self.memos = tuple(_NOT_KEPT if step.memo is None else step.memo for step in steps)
        # itemgetter of one position gives the cell, not a 1-tuple: repeat it (map stops at the memos).
        positions = [step.at for step in steps]
        self.pick: Callable[[Sequence[str]], tuple[str, ...]] = (
            itemgetter(*positions, *positions[:1]) if positions else _no_cells
        )
        self.places = range(len(steps))

    def __add__(self, other: Plan) -> Plan:
        return Plan(self.steps + other.steps)


class ColumnReader:
    """The checks of one file, per canonical column, and the memo of values they accepted.

    ``plan`` compiles a run of columns into ``Step``s once; ``RowReader.take`` reads
    a row's cells by such a plan in one loop.  ``row`` starts the reading of one
    canonical row (``parsers.columns.POSITION`` order); the ``RowReader`` it returns
    collects (column, reason) problems instead of raising.
    """

    __slots__ = ("today", "checks", "memo", "limit", "_plans", "_single", "_pointers")

    def __init__(self, today: date, *, limit: int = MEMO_LIMIT) -> None:
        self.today = today
        self.checks = column_checks(today)
        self.memo: dict[str, dict[str, Any]] = {column: {} for column in MEMO_COLUMNS}
        self.limit = limit
        self._plans: dict[tuple[tuple[str, ...], bool | tuple[str, ...]], Plan] = {}
        self._single: tuple[dict[str, Plan], dict[str, Plan]] = ({}, {})  # optional, required
        self._pointers: dict[tuple[int, tuple[str, ...]], Plan] = {}

    def plan(self, columns: tuple[str, ...], required: bool | tuple[str, ...] = False) -> Plan:
        """The steps that read ``columns`` in order, compiled on first use and kept.

        ``required``: all of them, none, or the ones named.
        """
        found = self._plans.get((columns, required))
        if found is None:
            found = self._plans[(columns, required)] = Plan(tuple(
                Step(
                    column,
                    POSITION[column],
                    required if isinstance(required, bool) else column in required,
                    self.checks[column],
                    self.memo.get(column),
                    column in MINUS_ALLOWED,
                )
                for column in columns
            ))
        return found

    def single(self, column: str, required: bool) -> Plan:
        """``plan((column,), required)``, looked up by the column alone."""
        plans = self._single[required]
        found = plans.get(column)
        if found is None:
            found = plans[column] = self.plan((column,), required)
        return found

    def pointer_plan(self, diagnosis_count: int, leading: tuple[str, ...] = ()) -> Plan:
        """Reads the ``leading`` columns (required), then diagnosis_pointers (optional), on a
        claim with ``diagnosis_count`` diagnoses.

        The pointers' memo is this count's own: "2" is valid with two diagnoses, not with one.
        """
        found = self._pointers.get((diagnosis_count, leading))
        if found is None:
            pointers = self._pointers.get((diagnosis_count, ()))
            if pointers is None:
                check = partial(cells.diagnosis_pointers, diagnosis_count=diagnosis_count)
                step = Step("diagnosis_pointers", POSITION["diagnosis_pointers"], False, check, {}, False)
                pointers = self._pointers[(diagnosis_count, ())] = Plan((step,))
            found = self._pointers[(diagnosis_count, leading)] = self.plan(leading, True) + pointers
        return found

    def row(
        self,
        row_cells: Sequence[str],
        problems: list[tuple[str | None, str]],
        reported: frozenset[str] = frozenset(),
    ) -> RowReader:
        return RowReader(self, row_cells, problems, reported)


class RowReader:
    """Reads the cells of one canonical row through its file's ``ColumnReader``."""

    __slots__ = ("columns", "cells", "problems", "reported")

    def __init__(
        self,
        columns: ColumnReader,
        row_cells: Sequence[str],
        problems: list[tuple[str | None, str]],
        reported: frozenset[str],
    ) -> None:
        self.columns = columns
        self.cells = row_cells
        self.problems = problems
        self.reported = reported

    def take(self, plan: Plan) -> list[Any]:
        """The plan's cells as their checks read them; None (and a problem) where one cannot be read.

        Every cell is first looked up in its column's memo; a hit is what the check gave
        before (checks never return None, and a blank is never kept) and needs no
        ``unsafe_text_reason`` either: only values that passed it are kept.  The misses
        are then read in column order, so problems come in the order of the row.  A miss
        is screened, in line, for what ``unsafe_text_reason`` looks for; only a cell the
        screen stops is given to it for the reason.
        """
        if self.reported:
            return self._take_unreported(plan)
        row_cells = self.cells
        found = list(map(dict.get, plan.memos, plan.pick(row_cells)))
        misses = list(compress(plan.places, map(is_, found, _NONE)))
        if not misses:
            return found
        problems = self.problems
        limit = self.columns.limit
        steps = plan.steps
        for place in misses:
            column, at, required, check, memo, minus_allowed = steps[place]
            value = row_cells[at]
            if not value:
                if required:
                    problems.append((column, MISSING))
                continue
            if value[0] in _FORMULA_STARTS or _SUSPECT_CHARACTERS.search(value) is not None:
                reason = unsafe_text_reason(value, allow_minus=minus_allowed)
                if reason:
                    problems.append((column, reason))
                    continue
            try:
                result = check(value)
            except CellError as error:
                problems.append((column, error.reason))
                continue
            if memo is not None and len(memo) < limit:
                memo[value] = result
            found[place] = result
        return found

    def _take_unreported(self, plan: Plan) -> list[Any]:
        """``take`` for a row the reader already complained about: the columns it named are
        skipped (None, and no problem of their own), the others read as ``take`` reads them."""
        reported = self.reported
        self.reported = frozenset()
        try:
            read = iter(self.take(Plan(tuple(step for step in plan.steps if step.column not in reported))))
        finally:
            self.reported = reported
        return [None if step.column in reported else next(read) for step in plan.steps]

    def read(self, column: str, required: bool = False) -> Any:
        """One cell, as ``take`` reads it."""
        return self.take(self.columns.single(column, required))[0]

    def complain(self, column: str, reason: str) -> None:
        self.problems.append((column, reason))
