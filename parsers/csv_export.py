"""The canonical CSV export (and profile-mapped variants), read as a stream.

The file is read twice, never held whole.  The first pass reads only the claim id
of each row and remembers, per claim, the ordinal of its last row; the second pass
validates rows and hands each claim over as soon as its last row is read.  Readers
of partitions of one file (ingest workers) can be given one first pass made for all
of them; it knows where each run of another partition's records lies in the file, so
a partition's record reader is handed only the lines of its own records (and of what
follows a break in the quoting), and rows are still reported at their lines.  Memory
therefore grows with the number of claims (one small int per claim) and with the
claims that are *open* at once — one, in the usual export where a claim's rows are
contiguous — and with the runs of partitions (one per change of partition between
neighbouring claims), while rows of a claim may still be scattered anywhere in the file.

Bytes are decoded line by line, so a Latin-1 byte in a UTF-8 file is reported on
its own physical line and the rest of the file is still read.  Rows are reported at
the physical line where they start (a quoted cell may span lines).

Records are split as ``csv.reader`` splits them, by ``_Records``: a line without a
quote character by ``str.split`` (the same cells, cheaper), any other record by
``csv.reader`` itself (C, and exact for quotes, embedded line breaks and broken
quoting); both passes use it, so there is one record splitter.  The first
pass may be made in two parts, the file's top up to a line feed near its middle and the
rest (``first_pass_part``, ``joined``): read from the top, the first part is parsed as
the whole file is, and where it ends without an error the rest starts with a record.  The second
pass hands every row to ``ClaimAssembler.add``, which checks its cells through the
file's one ``parsers.rowcheck.ColumnReader``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple
from zlib import crc32

from domain.claim import Claim
from parsers.assemble import CanonicalRow, ClaimAssembler
from parsers.columns import ALL_COLUMNS
from parsers.errors import RowError
from parsers.layout import SAMPLE_ROWS, misfit_columns, width_problem
from parsers.profiles import Profile, RowMapper

NOT_UTF8 = "is not UTF-8 (Latin-1 or Windows-1252 bytes?); save the export as UTF-8"


class _Broken(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape"),
# so the C decoder runs at full speed and a damaged line is still found exactly.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _text(fh: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")


class _Records:
    """``csv.reader(lines, delimiter=delimiter, strict=True)``, record for record and line for line
    (``line_num``), for lines a text reader gives with ``newline=""`` (each ends at its one line break).

    A line without a quote character is one record whose cells lie between its delimiters:
    ``str.split`` gives exactly the cells ``csv.reader`` would (an empty line none), at about two
    thirds of its cost per row.  A line with a quote character — or longer than ``csv``'s field limit,
    which ``csv.reader`` enforces — is handed, with the lines after it, to one ``csv.reader`` kept for the
    file (``_feed``), which reads just that record (it asks for a line only as the record needs one) and
    so stays the one judge of quoting, embedded line breaks and broken quotes (``csv.Error``; nothing is
    read after one).  ``claim_keys`` is the first pass's lighter reading of the same records."""

    __slots__ = ("line_num", "_lines", "_delimiter", "_limit", "_held", "_csv")

    def __init__(self, lines: Iterable[str], delimiter: str) -> None:
        self.line_num = 0  # physical lines read so far, as ``csv.reader`` counts them
        self._lines = iter(lines)
        self._delimiter = delimiter
        self._limit = csv.field_size_limit()
        self._held: str | None = None  # the first line of the record ``_quoted`` hands ``_csv``
        self._csv = csv.reader(self._feed(), delimiter=delimiter, strict=True)

    def __iter__(self) -> _Records:
        return self

    def __next__(self) -> list[str]:
        line = next(self._lines)
        if '"' in line or len(line) > self._limit:
            return self._quoted(line)
        self.line_num += 1
        line = line.rstrip("\r\n")
        return line.split(self._delimiter) if line else []

    def _quoted(self, line: str) -> list[str]:
        reader = self._csv
        before = reader.line_num
        self._held = line
        try:
            cells: list[str] = next(reader)
        finally:
            self.line_num += reader.line_num - before
        return cells

    def _feed(self) -> Iterator[str]:
        """What ``_csv`` reads: the line ``_quoted`` holds for it, then, while that record goes on, the lines
        after it.  One reader for the file: a ``csv.reader`` made per record cost more than the record
        (a file whose every cell is quoted read 60 % slower than by ``csv.reader`` alone)."""
        lines = self._lines
        while True:
            held, self._held = self._held, None
            if held is None:  # the record goes on past its first line
                held = next(lines, None)
                if held is None:
                    return
            yield held

    def claim_keys(self, index: int | None) -> Iterator[str | None]:
        """Per record, what the first pass needs of it: the claim id cell (cell ``index``) stripped, or ""
        when it has none (no such cell, or a blank one) but is not blank, or None when the whole record
        is blank (``_is_blank``) — without splitting the cells after the claim id of an unquoted line."""
        lines, delimiter, limit = self._lines, self._delimiter, self._limit
        column = -1 if index is None else index  # -1: the file has no claim id column
        for line in lines:
            if '"' in line or len(line) > limit:
                cells = self._quoted(line)
                key = cells[column].strip() if 0 <= column < len(cells) else ""
                yield key if key or not _is_blank(cells) else None
                continue
            self.line_num += 1
            line = line.rstrip("\r\n")
            head = line.split(delimiter, column + 1) if column >= 0 else ()
            key = head[column].strip() if 0 <= column < len(head) else ""
            yield key if key or line.replace(delimiter, "").strip() else None


