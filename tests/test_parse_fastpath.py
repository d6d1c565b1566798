"""The fast path of the CSV reader gives what the per-cell checks give, row for row.

The fast path (``parsers/fastpath.py``, ``ClaimAssembler.add_clean``) only accepts rows; every error is still written by
the per-cell checks.  Each test here parses the same file twice — as shipped, and
with the fast path switched off — and wants the same stream of claims and errors,
down to the ``repr`` (so a ``Decimal('150.0')`` cannot pass for ``Decimal('150.00')``).
"""

from __future__ import annotations

import csv
import io
import random
import string
import sys
import tempfile
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.assemble import ClaimAssembler
from parsers.columns import CLAIM_COLUMNS, LINE_COLUMNS, RENDERING_COLUMNS
from parsers.errors import RowError
from parsers.export import iter_export
from parsers.fastpath import FastRows
from parsers.writer import csv_export_text
from tests.examples import scaled
from tests.test_parse_properties import claim_batches

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
PROFILES = {
    "simplepractice_style.csv": FIXTURES / "profiles" / "simplepractice_style.toml",
    "therapynotes_style.tsv": FIXTURES / "profiles" / "therapynotes_style.toml",
}
TODAY = date(2026, 11, 1)
SETTINGS = settings(max_examples=scaled(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _per_cell_only() -> ExitStack:
    """Switch the fast path off: every row through ``add_per_cell``."""
    stack = ExitStack()
    stack.enter_context(mock.patch.object(ClaimAssembler, "add_clean", lambda *args, **kwargs: None))
    return stack


def _drain(path: Path, profile: Path | None, today: date) -> tuple[list, str | None]:
    """The items of the stream, and how it failed if it did (e.g. a 30-digit charge
    overflows Decimal's context in ``cells.charge``: both paths must fail alike)."""
    items: list = []
    try:
        for item in iter_export(path, today=today, profile=profile):
            items.append(item)
    except Exception as error:  # noqa: BLE001 - compared, not hidden
        return items, repr(error)
    return items, None


def assert_same_as_per_cell(path: Path, profile: Path | None = None, today: date = TODAY) -> list:
    fast, fast_failure = _drain(path, profile, today)
    with _per_cell_only():
        slow, slow_failure = _drain(path, profile, today)
    assert fast_failure == slow_failure
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert [str(item) for item in fast] == [str(item) for item in slow]
    return fast


def _fixture_files() -> list[tuple[Path, Path | None]]:
    exports = sorted((FIXTURES / "exports").glob("*/*.*"))
    files = [p for p in exports if p.suffix in (".csv", ".tsv", ".xml")] + [ROOT / "usecases" / "sample_charges.csv"]
    return [(path, PROFILES.get(path.name)) for path in files]


def test_fixtures_give_the_same_claims_and_errors_on_both_paths() -> None:
    for path, profile in _fixture_files():
        for today in (TODAY, date(2026, 9, 15)):  # the second makes some service dates future
            assert_same_as_per_cell(path, profile, today)


def test_clean_rows_never_reach_the_per_cell_checks() -> None:
    calls = []
    original = ClaimAssembler.add_per_cell

    def counting(self, row, *, last_of_claim):
        calls.append(row.line)
        return original(self, row, last_of_claim=last_of_claim)

    with mock.patch.object(ClaimAssembler, "add_per_cell", counting):
        for name in ("canonical.csv", "twelve_diagnoses.csv", "child_patient.csv", "non_contiguous.csv"):
            items = list(iter_export(FIXTURES / "exports" / "good" / name, today=TODAY))
            assert items and all(not isinstance(item, RowError) for item in items)
        list(iter_export(ROOT / "usecases" / "sample_charges.csv", today=TODAY))
    assert calls == []


def test_a_row_the_fast_path_turns_down_gets_the_exact_per_cell_error(tmp_path: Path) -> None:
    text = (FIXTURES / "exports" / "bad" / "npi_leading_zero.csv").read_text(encoding="utf-8")
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8", newline="")
    items = assert_same_as_per_cell(path)
    errors = [str(item) for item in items if isinstance(item, RowError)]
    assert errors == [
        f"{path}:3: rendering_npi: NPI has 9 digits; looks like a spreadsheet dropped a leading zero (claim BAD-1)"
    ]
    # …and the fast path itself declined that row.
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    bad = next(row for row in rows if row["claim_id"] == "BAD-1")
    fast = FastRows(str(path), TODAY)
    assert fast.claim_header(tuple(bad.get(c, "") for c in CLAIM_COLUMNS)) is None
    good = next(row for row in rows if row["claim_id"] == "GOOD-1")
    header = fast.claim_header(tuple(good.get(c, "") for c in CLAIM_COLUMNS))
    assert header is not None
    _, diagnosis_count = header
    assert fast.service_line(tuple(good.get(c, "") for c in LINE_COLUMNS), diagnosis_count, 2) is not None


# Cell values the fast path must either read exactly as the per-cell checks do, or
# leave to them: padding, case, Unicode digits, formula starts, separators, limits.
TRICKY = [
    "",
    " ",
    "x ",
    " x",
    "=1",
    "+1",
    "-1",
    "@x",
    "a~b",
    "a*b",
    "a:b",
    "a^b",
    "a\tb",
    "0",
    "00",
    "1",
    "7",
    "8",
    "9",
    "1.5",
    "1.25",
    "1.234",
    "1.2345",
    "150.00",
    "150.001",
    "$150",
    "1,500.00",
    "(5)",
    "-5.00",
    "0.00",
    "99999999999999",
    "9" * 13,
    "1.5" + "0" * 10,
    "2026-02-30",
    "2026-13-01",
    "2099-01-01",
    "1899-12-31",
    "1900-01-01",
    "2026-10-31",
    "20261031",
    "२०२६-१०-०१",
    "٠١٩٧٠",
    "०१९७०",
    "0197",
    "01970",
    "01970-3412",
    "019703412",
    "01970-341",
    "12-3456789",
    "123456789",
    "12345678",
    "1234-56789",
    "164712358",
    "1647123581",
    "１６４７１２３５８１",
    "F32.1",
    "f32.1",
    "F321",
    "F32..1",
    "F3.21",
    "Z",
    "ß",
    "F32ß",
    "x" * 21,
    "x" * 31,
    "x" * 36,
    "x" * 61,
    "self",
    "spouse",
    "child",
    "Self",
    "supervised",
    "independent",
    "medicaid",
    "Medicaid",
    "sco",
    "M",
    "F",
    "U",
    "m",
    "95",
    "ho",
    "H",
    "HO",
    "1,2",
    "1, 2",
    "2,1",
    "1,1",
    "13",
    "1,2,3,4,5",
    "1,",
    "90834",
    "9083f",
    "9083F",
    "G0176",
    "g0176",
    "9083",
    "L1",
    "L-1",
    "-L1",
    "L 1",
    "87726",
    "0872",
    "1041C0700X",
    "1041c0700X",
    "MA",
    "ma",
    "Zoë",
    "Sørensen-Núñez",
    "\u00a0x",
    "x\u2028",
]


def _template_rows() -> tuple[list[str], list[list[str]]]:
    """Good rows of different kinds: an original, a replacement, a child patient, a
    supervised clinician, telehealth modifiers with twelve diagnoses."""
    wanted = [
        ("canonical.csv", lambda c: c["frequency"] == "1" and c["patient_relationship"] == "self"),
        ("canonical.csv", lambda c: c["frequency"] == "7"),
        ("child_patient.csv", lambda c: c["patient_relationship"] == "child"),
        ("sample_charges.csv", lambda c: c["rendering_license"] == "supervised"),
        ("twelve_diagnoses.csv", lambda c: c["diagnosis_12"] != "" and c["modifier_4"] != ""),
    ]
    header: list[str] = []
    templates: list[list[str]] = []
    for name, wanted_kind in wanted:
        path = ROOT / "usecases" / name if name == "sample_charges.csv" else FIXTURES / "exports" / "good" / name
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        header = rows[0]
        templates.append(next(row for row in rows[1:] if wanted_kind(dict(zip(header, row, strict=True)))))
    return header, templates


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("charge", "1" * 30, "too large for a charge"),
    ("diagnosis_pointers", "²", "is not a list of diagnosis numbers"),
])
def test_cells_that_once_crashed_are_row_errors_on_both_paths(tmp_path: Path, column: str, value: str,
                                                               reason: str) -> None:
    """A charge beyond Decimal's precision and a superscript-digit pointer used to raise
    from inside the cell checks; both are now ordinary row errors, alike on both paths."""
    header, templates = _template_rows()
    row = list(templates[0])
    row[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, row])
    path = tmp_path / "crash.csv"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    items, failure = _drain(path, None, TODAY)
    assert failure is None
    errors = [item for item in items if isinstance(item, RowError)]
    assert errors and errors[0].column == column and reason in errors[0].reason
    assert_same_as_per_cell(path)


