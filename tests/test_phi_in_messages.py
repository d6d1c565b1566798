"""No cell of a mis-laid export reaches a message, a report or a log (reliability item 49).

Exports with member names, ids, dates of birth and addresses set to marker values
are damaged the ways real ones are — no header, a header rotated against its data,
a column the header lacks, two columns swapped, a mapping profile that points at the
wrong columns, a tab-separated file read as CSV and the reverse, XML with values in
the wrong elements — and every message the parser gives is searched for every
marker.  Then the whole command line (`ingest`, `nightly` with its run report and
JSON log) is run on such files, on SQLite and on PostgreSQL, and its output searched.

One mis-mapping no content check can tell from a correct one is left out on
purpose: member ids under ``claim_id`` (both are ids of letters and digits), so
messages that name the claim would name the member.  README says so.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.export import parse_export
from tests.cli_in_process import run_bhclaims
from tests.conftest import FIXTURE_TODAY
from tests.examples import scaled

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "fixtures" / "exports" / "good" / "canonical.csv"
PHI_COLUMNS = (
    "subscriber_id",
    "subscriber_last",
    "subscriber_first",
    "subscriber_dob",
    "subscriber_address1",
    "subscriber_city",
    "patient_last",
    "patient_first",
    "patient_dob",
)
MUTATIONS = (
    "headerless",
    "rotated_header",
    "extra_leading_column",
    "swapped_columns",
    "profile_maps_wrong_columns",
    "tsv_read_as_csv",
    "csv_read_as_tsv",
)


def _template() -> tuple[list[str], list[dict[str, str]]]:
    with TEMPLATE.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or ()), list(reader)


HEADER, TEMPLATE_ROWS = _template()

names = st.from_regex(r"Qz[a-z]{6,9}", fullmatch=True)
member_ids = st.from_regex(r"[A-Z]{0,2}[0-9]{9,11}", fullmatch=True)
births = st.dates(date(1931, 1, 1), date(2004, 12, 28))


@st.composite
def marked_rows(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[str]]:
    """Template rows with every PHI cell set to a marker; the markers (and a DOB's other forms)."""
    count = draw(st.integers(1, 4))
    rows, markers = [], []
    for template in TEMPLATE_ROWS[:count]:
        row = dict(template)
        for column in PHI_COLUMNS:
            if column.startswith("patient_") and not template[column]:
                continue
            if column.endswith("_dob"):
                born = draw(births)
                value = born.isoformat()
                markers += [value, born.strftime("%m/%d/%Y")]
            elif column == "subscriber_id":
                value = draw(member_ids)
                markers.append(value)
            elif column == "subscriber_address1":
                value = f"{draw(st.integers(1, 9999))} {draw(names)} Street"
                markers.append(value)
            else:
                value = draw(names)
                markers.append(value)
            row[column] = value
        rows.append(row)
    return rows, markers


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def mislaid_export(folder: Path, rows: list[dict[str, str]], mutation: str, data: st.DataObject) -> tuple[Path, Path | None]:
    """Write ``rows`` damaged by ``mutation``; (export, profile or None)."""
    cells = [[row[column] for column in HEADER] for row in rows]
    export = folder / "export.csv"
    if mutation == "headerless":
        return _write(export, (), cells), None
    if mutation == "rotated_header":
        shift = data.draw(st.integers(1, len(HEADER) - 1), label="shift")
        return _write(export, HEADER[shift:] + HEADER[:shift], cells), None
    if mutation == "extra_leading_column":
        extra = data.draw(st.sampled_from(("subscriber_last", "subscriber_id", "subscriber_dob")), label="extra")
        return _write(export, HEADER, [[row[extra], *line] for row, line in zip(rows, cells, strict=True)]), None
    if mutation == "swapped_columns":
        phi = data.draw(st.sampled_from(PHI_COLUMNS), label="phi column")
        others = [c for c in HEADER if c != phi and {phi, c} != {"subscriber_id", "claim_id"}]  # see the module doc
        other = data.draw(st.sampled_from(others), label="other column")
        header = list(HEADER)
        i, j = header.index(phi), header.index(other)
        header[i], header[j] = header[j], header[i]
        return _write(export, header, cells), None
    if mutation == "profile_maps_wrong_columns":
        pm_names = [f"Field {chr(65 + n // 26)}{chr(65 + n % 26)}" for n in range(len(HEADER))]
        member_column = HEADER.index("subscriber_id")
        wrong = st.permutations(HEADER).filter(lambda t: t != HEADER and t[member_column] != "claim_id")  # module doc
        targets = data.draw(wrong, label="targets")
        profile = folder / "profile.toml"
        lines = ["[profile]", 'name = "wrong"', "[columns]"]
        lines += [f"{_toml_string(pm)} = {_toml_string(target)}" for pm, target in zip(pm_names, targets, strict=True)]
        profile.write_text("\n".join(lines) + "\n")
        return _write(export, pm_names, cells), profile
    if mutation == "tsv_read_as_csv":
        return _write(export, HEADER, cells, delimiter="\t"), None
    if mutation == "csv_read_as_tsv":
        profile = folder / "tab.toml"
        profile.write_text('[profile]\nname = "tab"\ndelimiter = "\\t"\n')
        return _write(export, HEADER, cells), profile
    raise AssertionError(mutation)


def leaked(texts: Sequence[str], markers: Sequence[str]) -> list[str]:
    return sorted({marker for marker in markers for text in texts if marker in text})


@settings(max_examples=scaled(120), deadline=None)
@given(marked=marked_rows(), mutation=st.sampled_from(MUTATIONS), data=st.data())
def test_no_cell_value_in_any_parser_message(
    tmp_path_factory: pytest.TempPathFactory, marked: tuple[list[dict[str, str]], list[str]], mutation: str,
    data: st.DataObject,
) -> None:
    rows, markers = marked
    folder = tmp_path_factory.mktemp("mislaid")
    export, profile = mislaid_export(folder, rows, mutation, data)
    result = parse_export(export, today=FIXTURE_TODAY, profile=profile)
    messages = [str(error) for error in result.errors]
    assert not leaked(messages, markers), messages
    if mutation in ("headerless", "extra_leading_column", "tsv_read_as_csv", "csv_read_as_tsv"):
        assert result.claims == () and result.errors  # the layout is refused as a whole, by position


def test_the_layout_messages_say_what_is_wrong(tmp_path: Path) -> None:
    rows = [[row[column] for column in HEADER] for row in TEMPLATE_ROWS]
    headerless = parse_export(_write(tmp_path / "a.csv", (), rows), today=FIXTURE_TODAY)
    (error,) = headerless.errors
    assert error.line == 1 and "holds values (numbers or dates), not column names" in error.reason
    tsv = parse_export(_write(tmp_path / "b.csv", HEADER, rows, delimiter="\t"), today=FIXTURE_TODAY)
    (error,) = tsv.errors
    assert "one column that holds tab characters" in error.reason and 'delimiter = "\\t"' in error.reason
    rotated = parse_export(_write(tmp_path / "c.csv", HEADER[1:] + HEADER[:1], rows), today=FIXTURE_TODAY)
    assert rotated.claims == () and all(e.line == 1 for e in rotated.errors)
    # rotated by one: the name service_date now heads the column before it (1-based: its old index)
    assert any(e.column == "service_date" and f"has a date in column {HEADER.index('service_date')}:" in e.reason
               for e in rotated.errors)
    odd = parse_export(_write(tmp_path / "e.csv", [*HEADER, "notes 2026"], [[*row, ""] for row in rows]),
                       today=FIXTURE_TODAY)
    (error,) = odd.errors  # a header with one odd name is still a header: the name is given
    assert error.column == "notes 2026" and f"unknown column (column {len(HEADER) + 1})" in error.reason
    wide = parse_export(_write(tmp_path / "d.csv", HEADER, [["x", *row] for row in rows]), today=FIXTURE_TODAY)
    (error,) = wide.errors
    assert f"the header has {len(HEADER)} columns but the first {len(rows)} rows have {len(HEADER) + 1}" in error.reason


def test_xml_with_values_in_the_wrong_elements_quotes_none(tmp_path: Path) -> None:
    source = (REPO / "fixtures" / "exports" / "good" / "canonical.xml").read_text()
    markers = ["Marchetti", "918273645", "1988-04-12", "14 Lantern Way", "Lucia"]
    swaps = {
        "<charge>225.00</charge>": "<charge>Marchetti</charge>",
        "<procedure_code>90791</procedure_code>": "<procedure_code>918273645</procedure_code>",
        "<service_date>2026-09-01</service_date>": "<service_date>1988-04-12x</service_date>",
        "<place_of_service>11</place_of_service>": "<place_of_service>14 Lantern Way</place_of_service>",
        "<units>1</units>": "<units>Lucia</units>",
    }
    for old, new in swaps.items():
        assert old in source
        text = source.replace(old, new, 1)
        path = tmp_path / "export.xml"
        path.write_text(text)
        result = parse_export(path, today=FIXTURE_TODAY)
        messages = [str(e) for e in result.errors]
        assert result.errors and not leaked(messages, markers), messages
    for broken in ("<Marchetti>", "<pm_export>&Marchetti;</pm_export>", "<a>Lucia</b>"):
        path = tmp_path / "broken.xml"
        path.write_text(broken)
        messages = [str(e) for e in parse_export(path, today=FIXTURE_TODAY).errors]
        assert messages and not leaked(messages, markers), messages


# ---- the command line: stderr, stdout, nightly's report and its JSON log ----------------


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=300)


