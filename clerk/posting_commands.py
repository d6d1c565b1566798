"""Click commands for the posting worklists; the lead adds them with
``for command in COMMANDS: main_group.add_command(command)`` in cli.py.

Each is a thin adapter over ``clerk.worklists`` (read-only) or
``remits.inbound.release_quarantined``; rows are shown by ``console.output.emit``
(table, tab-separated lines, ``--json``, ``--csv``).
The object on the click context must have ``.app.ledger`` and ``.app.actor``
(cli.State does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from console.output import CouldNotRun, emit, output_options


def _rows(state: Any, query: Callable[[Any], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    with state.app.ledger.session() as session:
        return query(session)


@click.command("quarantine")
@click.option("--release", "release_id", type=int, default=None,
              help="Put this transmission back in line for the next `bhclaims post`.")
@output_options
@click.pass_obj
def quarantine(state: Any, release_id: int | None, as_json: bool, as_csv: bool) -> None:
    """Files refused for review (unbalanced, reused trace number, reversal of nothing, unreadable)."""
    from clerk.worklists import quarantine_items

    if release_id is not None:
        from sqlalchemy.exc import NoResultFound

        from remits.inbound import release_quarantined

        try:
            release_quarantined(state.app.ledger, release_id, actor=state.app.actor)
        except NoResultFound:
            raise CouldNotRun(
                f"there is no transmission {release_id} in the ledger; `bhclaims quarantine` lists what is held"
            ) from None
        except ValueError as exc:
            raise CouldNotRun(str(exc)) from None
        click.echo(f"transmission {release_id} released: the next `bhclaims post` tries it again")
        return
    emit("quarantine", ("transmission_id", "file", "state", "reason"), _rows(state, quarantine_items),
         as_json=as_json, as_csv=as_csv, empty="nothing in quarantine")


COMMANDS = [quarantine]
"""Worklists over the same queries (unmatched, denied, patient responsibility) are `bhclaims worklist ...`."""