# Edits of several cells at once, for the rules that tie columns together.
LINKED_EDITS: list[dict[str, str]] = [
    {"rendering_license": "supervised", **dict.fromkeys(RENDERING_COLUMNS, "")},
    {"rendering_license": "supervised", "supervising_npi": "1234567893", "supervising_last": "Ames"},
    {
        "rendering_license": "supervised",
        "supervising_npi": "1234567893",
        "supervising_last": "Ames",
        "supervising_first": "Jo",
    },
    {"rendering_license": "independent", "supervising_first": "Jo"},
    {**dict.fromkeys(RENDERING_COLUMNS, "")},
    {"rendering_taxonomy": ""},
    {
        "patient_relationship": "child",
        "patient_last": "Ames",
        "patient_first": "Jo",
        "patient_dob": "2015-08-21",
    },
    {
        "patient_relationship": "child",
        "patient_last": "Ames",
        "patient_first": "Jo",
        "patient_dob": "2015-08-21",
        "patient_sex": "F",
    },
    {"patient_relationship": "spouse", "patient_dob": "2027-01-01", "patient_sex": "M"},
    {"patient_relationship": "", "patient_last": "Other"},
    {"frequency": "7", "original_claim_number": ""},
    {"frequency": "8", "original_claim_number": "PCN-77"},
    {"frequency": "", "original_claim_number": "PCN-77"},
    {"diagnosis_2": "", "diagnosis_3": "F411"},
    {"diagnosis_1": "", "diagnosis_2": "F411"},
    {"diagnosis_pointers": "1,12"},
    {"modifier_1": "", "modifier_2": "HO"},
    {"modifier_1": "95", "modifier_2": "", "modifier_3": "GT"},
    {"modifier_1": "95", "modifier_2": "HO", "modifier_3": "GT", "modifier_4": "u5"},
]


