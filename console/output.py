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
import itertools
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from runtime.escaping import spreadsheet_cell, terminal_cell, visible

if TYPE_CHECKING:  # rich is imported when a table is drawn, not when the CLI starts
    from rich.console import Console
    from rich.table import Table

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


STATUS_STYLES = {
    "ready": "green", "accepted": "green", "paid": "green", "ok": "green",
    "held": "yellow", "batched": "cyan", "sent": "cyan", "partially_paid": "yellow", "attention": "yellow",
    "rejected": "bold red", "denied": "bold red", "error": "bold red",
    "replaced": "dim", "voided": "dim",
}
"""Colour of a status cell on a terminal, so a clerk's eye finds the rejected and denied first."""

ID_COLUMNS = frozenset({"claim_id", "patient_control_number"})
"""Columns a table never wraps or cuts: a claim id broken over two lines cannot be searched for."""

STATUS_COLUMNS = frozenset({"status", "state"})

SHORT_VALUE = 14
"""A value this long or shorter (an amount, a date, a status, a code) is kept on one line if it fits."""

SENTENCE_ROOM = 8
MIN_COLUMN = 5
"""Width left for each column of longer values (reasons, fixes) before short ones are kept whole."""

MAX_ID_WIDTH = 40
"""An id longer than this (a hostile 835's CLP01) is folded rather than pushing every other column off."""

LIMIT_KEY = "bhclaims.output.limit"


def wants_colour() -> bool:
    """Colour only for a person: ``NO_COLOR`` (any value, https://no-color.org) turns every escape off."""
    return os.environ.get("NO_COLOR", "") == ""


def terminal_console(file: Any = None) -> Console:
    """The rich console every table is drawn with: as wide as the terminal, no colour under NO_COLOR."""
    from rich.console import Console

    size = shutil.get_terminal_size()
    return Console(file=file, width=size.columns, height=size.lines, highlight=False, soft_wrap=True,
                   force_terminal=True, color_system="auto" if wants_colour() else None,
                   no_color=not wants_colour())


