"""The one row validator (``parsers/rowcheck.py``): every kind of cell check, and its memo.

The reader keeps, per column, the values it has already accepted.  These tests put a
bad value in a column *after* good values have filled that column's memo, a value
that is good in one column into another column, and the same bad value twice, and
want each refusal reported on its own line and column, without the value.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from parsers.cells import CellError
from parsers.columns import ALL_COLUMNS, canonical_cells
from parsers.export import parse_export
from parsers.rowcheck import MEMO_COLUMNS, ColumnReader
from parsers.writer import claim_rows
from tests.claim_factory import make_claim

TODAY = date(2026, 11, 1)


def _rows(claim_id: str, **cells: str) -> dict[str, str]:
    (row,) = claim_rows(make_claim(claim_id))
    return {**row, **cells}


def _write(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=ALL_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "export.csv"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


# column, a value its check refuses, words of the reason: one per kind of check.
BAD_CELLS = [
    ("line_id", "L 1", "a line id must be 1-30 letters"),
    ("original_claim_number", "A/1", "required for frequency"),  # frequency set below
    ("frequency", "9", "value is not one of 1, 7, 8"),
    ("line_of_business", "Medicaid", "'Medicaid' is not one of"),
    ("payer_id", "8772", "payer id has 4 digits"),
    ("subscriber_last", "X" * 61, "longer than 60 characters"),
    ("subscriber_dob", "1980-13-01", "not a real calendar date"),
    ("subscriber_dob", "2027-01-01", "date of birth is after today"),
    ("subscriber_sex", "MA", "value is not one of M, F, U"),
    ("subscriber_state", "ma", "a state is two capital letters"),
    ("subscriber_zip", "2144", "ZIP has 4 digits"),
    ("subscriber_address1", "=HYPERLINK(1)", "like a spreadsheet formula"),
    ("payer_name", "OPTUM~BH", "X12 separator characters"),
    ("billing_npi", "123456789", "NPI has 9 digits"),
    ("billing_tax_id", "41234567", "tax id has 8 digits"),
    ("billing_taxonomy", "261QM0801", "a taxonomy code is 10 characters"),
    ("billing_zip", "02108", "ZIP must be ZIP+4"),
    ("diagnosis_1", "33.1", "not an ICD-10-CM code"),
    ("service_date", "2025/03/03", "not a date in YYYY-MM-DD form"),
    ("service_date", "2026-11-02", "service date is in the future"),
    ("procedure_code", "X1", "is not a CPT or HCPCS code"),
    ("modifier_1", "9", "is not a two-character modifier"),
    ("units", "0", "units must be positive"),
    ("charge", "$180.00", "has a currency sign"),
    ("charge", "-5.00", "is negative"),
    ("place_of_service", "1", "place of service has one digit"),
    ("diagnosis_pointers", "1,1", "points at a diagnosis twice"),
]


@pytest.mark.parametrize(("column", "bad", "reason"), BAD_CELLS)
def test_a_bad_cell_after_good_ones_is_refused_on_its_line_and_column(tmp_path, column, bad, reason):
    changes = {column: bad}
    if column == "original_claim_number":
        changes = {"frequency": "7", column: ""}
    path = _write(tmp_path, [_rows("GOOD1"), _rows("GOOD2"), _rows("BAD1", **changes), _rows("GOOD3")])
    result = parse_export(path, today=TODAY)
    assert [claim.claim_id for claim in result.claims] == ["GOOD1", "GOOD2", "GOOD3"]
    assert len(result.errors) == 1, result.errors
    (error,) = result.errors
    expected_column = "original_claim_number" if column == "original_claim_number" else column
    assert (error.line, error.column, error.claim_id) == (4, expected_column, "BAD1")
    assert reason in error.reason
    if column not in ("line_of_business",):  # a vocabulary word in another case is the one quoted value
        assert bad not in error.reason


def test_a_refused_value_is_refused_every_time_it_comes(tmp_path):
    rows = [_rows("A1"), _rows("B1", payer_name="=CMD()"), _rows("C1", payer_name="=CMD()"), _rows("D1")]
    result = parse_export(_write(tmp_path, rows), today=TODAY)
    assert [claim.claim_id for claim in result.claims] == ["A1", "D1"]
    assert [(e.line, e.column, e.claim_id) for e in result.errors] == [
        (3, "payer_name", "B1"),
        (4, "payer_name", "C1"),
    ]


def test_a_value_accepted_in_one_column_is_still_checked_in_another(tmp_path):
    # "MA" is a good state and "90837" a good procedure code; neither is a sex or a place of service.
    rows = [_rows("A1"), _rows("B1", subscriber_sex="MA"), _rows("C1", place_of_service="90837")]
    result = parse_export(_write(tmp_path, rows), today=TODAY)
    assert [claim.claim_id for claim in result.claims] == ["A1"]
    assert [(e.line, e.column) for e in result.errors] == [(3, "subscriber_sex"), (4, "place_of_service")]


def test_pointers_accepted_for_two_diagnoses_are_checked_again_for_one(tmp_path):
    rows = [
        _rows("TWO2", diagnosis_2="F411", diagnosis_pointers="1,2"),
        _rows("ONE1", diagnosis_pointers="1,2"),
    ]
    result = parse_export(_write(tmp_path, rows), today=TODAY)
    assert [claim.claim_id for claim in result.claims] == ["TWO2"]
    assert result.claims[0].lines[0].diagnosis_pointers == (1, 2)
    (error,) = result.errors
    assert (error.line, error.column) == (3, "diagnosis_pointers")
    assert error.reason == "diagnosis pointer 2 of 2 names a diagnosis the claim does not have (it has 1)"


def test_the_memo_gives_what_the_check_gives_and_stays_bounded():
    reader = ColumnReader(TODAY, limit=2)
    read = [reader.row(canonical_cells({"charge": value}), []).read("charge") for value in ("10", "10.5", "7.25", "10")]
    assert [str(amount) for amount in read] == ["10.00", "10.50", "7.25", "10.00"]
    assert all(isinstance(amount, Decimal) for amount in read)
    assert len(reader.memo["charge"]) == 2
    problems: list = []
    assert reader.row(canonical_cells({"charge": "10.505"}), problems).read("charge") is None
    assert problems == [("charge", "has more than 2 decimal places")]
    assert "10.505" not in reader.memo["charge"]


def test_the_memo_is_per_column_not_per_value():
    reader = ColumnReader(TODAY)
    problems: list = []
    row = reader.row(canonical_cells({"subscriber_state": "MA", "subscriber_sex": "MA"}), problems)
    assert row.read("subscriber_state") == "MA"
    assert row.read("subscriber_sex") is None
    assert problems == [("subscriber_sex", "value is not one of M, F, U")]
    with pytest.raises(CellError):
        reader.checks["subscriber_sex"]("MA")
    assert "subscriber_sex" in MEMO_COLUMNS and "subscriber_id" not in MEMO_COLUMNS


# Runs of columns are read in one go, and claim-level blocks are kept by their raw
# cells; the problems of a row still come in the order the row is read, column by column.


def test_a_rows_problems_come_in_column_order_with_the_frequency_rule_after_the_claims_own_cells(tmp_path):
    row = _rows(
        "A1", original_claim_number="A/1", subscriber_dob="1980-13-01", modifier_1="25", modifier_2="9", units="0"
    )
    result = parse_export(_write(tmp_path, [row]), today=TODAY)
    assert result.claims == ()
    assert [(e.column, e.reason) for e in result.errors] == [
        ("original_claim_number", "a payer claim number must be 1-50 letters, digits or '-'"),
        ("original_claim_number", "given, but frequency is 1 (an original claim replaces nothing)"),
        ("subscriber_dob", "not a real calendar date"),
        ("modifier_2", "is not a two-character modifier"),
        ("units", "units must be positive"),
    ]


def test_a_modifier_gap_is_said_before_the_modifier_and_before_the_amounts(tmp_path):
    rows = [_rows("A1", modifier_1="HO", modifier_2="GT"), _rows("B1", modifier_2="gt", charge="$1")]
    result = parse_export(_write(tmp_path, rows), today=TODAY)
    assert [claim.claim_id for claim in result.claims] == ["A1"]
    assert result.claims[0].lines[0].modifiers == ("HO", "GT")
    assert [(e.line, e.column, e.reason) for e in result.errors] == [
        (3, "modifier_2", "is filled but modifier_1 is empty"),
        (3, "charge", "has a currency sign; write plain dollars like 150.00"),
    ]


def test_a_provider_block_read_before_is_read_again_when_its_rendering_npi_differs(tmp_path):
    solo = {"rendering_npi": "1234567893", "rendering_last": "RIVERA", "rendering_first": "ANA",
            "rendering_taxonomy": "101YM0800X"}
    rows = [_rows("A1", **solo), _rows("B1", **{**solo, "rendering_npi": "1245319599"}), _rows("C1", **solo)]
    result = parse_export(_write(tmp_path, rows), today=TODAY)
    assert result.errors == ()
    assert [claim.billing.entity_type for claim in result.claims] == ["1", "2", "1"]
    assert [claim.rendering.npi for claim in result.claims if claim.rendering] == [
        "1234567893", "1245319599", "1234567893"
    ]


def test_a_refused_block_is_refused_every_time_it_comes(tmp_path):
    # No rendering clinician for a supervised license; a diagnosis repeated.
    rows = [
        _rows("A1", rendering_license="supervised"),
        _rows("B1", rendering_license="supervised"),
        _rows("C1", diagnosis_2="F331"),
        _rows("D1", diagnosis_2="F331"),
        _rows("E1", diagnosis_2="F411"),
    ]
    result = parse_export(_write(tmp_path, rows), today=TODAY)
    assert [claim.claim_id for claim in result.claims] == ["E1"]
    assert result.claims[0].diagnoses == ("F331", "F411")
    assert [(e.line, e.column, e.reason) for e in result.errors] == [
        (2, "rendering_npi", "a supervised clinician must be named as the rendering provider"),
        (3, "rendering_npi", "a supervised clinician must be named as the rendering provider"),
        (4, "diagnosis_2", "repeats diagnosis_1"),
        (5, "diagnosis_2", "repeats diagnosis_1"),
    ]


# Stripping is skipped for a record no cell of which can be padded; every kind of
# whitespace str.strip removes, at either end of the first, a middle and the last cell,
# must still be stripped.
PADDING = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\xa0", "\u2003"]


@pytest.mark.parametrize("space", PADDING, ids=[f"U+{ord(space):04X}" for space in PADDING])
@pytest.mark.parametrize("where", ["start", "end"])
def test_padded_cells_are_read_stripped(tmp_path, space, where):
    def pad(value: str) -> str:
        return space + value if where == "start" else value + space

    row = _rows("A1")
    padded = {**row, **{column: pad(row[column]) for column in ("claim_id", "procedure_code", "diagnosis_pointers")}}
    path = _write(tmp_path, [padded, _rows("B1")])
    result = parse_export(path, today=TODAY)
    assert result.errors == ()
    assert [claim.claim_id for claim in result.claims] == ["A1", "B1"]
    (line,) = result.claims[0].lines
    assert (line.procedure_code, line.diagnosis_pointers) == ("90837", (1,))
