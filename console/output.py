"""Every command's output and exit code, in one place.

Rows are shown four ways, chosen by the command's flags and by where stdout goes:

- a rich table on a terminal (each cell a ``Text``: no markup, controls shown as escapes);
- tab-separated lines with a header row when stdout is a pipe or a file (cron, ``cut``,
  ``sort``): one line per row, always the same columns, a cell's whitespace folded so a
  tab or a newline in the data cannot make a column or a row;
- ``--json`` (the rows as they are) and ``--csv`` (header row first).

CSV and tab-separated cells that would start a spreadsheet formula get a ``'``
(``runtime.escaping``).  The exit codes are exceptions click knows how to end with:
``Refused`` (1: some input refused, the rest processed) and ``CouldNotRun`` (2: usage,
configuration or environment).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from runtime.escaping import spreadsheet_cell, terminal_cell, visible

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2

MONEY_COLUMNS = frozenset({
    "billed", "paid", "denied", "adjusted", "balance", "charge", "patient_responsibility", "deposit",
    "claims_paid", "provider_adjustments", "difference", "amount", "total", "0-30", "31-60", "61-90", "90+",
})


class Refused(click.ClickException):
    """Some input was refused; the rest was processed (exit 1)."""

    exit_code = EXIT_REFUSED


class CouldNotRun(click.ClickException):
    """The command could not do its work: usage, configuration, environment (exit 2)."""

    exit_code = EXIT_ERROR


def say(line: str, *, err: bool = False) -> None:
    """One line for a person: data in it (claim ids, file names, reasons) cannot drive the terminal."""
    click.echo(visible(line), err=err)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def cell(value: Any) -> str:
    """One cell as text; a string's whitespace folded so it stays one cell of one line."""
    if value is None:
        return ""
    return " ".join(value.split()) if isinstance(value, str) else str(value)


def emit(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    as_json: bool = False,
    as_csv: bool = False,
    empty: str | None = None,
) -> None:
    """Rows as JSON, CSV, a rich table (terminal) or stable tab-separated lines (pipe, cron).

    ``empty`` is said instead of an empty table on a terminal; a pipe still gets the header row,
    so a script reading the columns sees the same shape with no rows.
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    if as_json:
        print_json(list(rows))
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([spreadsheet_cell(cell(row.get(c))) for c in columns])
        click.echo(out.getvalue(), nl=False)
        return
    table_rows = [[cell(row.get(c)) for c in columns] for row in rows]
    if not sys.stdout.isatty():
        click.echo("\t".join(columns))
        for table_row in table_rows:
            click.echo("\t".join(spreadsheet_cell(text) for text in table_row))
        return
    if not rows and empty is not None:
        say(empty)
        return
    table = Table(title=terminal_cell(title))
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right" if column in MONEY_COLUMNS else "left")
    for table_row in table_rows:
        table.add_row(*(terminal_cell(text) for text in table_row))
    Console(highlight=False, soft_wrap=True).print(table)


def emit_stream(
    title: Callable[[int], str],
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    as_json: bool = False,
    empty: str | None = None,
) -> int:
    """Rows written as they come, for listings that may run to millions of rows; returns how many.

    ``--json`` writes one JSON object per line (JSON Lines) and a pipe gets tab-separated lines,
    so neither holds the listing in memory.  A terminal gets ``emit``'s table (a person does
    not scroll a million rows); ``title`` is given the number of rows.
    """
    count = 0
    if as_json:
        write = sys.stdout.write
        for row in rows:
            write(json.dumps(row, default=str))
            write("\n")
            count += 1
        sys.stdout.flush()
        return count
    if not sys.stdout.isatty():
        write = sys.stdout.write
        write("\t".join(columns) + "\n")
        for row in rows:
            write("\t".join(spreadsheet_cell(cell(row.get(c))) for c in columns))
            write("\n")
            count += 1
        sys.stdout.flush()
        return count
    listed = list(rows)
    emit(title(len(listed)), columns, listed, empty=empty)
    return len(listed)


def _json_text(value: str | None, encode: Callable[[str], str] = encode_basestring_ascii) -> str:
    return "null" if value is None else encode(value)


def _json_number(value: int | None) -> str:
    return "null" if value is None else str(int(value))


class JsonLines:
    """One JSON object per line for a listing of millions of rows, written as ``json.dumps`` of a
    dict would write it (same escaping, same separators) from a template made once from the field
    names: per row only the values are encoded, each by the encoder its field's type chose
    (``str`` or ``int``; None is null), instead of building and walking a dict."""

    def __init__(self, fields: Sequence[tuple[str, type]]) -> None:
        self._template = "{" + ", ".join(f"{json.dumps(name)}: %s" for name, _ in fields) + "}\n"
        self._encoders = tuple(_json_number if kind is int else _json_text for _, kind in fields)

    def line(self, row: Sequence[Any]) -> str:
        return self._template % tuple([encode(value) for encode, value in zip(self._encoders, row, strict=True)])


def emit_json_lines(fields: Sequence[tuple[str, type]], rows: Iterable[Sequence[Any]]) -> int:
    """Rows (tuples in ``fields`` order) written as JSON Lines as they come; returns how many."""
    line = JsonLines(fields).line
    write = sys.stdout.write
    count = 0
    for row in rows:
        write(line(row))
        count += 1
    sys.stdout.flush()
    return count


Command = TypeVar("Command", bound=Callable[..., Any])


def output_options(func: Command) -> Command:
    """``--json`` and ``--csv`` (as ``as_json``, ``as_csv``) for a command that ends in ``emit``."""
    func = click.option("--csv", "as_csv", is_flag=True, help="Print CSV (header row first).")(func)
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)