Record = tuple[int, list[str]]
"""A record: the physical line where it starts and its cells.  Plain tuples: the hot loop
unpacks them."""


def _may_be_padded(joined: str, space_after: str, space_before: str) -> bool:
    """Whether a cell of the record whose cells ``joined`` holds (joined by the delimiter) may
    start or end with whitespace; False only when none does, so stripping may be skipped.
    ``space_after`` is the delimiter and a space, ``space_before`` a space and the delimiter.

    A cell's first character follows a delimiter or starts the record, its last precedes one
    or ends it: an ASCII record none of whose cells is padded has no space next to a
    delimiter or at its ends, and no other ASCII whitespace anywhere.  These are a few
    ``in`` scans (memchr), cheaper than stripping every cell of every row.
    """
    return (
        not joined.isascii()  # Unicode has more whitespace than is worth listing: strip
        or "\t" in joined
        or "\n" in joined
        or "\x0b" in joined
        or "\x0c" in joined
        or "\r" in joined
        or "\x1c" in joined
        or "\x1d" in joined
        or "\x1e" in joined
        or "\x1f" in joined
        or joined[:1] == " "
        or joined[-1:] == " "
        or space_after in joined
        or space_before in joined
    )


Skip = tuple[int, int, int]
"""Physical lines a partition's reader does not hand to its record reader (``_Records``): (first line, the line
after the last, data rows in them) — whole records of other partitions."""


class _OwnLines:
    """The physical lines of a text less the ``skips`` (in order, apart), for ``_Records``.

    A skip is a run of whole records, so ``_Records`` meets record boundaries where it
    expects them and splits the records it is given exactly as in the whole file.  It asks
    for a record's lines only as it reads that record, so once it has handed over a record,
    ``lines_skipped`` and ``rows_skipped`` count what was passed over before it: its
    physical first line is the one it counted plus ``lines_skipped``.
    """

    def __init__(self, text: Iterator[str], skips: Sequence[Skip]) -> None:
        self.lines_skipped = 0
        self.rows_skipped = 0
        self._text = text
        self._skips = skips

    def __iter__(self) -> Iterator[str]:
        return self._lines() if self._skips else iter(self._text)

    def _lines(self) -> Iterator[str]:
        text = self._text
        at = 1  # the physical line the text gives next
        for first, end, rows in self._skips:
            yield from islice(text, first - at)
            deque(islice(text, end - first), maxlen=0)
            self.lines_skipped += end - first
            self.rows_skipped += rows
            at = end
        yield from text


