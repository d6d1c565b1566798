"""``parsers.csv_export._Records`` splits an export's lines exactly as ``csv.reader(..., strict=True)`` does:
the same cells for every record, the same physical line count after each, the same ``csv.Error`` at the same
record — for unquoted lines (split by ``str.split``), quoted ones (``csv.reader``'s), lines longer than the
field limit, CR / LF / CRLF, blank lines, NULs, undecodable bytes and any delimiter a profile may name; and
its first-pass reading (``claim_keys``) gives what the cells give."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.csv_export import _is_blank, _Records

CHARACTERS = list('ab ,;|\t"\n\r\x00é\udc80') + ["  ", ",,", '""']
texts = st.lists(st.sampled_from(CHARACTERS), max_size=60).map("".join)


def _lines(text: str) -> list[str]:
    """The text's physical lines as the readers get them (``newline=""``: each keeps its line break)."""
    return list(io.StringIO(text, newline=""))


def _read(reader: Any) -> Iterator[tuple[list[str] | str, int]]:
    """A reader's records, each with the lines read so far; a ``csv.Error`` as its message, last."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield f"csv.Error: {error}", -1
            return
        yield cells, reader.line_num


def _csv_records(lines: list[str], delimiter: str) -> list[tuple[list[str] | str, int]]:
    return list(_read(csv.reader(lines, delimiter=delimiter, strict=True)))


def _our_records(lines: list[str], delimiter: str) -> list[tuple[list[str] | str, int]]:
    return list(_read(_Records(lines, delimiter)))


def _csv_keys(lines: list[str], delimiter: str, index: int | None) -> list[str | None]:
    """What the first pass took from ``csv.reader``'s cells before ``claim_keys``."""
    out: list[str | None] = []
    for cells in csv.reader(lines, delimiter=delimiter, strict=True):
        key = cells[index].strip() if index is not None and index < len(cells) else None
        out.append(key if key else (None if _is_blank(cells) else ""))
    return out


@settings(max_examples=600, deadline=None)
@given(text=texts, delimiter=st.sampled_from([",", ";", "|", "\t"]))
def test_records_are_csv_readers_records(text: str, delimiter: str) -> None:
    lines = _lines(text)
    assert _our_records(lines, delimiter) == _csv_records(lines, delimiter)


@settings(max_examples=600, deadline=None)
@given(text=texts, delimiter=st.sampled_from([",", "\t"]), index=st.sampled_from([None, 0, 1, 3]))
def test_claim_keys_are_what_the_cells_give(text: str, delimiter: str, index: int | None) -> None:
    lines = _lines(text)
    try:
        expected = _csv_keys(lines, delimiter, index)
    except csv.Error:
        with pytest.raises(csv.Error):
            list(_Records(lines, delimiter).claim_keys(index))
        return
    reader = _Records(lines, delimiter)
    assert list(reader.claim_keys(index)) == expected
    assert reader.line_num == len(lines)


def test_a_line_longer_than_the_field_limit_is_refused_as_csv_refuses_it() -> None:
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(20)
        lines = _lines("a,b\n" + "x" * 25 + ",c\nd,e\n")
        assert _our_records(lines, ",") == _csv_records(lines, ",") == [
            (["a", "b"], 1), ("csv.Error: field larger than field limit (20)", -1)]
        lines = _lines("a,b\n" + "x,y," * 6 + "z\n")  # long, but each field within the limit
        assert _our_records(lines, ",") == _csv_records(lines, ",")
    finally:
        csv.field_size_limit(limit)


def test_a_quoted_record_across_lines_is_read_whole_and_counted() -> None:
    lines = _lines('C1,"two\r\nlines",x\r\nC2,plain,y\r\n\r\nC3,"a ""quote""",z')
    reader = _Records(lines, ",")
    assert [(cells, reader.line_num) for cells in reader] == [
        (["C1", "two\r\nlines", "x"], 2), (["C2", "plain", "y"], 3), ([], 4), (["C3", 'a "quote"', "z"], 5)]
