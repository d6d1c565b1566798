"""Does the file's layout hold together: is the header a header, and do the rows fit it?

A headerless export, a header shifted by a column, a mapping profile that points at
the wrong columns, a tab-separated file read as CSV: each would otherwise be read
row by row, and every message would name a claim by whatever cell sits under
``claim_id`` — a last name, a member id, a date of birth.  These checks look at the
header and at the first rows as a whole, decide before any row is read, and say
what is wrong by column name and position only: never a cell's value.

The shapes are loose on purpose (``$1,500.00`` and ``11/23/2026`` fit): they tell a
column of amounts from a column of names, not a good amount from a bad one, which
the per-cell checks report row by row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# Three digits in a row, or digits around a date or amount separator: values, not column names.
_DATA_LIKE = re.compile(r"\d{3}|\d[-/.:]\d")
_DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "vertical bar"}
SAMPLE_ROWS = 20

_DATE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{8}"
_NPI = (r"\d{8,11}", "a 10-digit NPI")
_ZIP = (r"\d{4,5}(?:-?\d{3,4})?", "a ZIP code")
# canonical column -> (loose shape, what the column holds, in words)
LOOSE_SHAPES: dict[str, tuple[str, str]] = {
    "claim_id": (r"[^\s,;]*\d[^\s,;]*", "a claim id (with a digit, no spaces)"),
    "service_date": (_DATE, "a date"),
    "subscriber_dob": (_DATE, "a date"),
    "patient_dob": (_DATE, "a date"),
    "charge": (r"[-(]?\$?-?[\d,]*\.?\d+\)?", "a dollar amount"),
    "units": (r"-?\d*\.?\d+", "a number of units"),
    "billing_npi": _NPI,
    "rendering_npi": _NPI,
    "place_of_service": (r"\d{1,2}", "a two-digit place of service"),
    "procedure_code": (r"[A-Za-z0-9]?\d{4}[A-Za-z0-9]?", "a procedure code"),
    "billing_zip": _ZIP,
    "subscriber_zip": _ZIP,
    "diagnosis_1": (r"[A-Za-z]\d[A-Za-z0-9.]{1,6}", "an ICD-10 code"),
}
_COMPILED = {column: re.compile(shape) for column, (shape, _what) in LOOSE_SHAPES.items()}


def header_shape_problem(names: Sequence[str], *, delimiter: str, known: int) -> str | None:
    """Why the first line is not a header row we can use (in words, quoting none of it), or None.

    ``known`` is how many of its cells name a column (canonical, or in the profile).  A
    line that is mostly column names is a header, odd names and all (each is then
    named in its own message); otherwise nothing of it is quoted: it may be a patient's
    row.
    """
    if known * 2 >= len(names):
        return None
    if len(names) == 1:
        for separator, word in _DELIMITERS.items():
            if separator != delimiter and separator in names[0]:
                return (
                    f"the header is one column that holds {word} characters: the file is not separated by "
                    f"{_DELIMITERS.get(delimiter, repr(delimiter))}s (a tab-separated export needs a profile "
                    'with delimiter = "\\t"; nothing in the file was read)'
                )
    if any(_DATA_LIKE.search(name) for name in names):
        return (
            "the first line holds values (numbers or dates), not column names: the export must start with "
            "its header row (nothing in the file was read)"
        )
    return (
        f"only {known} of the {len(names)} names on the first line are columns we know: is the header missing, "
        "or does this PM system's export need a --profile? (nothing in the file was read)"
    )


def misfit_columns(
    rows: Sequence[Mapping[str, str]], positions: Mapping[str, int]
) -> list[tuple[str, str]]:
    """(column, reason) for each typed column no sampled row fills with its kind of value.

    ``rows`` are the first rows as canonical cells; ``positions`` gives each canonical
    column's 1-based position in the file (for the message).  A column empty in every
    row is left to the per-row checks.
    """
    problems = []
    for column, pattern in _COMPILED.items():
        values = [row[column] for row in rows if row.get(column)]
        if values and not any(pattern.fullmatch(value) for value in values):
            where = f"column {positions[column]}" if column in positions else "its column"
            problems.append(
                (
                    column,
                    f"none of the first {len(rows)} rows has {LOOSE_SHAPES[column][1]} in {where}: is the header "
                    "shifted, or does the profile map the wrong column? (nothing in the file was read)",
                )
            )
    return problems


def width_problem(widths: Sequence[int], header_width: int) -> str | None:
    """Every sampled row has another number of cells than the header: the columns do not line up."""
    if widths and all(width != header_width for width in widths):
        counts = ", ".join(str(width) for width in sorted(set(widths)))
        return (
            f"the header has {header_width} columns but the first {len(widths)} rows have {counts} cells: is a "
            "column missing from the header, or is the file separated by another character? "
            "(nothing in the file was read)"
        )
    return None
