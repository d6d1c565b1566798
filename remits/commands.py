"""Click commands for the posting worklists; the lead adds them with
``for command in COMMANDS: main_group.add_command(command)`` in cli.py.

Each is a thin adapter over ``clerk.worklists`` (read-only) or
``remits.inbound.release_quarantined``; ``--json`` prints the rows as they are.
The object on the click context must have ``.app.ledger`` and ``.app.actor``
(cli.State does).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from runtime.escaping import visible


def _rows(state: Any, query: Callable[[Any], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    with state.app.ledger.session() as session:
        return query(session)


def _show(rows: list[dict[str, Any]], as_json: bool, columns: list[str], empty: str) -> None:
    """JSON, or one line per row; cells are data (reasons, file names), shown with controls escaped."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo(empty)
        return
    click.echo("  ".join(columns))
    for row in rows:
        click.echo("  ".join(visible("" if row.get(c) is None else row.get(c)) for c in columns))


@click.command("quarantine")
@click.option("--release", "release_id", type=int, default=None,
              help="Put this transmission back in line for the next `bhclaims post`.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def quarantine(state: Any, release_id: int | None, as_json: bool) -> None:
    """Files refused for review (unbalanced, reused trace number, reversal of nothing, unreadable)."""
    from clerk.worklists import quarantine_items

    if release_id is not None:
        from sqlalchemy.exc import NoResultFound

        from remits.inbound import release_quarantined

        try:
            release_quarantined(state.app.ledger, release_id, actor=state.app.actor)
        except NoResultFound:
            raise click.ClickException(
                f"there is no transmission {release_id} in the ledger; `bhclaims quarantine` lists what is held"
            ) from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"transmission {release_id} released: the next `bhclaims post` tries it again")
        return
    _show(_rows(state, quarantine_items), as_json, ["transmission_id", "file", "state", "reason"],
          "nothing in quarantine")


COMMANDS = [quarantine]
"""Worklists over the same queries (unmatched, denied, patient responsibility) are `bhclaims worklist ...`."""
