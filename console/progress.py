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
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
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
def progress(description: str, *, unit: str = "") -> Iterator[Tally]:
    """A progress line on stderr for the ``with`` block (a terminal only), gone when it ends."""
    if not drawn():
        yield Tally()
        return
    console = Console(stderr=True, highlight=False, color_system="auto" if wants_colour() else None,
                      no_color=not wants_colour())
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if unit == "" else TextColumn("{task.completed:,.0f} " + unit),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(visible(description), total=None)
        yield Tally(bar, task)