def _records(reader: Any, lines: _OwnLines | None = None) -> Iterator[Record]:
    """Each ``Record`` of the file: nothing but its cells is looked at (``_examined`` looks
    further, for the records that are read).  ``lines``: what ``reader`` reads, when it is
    given less than the whole text; each record's line is its physical line all the same."""
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _Broken(
                start + (lines.lines_skipped if lines else 0),
                f"CSV quoting is broken in the row starting here ({error}); the rest of the file was not read",
            ) from None
        yield start + (lines.lines_skipped if lines else 0), cells
        start = reader.line_num + 1


_NO_BAD_LINES: tuple[int, ...] = ()


def _examined(start: int, cells: list[str], delimiter: str) -> tuple[Sequence[int], bool]:
    """The physical lines of the record starting at line ``start`` that were not UTF-8, and
    whether a cell of it may start or end with whitespace (False: none does).

    An ASCII record cannot hold an undecoded byte, so only others are searched.
    """
    joined = delimiter.join(cells)
    if joined.isascii():
        return _NO_BAD_LINES, _may_be_padded(joined, delimiter + " ", " " + delimiter)
    found: list[int] = []
    for match in _UNDECODED.finditer(joined):
        line = start + joined.count("\n", 0, match.start())
        if line not in found:
            found.append(line)
    return found, True


def _is_blank(cells: list[str]) -> bool:
    return not cells or not "".join(cells).strip()


Tag = tuple[int, int]  # orders the items of a partitioned read: see ``CsvExportReader.tagged``
_HEAD, _ROWS, _END = 0, 1, 2


def partition_of(claim_key: str, parts: int) -> int:
    """Which of ``parts`` partitions reads a claim: stable across processes and runs.  By the
    upper-cased id, so that ids differing only in case meet in one partition (and are refused there)."""
    return crc32(claim_key.upper().encode("utf-8", "surrogateescape")) % parts


class FirstPass(NamedTuple):
    """What the first pass found, for a read in ``parts`` partitions.

    ``places`` holds, per claim key, the ordinal of the claim's last data row and the
    partition that reads the claim as one int, ``ordinal * parts + partition``: one int
    per claim, and each row's partition looked up with its claim instead of hashed again.
    ``skips[k]``: the runs of records partition k does not read (``Skip``), so that its
    reader hands ``_Records`` only the lines of its own records; one per change of
    partition between neighbouring claims, nothing past a break in the quoting.
    """

    places: dict[str, int]
    rows: int  # data rows (not blank)
    parts: int
    skips: tuple[tuple[Skip, ...], ...] = ()


def _skips(runs: Sequence[tuple[int, int, int]], part: int) -> tuple[Skip, ...]:
    """The runs (first line, first ordinal, partition; the last one the end) that ``part``
    does not read, neighbours joined."""
    skips: list[Skip] = []
    for (first, ordinal, partition), (end, next_ordinal, _) in zip(runs, runs[1:], strict=False):
        if partition == part:
            continue
        if skips and skips[-1][1] == first:
            first, _, rows = skips.pop()
            ordinal -= rows
        skips.append((first, end, next_ordinal - ordinal))
    return tuple(skips)