def emit(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    as_json: bool = False,
    as_csv: bool = False,
    empty: str | None = None,
    wide_only: Sequence[str] = (),
    wide: bool = False,
) -> None:
    """Rows as JSON, CSV, a rich table (terminal) or stable tab-separated lines (pipe, cron).

    ``empty`` is said instead of an empty table on a terminal; a pipe still gets the header row,
    so a script reading the columns sees the same shape with no rows.  ``wide_only`` columns are
    left out of the terminal table unless ``wide``: a table that fits 80 columns is read, one that
    wraps every cell is not.  Pipes and CSV keep every column, so a script's ``cut -f3`` holds.
    ``--limit`` (``output_options``) keeps the first rows in every form.
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    limit = _limit()
    if limit is not None:
        rows = rows[:limit]
    if as_json:
        print_json(list(rows))
        return
    if as_csv or not sys.stdout.isatty():
        _write_lines(columns, rows, as_csv=as_csv)
        return
    if not rows and empty is not None:
        say(empty)
        return
    shown = [c for c in columns if wide or c not in wide_only]
    show_table(_table(title, shown, rows, shutil.get_terminal_size().columns))


HEADINGS = {"patient_responsibility": "patient resp.", "line_of_business": "plan type",
            "payer_claim_number": "payer claim #", "patient_control_number": "patient control #"}
"""Shorter table headings where the column name is long, so an 80-column table keeps room for data."""


def _table(title: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], width: int) -> Table:
    """The rich table: claim ids whole on one line; short values (amounts, dates, statuses, codes) kept
    whole while the terminal has room for them, sentences wrapped at words in what is left; a word
    wider than its column folded onto the next line (shown whole, never cut); statuses coloured."""
    from rich.table import Table

    table = Table(title=terminal_cell(title))
    longest = {c: max((len(visible(cell(row.get(c)))) for row in rows), default=0) for c in columns}
    kept_whole = _columns_kept_whole(columns, longest, width)
    for column in columns:
        table.add_column(_heading(column), justify="right" if column in MONEY_COLUMNS else "left",
                         no_wrap=column in ID_COLUMNS, overflow="fold",
                         min_width=kept_whole.get(column))
    for row in rows:
        cells = []
        for column in columns:
            text = terminal_cell(cell(row.get(column)))
            if column in STATUS_COLUMNS:
                text.stylize(STATUS_STYLES.get(cell(row.get(column)), ""))
            cells.append(text)
        table.add_row(*cells)
    return table


def _columns_kept_whole(columns: Sequence[str], longest: Mapping[str, int], width: int) -> dict[str, int]:
    """Which columns get their longest value as minimum width (a heading may fold): ids first, then
    amounts, then every other short value, while what remains of the terminal can still hold the
    longer columns (``SENTENCE_ROOM`` each).  Rich never draws a column narrower than its minimum, so
    the sum of the minimums is what keeps the table inside the terminal."""
    need = {c: max(min(longest[c], MAX_ID_WIDTH), MIN_COLUMN) for c in columns}
    by_need = sorted(columns, key=lambda c: (c not in ID_COLUMNS, c not in MONEY_COLUMNS, need[c]))
    room = width - 1 - 3 * len(columns)
    room -= sum(SENTENCE_ROOM for c in columns if c not in ID_COLUMNS and need[c] > SHORT_VALUE)
    kept: dict[str, int] = {}
    for column in by_need:
        if column in ID_COLUMNS or (need[column] <= SHORT_VALUE and need[column] <= room):
            kept[column] = need[column]
            room -= need[column]
        elif need[column] <= SHORT_VALUE:
            room -= MIN_COLUMN  # left to rich, folded
    return kept


def _heading(column: str) -> str:
    return HEADINGS.get(column, column.replace("_", " "))


def show_table(table: Table) -> None:
    """Draw a table on the terminal; taller than the screen, through the pager (``PAGER``, default
    ``less``) so its first rows do not scroll away."""
    buffer = io.StringIO()
    console = terminal_console(buffer)
    console.print(table)
    text = buffer.getvalue()
    if text.count("\n") >= shutil.get_terminal_size().lines and sys.stdin.isatty():
        os.environ.setdefault("LESS", "-FRX")
        click.echo_via_pager(text, color=wants_colour())
    else:
        click.echo(text, nl=False, color=wants_colour())


def _limit() -> int | None:
    context = click.get_current_context(silent=True)
    return None if context is None else context.meta.get(LIMIT_KEY)


def _remember_limit(context: click.Context, _param: click.Parameter, value: int | None) -> int | None:
    if value is not None:
        context.meta[LIMIT_KEY] = value
    return value


def _write_lines(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, as_csv: bool) -> int:
    """A header row, then a line per row as it comes: CSV, or tab-separated (a cell's tabs and
    newlines folded by ``cell``); formula starts quoted in both.  Returns how many rows."""
    count = 0
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([spreadsheet_cell(cell(row.get(c))) for c in columns])
            count += 1
    else:
        write = sys.stdout.write
        write("\t".join(columns) + "\n")
        for row in rows:
            write("\t".join(spreadsheet_cell(cell(row.get(c))) for c in columns) + "\n")
            count += 1
    sys.stdout.flush()
    return count


def emit_stream(
    title: Callable[[int], str],
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    as_json: bool = False,
    as_csv: bool = False,
    empty: str | None = None,
    wide_only: Sequence[str] = (),
    wide: bool = False,
) -> int:
    """Rows written as they come, for listings that may run to millions of rows; returns how many.

    ``--json`` writes the same JSON array as ``emit`` but one row at a time (an object per line
    between ``[`` and ``]``), ``--csv`` and a pipe write a line per row, so none of them holds the
    listing in memory.  A terminal gets ``emit``'s table (a person
    does not scroll a million rows; ``--limit`` keeps it short); ``title`` is given the number of rows.
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    limit = _limit()
    if limit is not None:
        rows = itertools.islice(rows, limit)
    count = 0
    write = sys.stdout.write
    if as_json:
        write("[")
        for row in rows:
            write(",\n" if count else "\n")
            write(json.dumps(row, default=str))
            count += 1
        write("\n]\n" if count else "]\n")
    elif as_csv or not sys.stdout.isatty():
        count = _write_lines(columns, rows, as_csv=as_csv)
    else:
        listed = list(rows)
        emit(title(len(listed)), columns, listed, empty=empty, wide_only=wide_only, wide=wide)
        return len(listed)
    sys.stdout.flush()
    return count


_encode_text = json.JSONEncoder().encode  # the public encoder json.dumps uses; a str goes straight to its escaper


def _json_text(value: str | None, encode: Callable[[str], str] = _encode_text) -> str:
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


def emit_json_rows(fields: Sequence[tuple[str, type]], rows: Iterable[Sequence[Any]]) -> int:
    """Rows (tuples in ``fields`` order) as the one JSON array every ``--json`` listing prints, written
    an object per line as they come (``--limit`` applies); returns how many."""
    limit = _limit()
    if limit is not None:
        rows = itertools.islice(rows, limit)
    line = JsonLines(fields).line
    write = sys.stdout.write
    count = 0
    write("[")
    for row in rows:
        write(",\n" if count else "\n")
        write(line(row)[:-1])
        count += 1
    write("\n]\n" if count else "]\n")
    sys.stdout.flush()
    return count


Command = TypeVar("Command", bound=Callable[..., Any])


def output_options(func: Command) -> Command:
    """``--json`` and ``--csv`` (as ``as_json``, ``as_csv``) and ``--limit N`` for a command that ends in
    ``emit``; the limit rides on the click context, so ``emit`` applies it without every command passing it."""
    func = click.option("--limit", type=click.IntRange(min=0), default=None, metavar="N", expose_value=False,
                        callback=_remember_limit, help="Show only the first N rows.")(func)
    func = click.option("--csv", "as_csv", is_flag=True, help="Print CSV (header row first).")(func)
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)
