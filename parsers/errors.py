"""Row errors: bad input is data, collected and shown together (STYLE: errors are data).

A ``RowError`` names the file, the physical line where the row starts, the column
and the reason.  It never carries the cell's value: PM exports are full of PHI
(member names, ids, dates of birth, addresses), so a reason says *why* a cell is
refused, and quotes a value only for non-identifying codes (procedure codes,
places of service, dates of service, vocabularies).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    line: int | None
    column: str | None
    reason: str
    claim_id: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.column}: {self.reason}" if self.column else f"{where}: {self.reason}"
        return f"{text} (claim {self.claim_id})" if self.claim_id else text
