"""The first pass of a CSV export made in two halves at once (``usecases.ingest_workers.shared_first_pass``)
is the first pass of the whole file: the same places, rows and skips, whatever the quoting, line ends, blank
rows and rows without a claim id; where the halves cannot be joined, the whole pass is made instead."""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parsers.csv_export as csv_export
from parsers.columns import ALL_COLUMNS
from parsers.csv_export import CsvExportReader, line_feed_near_middle
from usecases.ingest_workers import shared_first_pass

TODAY = date(2026, 12, 1)
SHOWN = ("claim_id", "payer_name", "subscriber_address1", "charge")  # the cells the tests fill; the rest empty

cells = st.text(alphabet=st.sampled_from(list('ab ,"\n\r\té')), max_size=6)
rows = st.lists(st.one_of(
    st.tuples(st.sampled_from(["C1", "C2", "c3", "C4", " C5 ", ""]), cells, cells, cells).map(list),
    st.just([]),  # a blank row
), max_size=25)


def _export(path: Path, body: list[list[str]], line_end: str, bom: bool, *, id_last: bool = False) -> Path:
    """An export of the canonical columns (the claim id first, or last if ``id_last``); each row of ``body``
    fills ``SHOWN``, an empty row is a blank line."""
    header = list(reversed(ALL_COLUMNS) if id_last else ALL_COLUMNS)
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator=line_end)
    writer.writerow(header)
    for row in body:
        if row:
            values = dict(zip(SHOWN, row, strict=True))
            writer.writerow([values.get(name, "") for name in header])
        else:
            text.write(line_end)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode("utf-8"))
    return path


def _line_feeds(path: Path) -> list[int]:
    data = path.read_bytes()
    return [at + 1 for at in range(len(data) - 1) if data[at:at + 1] == b"\n"]


@settings(max_examples=150, deadline=None)
@given(body=rows, line_end=st.sampled_from(["\r\n", "\n", "\r"]), bom=st.booleans(), parts=st.sampled_from([2, 3]),
       id_last=st.booleans())
def test_two_parts_joined_are_the_whole_first_pass(tmp_path_factory, body, line_end, bom, parts, id_last):
    path = _export(tmp_path_factory.mktemp("halves") / "export.csv", body, line_end, bom, id_last=id_last)
    reader = CsvExportReader(path, today=TODAY, partition=(0, parts))
    whole = reader.first_pass()
    header_end = path.read_bytes().index(b"\n") + 1 if line_end != "\r" else 0
    for split in _line_feeds(path):
        first = reader.first_pass_part(stop=split)
        if first is None:  # the split is inside a quoted cell (or the quoting broke): the whole pass instead
            assert b'"' in path.read_bytes()
            continue
        second = reader.first_pass_part(start=split)
        assert second is not None
        assert reader.joined(first, second) == whole, split
        if split > header_end and b'"' not in path.read_bytes():
            assert first.rows + second.rows == whole.rows


def test_a_broken_quote_in_the_second_half_ends_the_pass_where_the_whole_pass_ends(tmp_path):
    body = [[f"C{n}", "PLAN", "1 Main St", "10"] for n in range(40)]
    path = _export(tmp_path / "export.csv", body, "\r\n", False)
    data = path.read_bytes().replace(b"\r\nC35,", b'\r\n"C35"x,', 1)  # quoting that breaks near the end
    path.write_bytes(data)
    reader = CsvExportReader(path, today=TODAY, partition=(0, 2))
    whole = reader.first_pass()
    assert whole.rows == 35  # the rows before the break
    middle = line_feed_near_middle(path)
    assert middle is not None
    second = reader.first_pass_part(start=middle)
    assert second is not None and second.broken
    assert reader.joined(reader.first_pass_part(stop=middle), second) == whole  # type: ignore[arg-type]
    assert shared_first_pass(reader, os.getpid()) == whole


def test_a_quoted_cell_across_the_middle_falls_back_to_the_whole_pass(tmp_path, monkeypatch):
    body = [[f"C{n}", "PLAN", "1 Main St", "10"] for n in range(40)]
    body[20][2] = "Building 2\n" * 400  # line feeds inside one quoted cell, around the middle of the file
    path = _export(tmp_path / "export.csv", body, "\r\n", False)
    reader = CsvExportReader(path, today=TODAY, partition=(0, 2))
    middle = line_feed_near_middle(path)
    assert middle is not None and reader.first_pass_part(stop=middle) is None
    whole = reader.first_pass()
    made: list[tuple[int | None, int | None]] = []
    real = CsvExportReader.first_pass_part

    def recorded(self, start=0, stop=None):  # type: ignore[no-untyped-def]
        made.append((start, stop))
        return real(self, start, stop)

    monkeypatch.setattr(CsvExportReader, "first_pass_part", recorded)
    assert shared_first_pass(reader, os.getpid()) == whole
    assert (0, middle) in made and (0, None) in made  # the half here, then the whole pass here


def test_a_helper_that_fails_leaves_the_whole_pass_to_the_ingest(tmp_path, monkeypatch):
    body = [[f"C{n % 7}", "PLAN", "1 Main St", "10"] for n in range(60)]
    path = _export(tmp_path / "export.csv", body, "\n", True)
    reader = CsvExportReader(path, today=TODAY, partition=(0, 2))
    whole = reader.first_pass()
    real = CsvExportReader.first_pass_part

    def failing_from_the_middle(self, start=0, stop=None):  # type: ignore[no-untyped-def]
        if start:
            raise OSError("the helper could not read the file")
        return real(self, start, stop)

    monkeypatch.setattr(CsvExportReader, "first_pass_part", failing_from_the_middle)
    assert shared_first_pass(reader, os.getpid()) == whole


def test_the_middle_is_after_a_line_feed_past_half_the_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"claim_id\r\n" + b"C1\r\n" * 10)
    middle = line_feed_near_middle(path)
    size = path.stat().st_size
    assert middle is not None and size // 2 < middle < size and path.read_bytes()[middle - 1:middle] == b"\n"
    path.write_bytes(b"claim_id,x\r\nC1," + b"y" * 100)  # no line feed past the middle
    assert line_feed_near_middle(path) is None


def test_a_part_is_the_top_or_the_rest_of_the_file(tmp_path):
    path = _export(tmp_path / "export.csv", [["C1", "a", "b", "1"]], "\n", False)
    with pytest.raises(ValueError, match="top or ends at the end"):
        CsvExportReader(path, today=TODAY).first_pass_part(start=5, stop=9)


def test_the_halves_read_the_benchmark_export_as_the_whole_pass(tmp_path):
    """A synthetic export as the benchmark writes it (CRLF, many claims, both partitions interleaved)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from gen_export import synthetic_claims

    from parsers.writer import write_csv_export

    path = tmp_path / "export.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        write_csv_export(synthetic_claims(3000, 11), out)
    reader = CsvExportReader(path, today=TODAY, partition=(0, 2))
    whole = reader.first_pass()
    assert whole.rows == 3000 and len(whole.skips[0]) > 10
    assert shared_first_pass(reader, os.getpid()) == whole
    assert csv_export.line_feed_near_middle(path) is not None