def line_feed_near_middle(path: Path, *, look: int = 1 << 20) -> int | None:
    """The offset of the byte after the first line feed at or past the middle of the file (within
    ``look`` bytes of it), where the first pass may be split in two; None when there is none."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(size // 2)
        found = fh.read(look).find(b"\n")
    if found < 0 or size // 2 + found + 1 >= size:
        return None
    return size // 2 + found + 1


class PassPart(NamedTuple):
    """A stretch of the first pass (``CsvExportReader.first_pass_part``), its rows and lines counted from its
    own start: ``places`` as ``FirstPass`` has them, ``runs`` (first line, first ordinal, partition) where a
    partition's run of records starts, ``end`` the last line read of its last record, ``broken`` when the
    quoting broke after it (the rest of the file is then every partition's to read)."""

    places: dict[str, int]
    runs: list[tuple[int, int, int]]
    rows: int
    end: int
    broken: bool


def _scan_claim_ids(reader: _Records, index: int | None, parts: int, end: int) -> PassPart:
    """The first pass's loop over ``reader``'s records (after the header, if any): only the claim id cell
    is looked at (``_Records.claim_keys``); the blank-row test only for rows without one.  A run of
    records of one partition starts where the partition changes (rows without a claim id: partition 0's)."""
    places: dict[str, int] = {}
    runs: list[tuple[int, int, int]] = []
    ordinal = 0
    previous: str | None = None  # the claim key of the row before, hashed already
    partition = running = -1
    try:
        for key in reader.claim_keys(index):
            if key:
                if key != previous:  # a claim's rows are usually neighbours
                    previous, partition = key, partition_of(key, parts) if parts > 1 else 0
                    if partition != running:
                        runs.append((end + 1, ordinal, partition))
                        running = partition
                places[key] = ordinal * parts + partition
            elif key is None:  # a blank record
                end = reader.line_num
                continue
            else:
                previous = None
                if running != 0:
                    runs.append((end + 1, ordinal, 0))
                    running = 0
            ordinal += 1
            end = reader.line_num
    except csv.Error:
        return PassPart(places, runs, ordinal, end, broken=True)  # the records after ``end``: every partition's
    return PassPart(places, runs, ordinal, end, broken=False)


class _Prefix(io.RawIOBase):
    """The first ``size`` bytes of a binary file, as a file of their own (for ``io.TextIOWrapper``)."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self._fh = fh
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[:self._left]
        if not view:
            return 0
        got = self._fh.readinto(view)  # type: ignore[attr-defined]
        self._left -= got or 0
        return got or 0


class CsvExportReader:
    """Iterate ``Claim`` and ``RowError`` items of one CSV export; counts ``rows_read``.

    ``partition=(k, n)`` reads only the claims with ``partition_of(key, n) == k`` (and,
    in partition 0, the errors that belong to no claim), so that n processes can share
    one export; ``tagged`` gives each item a key that merges the n streams back into the
    order of a whole read.  ``first_pass``: the ``first_pass()`` of a reader of the same file
    and number of parts, made once for all of them (otherwise each makes its own).
    """

    def __init__(self, path: Path, *, today: date, profile: Profile | None = None,
                 partition: tuple[int, int] = (0, 1), first_pass: FirstPass | None = None) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.today = today
        self.profile = profile
        self.rows_read = 0
        self.rows_total = 0  # data rows and claim ids in the file, once the first pass has counted them
        self.claims_total = 0
        self.part, self.parts = partition
        self.given_first_pass = first_pass  # made once for the file by whoever starts the partitions
        if not 0 <= self.part < self.parts:
            raise ValueError(f"partition {partition} is not (k, n) with 0 <= k < n")

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

    def _header(
        self, records: Iterable[Record], delimiter: str
    ) -> tuple[RowMapper | None, list[RowError], int]:
        """The row mapper, the header's errors, and the physical line of the header."""
        for line, cells in records:
            if _is_blank(cells):
                continue
            if _examined(line, cells, delimiter)[0]:
                return None, [self._file_error(line, f"the header line {NOT_UTF8}")], line
            mapper = RowMapper(cells, self.profile)
            errors = [self._file_error(line, reason, column) for column, reason in mapper.header_problems]
            return mapper, errors, line
        return None, [self._file_error(None, "the file is empty")], 0

    def _layout_problems(self, mapper: RowMapper, delimiter: str) -> list[RowError]:
        """Whether the first rows fit the header (``parsers.layout``): a shifted header or a
        profile mapping the wrong columns refuses the file before any row is read."""
        rows: list[dict[str, str]] = []
        widths: list[int] = []
        header_line = 0
        with open(self.path, "rb") as fh:
            records = _records(_Records(_text(fh), delimiter))
            try:
                _, _, header_line = self._header(records, delimiter)
                for line, cells in records:
                    if _is_blank(cells):
                        continue
                    widths.append(len(cells))
                    bad_lines, padded = _examined(line, cells, delimiter)
                    if len(cells) == mapper.width and not bad_lines:
                        rows.append(dict(zip(ALL_COLUMNS, mapper.map(cells, padded)[0], strict=True)))
                    if len(widths) >= SAMPLE_ROWS:
                        break
            except _Broken:
                pass  # the main pass reports where the quoting broke
        problem = width_problem(widths, mapper.width)
        if problem is not None:
            return [self._file_error(header_line, problem)]
        return [
            self._file_error(header_line, reason, mapper.labels.get(column, column))
            for column, reason in misfit_columns(rows, mapper.positions())
        ]

    def first_pass(self) -> FirstPass:
        """First pass: each claim key's last data row and partition (``FirstPass``), and the
        number of data rows.  ``usecases.ingest_workers`` makes it once for all its workers
        (in two halves at once: ``first_pass_part``, ``joined``)."""
        part = self.first_pass_part()
        return FirstPass({}, rows=0, parts=self.parts) if part is None else self.joined(part)

    def first_pass_part(self, start: int = 0, stop: int | None = None) -> PassPart | None:
        """The first pass over the file's bytes up to ``stop`` or from ``start`` on (one of the two, or
        the whole file), which ``joined`` makes whole.  ``start`` and ``stop`` fall after a line feed
        (``line_feed_near_middle``); a part from ``start`` is read as a run of whole records, its lines
        and rows counted from there.

        None when there is nothing to read: the header is broken or refused (the main pass reports
        it), or the part ending at ``stop`` does not end where a record ends — ``csv.reader`` (strict)
        refused what it read, a quoted cell running on past ``stop`` among what it may refuse.  Read
        from the top, a part is parsed exactly as the whole file is up to ``stop``; ending without an
        error after a line feed it ends at a record's end, so the part after it is whole records too.
        """
        if start and stop is not None:
            raise ValueError("a part of the first pass starts at the top or ends at the end of the file")
        delimiter = self.profile.delimiter if self.profile else ","
        with open(self.path, "rb") as fh:
            text = _text(fh if stop is None else _Prefix(fh, stop))  # type: ignore[arg-type]
            reader = _Records(text, delimiter)
            try:
                mapper, errors, _ = self._header(_records(reader), delimiter)
            except _Broken:
                return None
            if mapper is None or errors:
                return None
            end = reader.line_num  # the last line of the record before
            if start:
                text.detach()  # the file stays open for the part's own reader
                fh.seek(start)
                # Not "utf-8-sig": a byte-order mark is the file's first bytes, not the start of a part.
                reader = _Records(io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline=""),
                                     delimiter)
                end = 0
            part = _scan_claim_ids(reader, mapper.claim_id_index, self.parts, end)
        if stop is not None and part.broken:
            return None
        return part

    def joined(self, first: PassPart, *rest: PassPart) -> FirstPass:
        """The ``FirstPass`` of parts of the file read one after the other (``first_pass_part``); a part
        that broke (the quoting) ends the pass, as it ends a pass of the whole file.  The first part's
        places and runs become the pass's (the parts are spent)."""
        parts = self.parts
        places, runs, rows, end = first.places, first.runs, first.rows, first.end  # taken over, not copied
        broken = first.broken
        for part in rest:
            if broken:
                break
            offset = rows * parts
            for key, place in part.places.items():
                places[key] = place + offset
            for line, ordinal, partition in part.runs:
                if runs and runs[-1][2] == partition and ordinal == 0:
                    continue  # the run goes on across the parts' border
                runs.append((line + end, ordinal + rows, partition))
            rows, end, broken = rows + part.rows, end + part.end, part.broken
        runs.append((end + 1, rows, -1))
        return FirstPass(places, rows=rows, parts=parts, skips=tuple(_skips(runs, k) for k in range(parts)))

    def __iter__(self) -> Iterator[Claim | RowError]:
        for _tag, item in self.tagged():
            yield item

    def tagged(self) -> Iterator[tuple[Tag, Claim | RowError]]:
        """The items with their order in a whole read: (0, 0) before the rows, (1, ordinal of
        the row that decided it), (2, first line of the claim) for what the end of the file
        decides, (2, -1) for the file's own errors there.  Partitions never share a tag but
        (0, 0) and (2, -1), which only partition 0 gives."""
        first = self.part == 0
        problem = self._head_problem()
        if problem:
            if first:
                yield (_HEAD, 0), problem
            return
        delimiter = self.profile.delimiter if self.profile else ","
        first_pass = self.given_first_pass
        if first_pass is None or first_pass.parts != self.parts:
            first_pass = self.first_pass()
        places = first_pass.places
        self.rows_total, self.claims_total = first_pass.rows, len(places)
        parts, part = self.parts, self.part
        with open(self.path, "rb") as fh:
            lines = _OwnLines(_text(fh), first_pass.skips[part] if first_pass.skips else ())
            reader = _Records(lines, delimiter)
            records = _records(reader, lines)
            try:
                mapper, errors, _ = self._header(records, delimiter)
            except _Broken as broken:
                if first:
                    yield (_HEAD, 0), self._file_error(broken.line, broken.reason)
                return
            if not errors and mapper is not None:
                errors = self._layout_problems(mapper, delimiter)
            if errors or mapper is None:
                if first:
                    for error in errors:
                        yield (_HEAD, 0), error
                return
            assembler = ClaimAssembler(self.file, self.today, mapper.labels)
            index = mapper.claim_id_index
            read = 0  # rows handed to this reader; with ``lines.rows_skipped``, the row's ordinal
            try:
                for line, cells in records:
                    # mapper.claim_key, inline: a row with a claim id is not blank
                    key = cells[index].strip() or None if index is not None and index < len(cells) else None
                    if key is None:
                        if _is_blank(cells):
                            continue
                        place = None
                    else:
                        place = places.get(key)
                    read += 1
                    ordinal = self.rows_read = read + lines.rows_skipped
                    if parts > 1 and (not first if key is None else (
                            place % parts if place is not None else partition_of(key, parts)) != part):
                        continue  # another partition's row: its cells are not examined
                    tag = (_ROWS, ordinal - 1)
                    last = place is not None and place // parts == ordinal - 1
                    bad_lines, padded = _examined(line, cells, delimiter)
                    row = self._canonical_row(line, cells, bad_lines, padded, key, mapper)
                    for item in assembler.add(row, last_of_claim=last):
                        yield tag, item
            except _Broken as broken:
                self.rows_read = read + lines.rows_skipped
                if first:
                    yield (_END, -1), self._file_error(broken.line, broken.reason)
                for first_line, item in assembler.finish_tagged(broken_at=broken.line):
                    yield (_END, first_line), item
                return
            self.rows_read = read + lines.rows_skipped  # other partitions' rows after its last
            if self.rows_read == 0 and first:
                yield (_END, -1), self._file_error(None, "the file has a header but no data rows")
            for first_line, item in assembler.finish_tagged():
                yield (_END, first_line), item

    def _canonical_row(
        self, line: int, record: list[str], bad_lines: Sequence[int], padded: bool, key: str | None, mapper: RowMapper
    ) -> CanonicalRow:
        """The row as ``add`` takes it: canonical cells and the problems met reading it."""
        if len(record) != mapper.width:
            reason = f"row has {len(record)} cells, the header has {mapper.width}"
            return CanonicalRow(line, None, key, [(None, reason)])
        cells, problems = mapper.map(record, padded)
        if bad_lines:
            lines = ", ".join(str(n) for n in bad_lines)
            damaged = [ALL_COLUMNS[at] for at in mapper.file_order if _UNDECODED.search(cells[at])]
            for column in damaged:
                problems.append((column, f"line {lines} {NOT_UTF8}"))
            if not damaged:
                problems.append((None, f"line {lines} {NOT_UTF8}"))
        return CanonicalRow(line, cells, key, problems)
