"""The canonical CSV export (and profile-mapped variants), read as a stream.

The file is read twice, never held whole.  The first pass reads only the claim id
of each row and remembers, per claim, the ordinal of its last row; the second pass
validates rows and hands each claim over as soon as its last row is read.  Memory
therefore grows with the number of claims (one small int per claim) and with the
claims that are *open* at once — one, in the usual export where a claim's rows are
contiguous — while rows of a claim may still be scattered anywhere in the file.

Bytes are decoded line by line, so a Latin-1 byte in a UTF-8 file is reported on
its own physical line and the rest of the file is still read.  Rows are reported at
the physical line where they start (a quoted cell may span lines).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from domain.claim import Claim
from parsers.assemble import CanonicalRow, ClaimAssembler
from parsers.errors import RowError
from parsers.profiles import Profile, RowMapper

NOT_UTF8 = "is not UTF-8 (Latin-1 or Windows-1252 bytes?); save the export as UTF-8"


@dataclass(slots=True)
class _Record:
    line: int  # physical line where the record starts
    cells: list[str]
    bad_lines: list[int]  # physical lines of this record that were not UTF-8


class _Broken(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape"),
# so the C decoder runs at full speed and a damaged line is still found exactly.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _records(fh: BinaryIO, delimiter: str) -> Iterator[_Record]:
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _Broken(
                start,
                f"CSV quoting is broken in the row starting here ({error}); the rest of the file was not read",
            ) from None
        bad_lines: list[int] = []
        joined = delimiter.join(cells)
        if not joined.isascii():
            for match in _UNDECODED.finditer(joined):
                line = start + joined.count("\n", 0, match.start())
                if line not in bad_lines:
                    bad_lines.append(line)
        yield _Record(start, cells, bad_lines)
        start = reader.line_num + 1


def _is_blank(cells: list[str]) -> bool:
    return not cells or not "".join(cells).strip()


class CsvExportReader:
    """Iterate ``Claim`` and ``RowError`` items of one CSV export; counts ``rows_read``."""

    def __init__(self, path: Path, *, today: date, profile: Profile | None = None) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.today = today
        self.profile = profile
        self.rows_read = 0

    def _file_error(self, line: int | None, reason: str, column: str | None = None) -> RowError:
        return RowError(self.file, line, column, reason)

    def _head_problem(self) -> RowError | None:
        with open(self.path, "rb") as fh:
            head = fh.read(4096)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return self._file_error(1, "the file is UTF-16; save the export as UTF-8")
        if not head.removeprefix(codecs.BOM_UTF8).strip():
            return self._file_error(None, "the file is empty")
        return None

    def _header(self, records: Iterator[_Record]) -> tuple[RowMapper | None, list[RowError]]:
        for record in records:
            if _is_blank(record.cells):
                continue
            if record.bad_lines:
                return None, [self._file_error(record.line, f"the header line {NOT_UTF8}")]
            mapper = RowMapper(record.cells, self.profile)
            errors = [
                self._file_error(record.line, reason, column) for column, reason in mapper.header_problems
            ]
            return mapper, errors
        return None, [self._file_error(None, "the file is empty")]

    def _last_rows(self, delimiter: str) -> dict[str, int]:
        """First pass: claim key → ordinal of the claim's last data row."""
        last: dict[str, int] = {}
        with open(self.path, "rb") as fh:
            records = _records(fh, delimiter)
            mapper, errors = self._header(records)
            if mapper is None or errors:
                return last
            ordinal = 0
            try:
                for record in records:
                    if _is_blank(record.cells):
                        continue
                    key = mapper.claim_key(record.cells)
                    if key:
                        last[key] = ordinal
                    ordinal += 1
            except _Broken:
                pass
        return last

    def __iter__(self) -> Iterator[Claim | RowError]:
        problem = self._head_problem()
        if problem:
            yield problem
            return
        delimiter = self.profile.delimiter if self.profile else ","
        last_rows = self._last_rows(delimiter)
        with open(self.path, "rb") as fh:
            records = _records(fh, delimiter)
            try:
                mapper, errors = self._header(records)
            except _Broken as broken:
                yield self._file_error(broken.line, broken.reason)
                return
            if errors or mapper is None:
                yield from errors
                return
            assembler = ClaimAssembler(self.file, self.today, mapper.labels)
            ordinal = 0
            try:
                for record in records:
                    if _is_blank(record.cells):
                        continue
                    row = self._canonical_row(record, mapper)
                    self.rows_read += 1
                    last = row.claim_key is not None and last_rows.get(row.claim_key) == ordinal
                    ordinal += 1
                    yield from assembler.add(row, last_of_claim=last)
            except _Broken as broken:
                yield self._file_error(broken.line, broken.reason)
                yield from assembler.finish(broken_at=broken.line)
                return
            if self.rows_read == 0:
                yield self._file_error(None, "the file has a header but no data rows")
            yield from assembler.finish()

    def _canonical_row(self, record: _Record, mapper: RowMapper) -> CanonicalRow:
        key = mapper.claim_key(record.cells)
        if len(record.cells) != mapper.width:
            reason = f"row has {len(record.cells)} cells, the header has {mapper.width}"
            return CanonicalRow(record.line, None, key, [(None, reason)])
        cells, problems = mapper.map(record.cells)
        if record.bad_lines:
            lines = ", ".join(str(n) for n in record.bad_lines)
            damaged = [column for column, value in cells.items() if _UNDECODED.search(value)]
            for column in damaged:
                problems.append((column, f"line {lines} {NOT_UTF8}"))
            if not damaged:
                problems.append((None, f"line {lines} {NOT_UTF8}"))
        return CanonicalRow(record.line, cells, key, problems)