CLI_CASES = ("headerless", "rotated_header", "profile_maps_wrong_columns", "tsv_read_as_csv")


@pytest.mark.parametrize("mutation", CLI_CASES)
def test_no_cell_value_on_the_terminal_in_the_report_or_the_log(tmp_path: Path, db_url: str, mutation: str) -> None:
    folder = tmp_path / "practice"
    assert run_bhclaims(["--db", db_url, "init", str(folder)], cwd=tmp_path).returncode == 0  # the set-up
    # SQLite: a process of its own, all it writes (what cron mails); PostgreSQL: the same commands in this
    # process (``tests.cli_in_process``), where the database's own words reach the same streams
    command = _cli if db_url.startswith("sqlite") else (lambda args, cwd: run_bhclaims(args, cwd=cwd))
    rows = [dict(row) for row in TEMPLATE_ROWS]
    markers = [row[column] for row in rows for column in PHI_COLUMNS if row[column]]
    assert "Marchetti" in markers

    class Fixed:
        """``data.draw`` for a fixed example: the first choice each time."""

        def draw(self, strategy: st.SearchStrategy, label: str = "") -> object:  # type: ignore[type-arg]
            if label == "shift":
                return 3
            if label == "targets":
                targets = list(HEADER)
                charge, last = targets.index("charge"), targets.index("subscriber_last")
                targets[charge], targets[last] = targets[last], targets[charge]
                return targets
            raise AssertionError(label)

    export, profile = mislaid_export(tmp_path, rows, mutation, Fixed())  # type: ignore[arg-type]
    by_hand = command(["--db", db_url, "--log-format", "json", "ingest", str(export)]
                   + (["--profile", str(profile)] if profile else []), cwd=folder)
    assert by_hand.returncode == 1, by_hand.stdout + by_hand.stderr
    texts = [by_hand.stdout, by_hand.stderr]

    if profile is None:  # nightly reads the drop folder without a profile
        drop = folder / "drop"
        drop.mkdir(mode=0o700, exist_ok=True)
        (drop / "export.csv").write_bytes(export.read_bytes())
        run = command(["--db", db_url, "--log-format", "json", "nightly", "--settle-seconds", "0"], cwd=folder)
        assert run.returncode == 1, run.stdout + run.stderr
        texts += [run.stdout, run.stderr]
        texts += [path.read_text() for path in (folder / "reports").iterdir()]
        assert any("nothing in the file was read" in text for text in texts)
    assert not leaked(texts, markers), leaked(texts, markers)
