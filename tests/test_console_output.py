"""console.output: the one renderer every command uses, and its exit codes."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import click
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from console.output import EXIT_ERROR, EXIT_REFUSED, CouldNotRun, Refused, emit, output_options

COLUMNS = ("claim_id", "reason", "paid")


def _command(rows: list[dict[str, object]], empty: str | None = None) -> click.Command:
    @click.command()
    @output_options
    def show(as_json: bool, as_csv: bool) -> None:
        emit("rows", COLUMNS, rows, as_json=as_json, as_csv=as_csv, empty=empty)

    return show


@given(st.lists(st.fixed_dictionaries({"claim_id": st.text(), "reason": st.text() | st.none(),
                                       "paid": st.decimals(places=2, allow_nan=False, allow_infinity=False)}),
                max_size=5))
def test_tab_separated_lines_keep_one_row_per_line_and_one_cell_per_column(rows: list[dict[str, object]]) -> None:
    out = CliRunner().invoke(_command(rows), []).output
    lines = out.splitlines()
    assert lines[0] == "claim_id\treason\tpaid"
    assert len(lines) == len(rows) + 1
    for line in lines[1:]:
        cells = line.split("\t")
        assert len(cells) == len(COLUMNS)
        assert all(text.isprintable() for text in cells)


def test_an_empty_list_on_a_pipe_is_the_header_row_not_a_sentence() -> None:
    out = CliRunner().invoke(_command([], empty="nothing here"), []).output
    assert out == "claim_id\treason\tpaid\n"


def test_csv_escapes_formulas_and_json_keeps_the_rows() -> None:
    rows: list[dict[str, object]] = [{"claim_id": "=1+1", "reason": "a\tb", "paid": Decimal("-17.35")}]
    runner = CliRunner()
    body = list(csv.reader(io.StringIO(runner.invoke(_command(rows), ["--csv"]).output)))
    assert body == [list(COLUMNS), ["'=1+1", "a b", "-17.35"]]
    assert json.loads(runner.invoke(_command(rows), ["--json"]).output) == [
        {"claim_id": "=1+1", "reason": "a\tb", "paid": "-17.35"}]
    both = runner.invoke(_command(rows), ["--json", "--csv"])
    assert both.exit_code == 2 and "choose one of --json and --csv" in both.output


def test_the_exit_code_exceptions_end_the_command_with_their_code() -> None:
    @click.command()
    @click.argument("kind")
    def fail(kind: str) -> None:
        raise Refused("some refused") if kind == "refused" else CouldNotRun("no config")

    runner = CliRunner()
    assert runner.invoke(fail, ["refused"]).exit_code == EXIT_REFUSED == 1
    assert runner.invoke(fail, ["error"]).exit_code == EXIT_ERROR == 2
