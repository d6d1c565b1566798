"""docs/pm-export.md lists exactly the columns the parser reads, and marks the required ones."""

from __future__ import annotations

import re
from pathlib import Path

from parsers.columns import ALL_COLUMNS, REQUIRED_COLUMNS

DOC = Path(__file__).resolve().parent.parent / "docs" / "pm-export.md"
RANGE = re.compile(r"`([a-z_]+)_1` … `\1_(\d+)`")


def _rows() -> list[tuple[list[str], str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        names_cell, required = (cell.strip() for cell in line.split("|")[1:3])
        names = []
        for match in RANGE.finditer(names_cell):
            names += [f"{match[1]}_{n}" for n in range(1, int(match[2]) + 1)]
        names += re.findall(r"`([a-z_0-9]+)`", RANGE.sub("", names_cell))
        rows.append((names, required))
    return rows


def test_the_doc_lists_every_column_once_and_nothing_else() -> None:
    listed = [name for names, _ in _rows() for name in names]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(ALL_COLUMNS)


def test_a_column_marked_yes_is_required_and_a_required_column_is_marked() -> None:
    marked = {name for names, required in _rows() if required == "yes" for name in names}
    marked |= {"diagnosis_1"}  # its row says "`diagnosis_1`": only the first of the range
    assert marked == set(REQUIRED_COLUMNS)
