"""Progress for a person waiting at a terminal, and nothing for anyone else.

A 100,000-line day is seconds of ingest, half a minute of ``check`` and minutes of ``build``;
on a terminal a silent command looks hung.  ``progress`` draws a rich progress line on stderr
while a step runs and takes it away when the step ends; when stderr is not a terminal (a pipe,
cron, ``--log-format json`` into a file) it draws nothing, so what scripts and logs read does not
change.  The work itself never imports rich: a use case takes a plain callback
(``on_claim: Callable[[], None]``), and the command passes ``Tally.advance``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from console.output import wants_colour
from runtime.escaping import visible

Result = TypeVar("Result")


class Tally:
    """Counts work done for a progress line; a no-op when nothing is drawn."""

    def __init__(self, progress: Progress | None = None, task: Any = None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, done: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, done)

    def expect(self, total: int) -> None:
        """The amount of work, once it is known (turns a spinner into a bar)."""
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def counting(self, func: Callable[..., Result]) -> Callable[..., Result]:
        """``func`` that advances the tally by one each time it is called (a rule checker, a validator)."""
        if self._progress is None:
            return func

        def counted(*args: Any, **kwargs: Any) -> Result:
            result = func(*args, **kwargs)
            self.advance()
            return result

        return counted


def drawn() -> bool:
    """Whether a progress line is drawn: only for a person at a terminal."""
    return sys.stderr.isatty()


@contextmanager
def progress(description: str, *, bar: bool = False, unit: str | None = None) -> Iterator[Tally]:
    """A progress line on stderr for the ``with`` block (a terminal only), gone when it ends.

    A spinner and the time taken (the description is data-safe: a file name's controls are shown as
    escapes and its brackets as text); ``bar``: a bar and "done/total" (the total told by ``Tally.expect``);
    ``unit``: a running count ("1,200 claims checked") where the total is not known beforehand.
    """
    if not drawn():
        yield Tally()
        return
    console = Console(stderr=True, highlight=False, color_system="auto" if wants_colour() else None,
                      no_color=not wants_colour())
    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
    if bar:
        columns += [BarColumn(), MofNCompleteColumn()]
    if unit is not None:
        columns.append(TextColumn("{task.completed:,.0f} " + escape(unit)))
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as shown:
        task = shown.add_task(escape(visible(description)), total=None)
        yield Tally(shown, task)