def test_every_tricky_value_in_every_column_gives_the_same_stream(tmp_path: Path) -> None:
    """One claim per variant of a template row: the fast path's every check against the per-cell one.

    Variants: each tricky value in each column, each column given another column's
    value (a diagnosis repeated, a patient equal to the subscriber, a billing NPI
    equal to the rendering one…), and the linked edits above.
    """
    header, templates = _template_rows()
    position = {name: index for index, name in enumerate(header)}
    variants = []
    for number, template in enumerate(templates):
        for column in range(len(header)):
            for value in [*TRICKY, *template] if number < 3 else template:
                row = list(template)
                row[column] = value
                variants.append((column, row))
        for edit in LINKED_EDITS:
            row = list(template)
            for name, value in edit.items():
                row[position[name]] = value
            variants.append((-1, row))
    rows = []
    for column, row in variants:
        if column != 0:
            row[0] = f"V{len(rows)}"
        rows.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    path = tmp_path / "variants.csv"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    items = assert_same_as_per_cell(path)
    claims = sum(not isinstance(item, RowError) for item in items)
    assert len(rows) // 10 < claims < len(rows) // 2  # both paths well exercised


@st.composite
def damaged_exports(draw) -> tuple[str, str]:
    """A valid batch written as CSV, then damaged cell by cell; maybe reordered, CRLF or LF."""
    batch = draw(claim_batches)
    text = csv_export_text(batch)
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.integers(0, len(body) - 1))
        column = draw(st.integers(0, len(header) - 1))
        if draw(st.booleans()):
            body[row][column] = draw(st.sampled_from(TRICKY))
        else:  # a value that is valid somewhere else: another row's, another column's
            other = body[draw(st.integers(0, len(body) - 1))]
            body[row][column] = other[draw(st.integers(0, len(header) - 1))]
    if draw(st.booleans()):
        random.Random(draw(st.integers(0, 2**16))).shuffle(body)  # claims no longer contiguous
    if draw(st.booleans()):
        body.insert(draw(st.integers(0, len(body))), [""] * len(header))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\r\n", "\n"])))
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue(), "csv"


@SETTINGS
@given(damaged_exports())
def test_damaged_rows_give_the_same_stream_on_both_paths(export) -> None:
    text, _ = export
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.csv"
        path.write_text(text, encoding="utf-8", newline="")
        assert_same_as_per_cell(path)


def _benchmark_export(path: Path) -> Path:
    """400 lines as ``benchmarks/gen_export.py`` writes them."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gen_export import synthetic_claims
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    path.write_text(csv_export_text(synthetic_claims(400, seed=7)), encoding="utf-8", newline="")
    return path


def test_the_benchmark_export_parses_the_same_on_both_paths(tmp_path: Path) -> None:
    path = _benchmark_export(tmp_path / "bench.csv")
    items = assert_same_as_per_cell(path, today=date(2026, 12, 1))
    assert len(items) > 100 and not any(isinstance(item, RowError) for item in items)


def test_alphabet_of_names_is_read_the_same(tmp_path: Path) -> None:
    """Every printable ASCII character at the start, middle and end of a name cell."""
    text = (FIXTURES / "exports" / "good" / "canonical.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("subscriber_last")
    for char in string.printable:
        for value in (char + "Ab", "A" + char + "b", "Ab" + char):
            for row in rows[1:]:
                row[column] = value
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            path = tmp_path / "names.csv"
            path.write_text(out.getvalue(), encoding="utf-8", newline="")
            assert_same_as_per_cell(path)
