"""Text that came from files, made harmless where it is shown.

A claim id, payer name, reason or file name read from a PM export, a reply file or
the clearinghouse's folder may hold characters meant for a terminal (ESC and the CSI
colour, OSC title and hyperlink sequences it starts, C1 controls, bidi overrides that
reorder what is shown) or for a spreadsheet (a cell starting with ``=``, ``+``, ``-``,
``@``, tab or CR runs as a formula).  Every renderer passes such data through here:

- ``visible`` for terminals, logs and text reports: each character that is not
  printable is shown as its escape (``\\x1b``, ``\\n``, ``\\u202e``), so nothing reaches
  a terminal as a control and two names that differ only there still look different.
- ``spreadsheet_cell`` for CSV and tab-separated cells: a cell that would start a
  formula gets a leading ``'``.  Numbers are left alone, so a negative amount stays
  ``-17.35`` and sums in a spreadsheet (a number is not a formula).

Rich markup is never read from data: tables wrap each cell in ``rich.text.Text``
(``terminal_cell``), never in a markup string, so ``[bold]`` in a claim id prints as
typed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported when a table is drawn, not when the CLI starts
    from rich.text import Text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")


def visible(value: Any) -> str:
    """``value`` as text with every non-printable character shown as its escape."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def spreadsheet_cell(value: Any) -> str:
    """A CSV/TSV cell a spreadsheet will not run: ``'`` before a formula start, numbers as they are."""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + visible(text)
    return visible(text)


def terminal_cell(value: Any) -> Text:
    """A rich table cell that shows the data as typed: no markup, no control characters."""
    from rich.text import Text

    return Text(visible(value))
