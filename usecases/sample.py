"""The bundled sample export, and the exports of a first day that works on any date.

The bundled export (package data, so an installed wheel has it) was written for a fixed
autumn; left as it is its service dates age into timely-filing holds.  ``shifted_export``
moves them by whole weeks (weekdays stay) to end a few days before the clock's today, and
``write_sample_exports`` writes what `bhclaims init --sample` gives a new practice: that
day's export and a corrected copy of one claim for `bhclaims correct … --from`.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from outbox.files import ensure_private_dir, write_private

# Package data (pyproject `package-data`), so an installed wheel runs the demo from any folder.
DEMO_EXPORT: Traversable = resources.files("usecases") / "sample_charges.csv"

# The claim the README corrects, and what its corrected export changes: the diagnosis the
# clinician revised after the claim was paid (PTSD, chronic, instead of unspecified).
CORRECTED_CLAIM = "HL-260903"
CORRECTED_COLUMN, CORRECTED_VALUE = "diagnosis_1", "F43.12"


def shifted_export(source: Traversable, today: date) -> bytes:
    """The export with service dates moved so the newest is 3-9 days before ``today``."""
    header, rows = _read(source)
    newest = max(date.fromisoformat(row["service_date"]) for row in rows)
    weeks = ((today - timedelta(days=3)) - newest).days // 7
    for row in rows:
        row["service_date"] = (date.fromisoformat(row["service_date"]) + timedelta(weeks=weeks)).isoformat()
    return _write(header, rows)


def corrected_export(today_export: bytes) -> bytes:
    """The rows of ``CORRECTED_CLAIM`` from that day's export, with the revised diagnosis."""
    header, rows = _read_text(today_export.decode("utf-8"))
    mine = [row for row in rows if row["claim_id"] == CORRECTED_CLAIM]
    for row in mine:
        row[CORRECTED_COLUMN] = CORRECTED_VALUE
    return _write(header, mine)


def write_sample_exports(directory: Path, today: date) -> dict[str, Path]:
    """``exports/today.csv`` (the sample export dated for ``today``) and ``exports/fixed.csv``
    (its corrected claim), private files in a private folder; existing files are not replaced."""
    folder = directory / "exports"
    ensure_private_dir(folder)
    today_export = shifted_export(DEMO_EXPORT, today)
    written = {"today": folder / "today.csv", "fixed": folder / "fixed.csv"}
    for path in written.values():
        if path.exists():
            raise FileExistsError(f"{path} already exists; not overwriting it")
    write_private(written["today"], today_export)
    write_private(written["fixed"], corrected_export(today_export))
    return written


def _read(source: Traversable) -> tuple[list[str], list[dict[str, str]]]:
    return _read_text(source.read_text(encoding="utf-8-sig"))


def _read_text(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or ()), rows


def _write(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
