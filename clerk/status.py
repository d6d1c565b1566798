"""`bhclaims status`: the practice's billing on one screen.

Claims and money by status (``ledger.status``), the last nightly run and how it ended (its
report in ``reports/``, the one record nightly keeps of itself), the next deadlines (timely
filing, appeals, corrections: the worklists' own dates) and how much waits for a human.  No
member data: claim ids, dates, counts and money only.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from clerk import worklists
from clerk.nightly import reports_dir
from ledger.db import Ledger
from ledger.denials import DenialDay, denial_days
from ledger.status import LedgerFigures, ledger_figures
from usecases.app import App
from validators.settings import RuleSettings

DEADLINES_SHOWN = 3
TIMELY_FILING_HORIZON_DAYS = 60
"""Unsent claims whose filing limit falls within this many days are listed as deadlines."""
RUN_FIELDS = ("run_id", "started", "finished", "exit_code", "dry_run")
VERDICTS = {0: "nothing needed a human", 1: "something needed a human", 2: "could not finish"}


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def last_nightly_run(folder: Path) -> dict[str, Any] | None:
    """The newest nightly run report (``nightly-<UTC stamp>-<run id>.json``: the names sort by time)."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("nightly-*.json"), reverse=True):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a report cut short or unreadable: the one before it says more
        if not isinstance(report, dict):
            continue
        run = {name: report.get(name) for name in RUN_FIELDS}
        run["result"] = VERDICTS.get(report.get("exit_code"), "unknown")  # type: ignore[arg-type]
        run["needed_a_human"] = len(report.get("attention") or [])
        run["report"] = str(path)
        return run
    return None


def next_deadlines(
    session: Session, today: date, settings: RuleSettings, *, days: list[DenialDay] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The nearest few of each kind still to meet, soonest first, picked out by the database
    (``days``: ``ledger.denials.denial_days`` when the caller has them already)."""
    filing = worklists.nearest_filing_deadlines(session, today, settings, within_days=TIMELY_FILING_HORIZON_DAYS,
                                                limit=DEADLINES_SHOWN)
    denials = worklists.nearest_denial_deadlines(session, today, {
        "appeals": lambda lob, day: worklists.appeal_deadline(lob, day, settings),
        "corrections": lambda lob, day: worklists.correction_deadline(lob, day, settings),
    }, DEADLINES_SHOWN, days=days)
    return {
        "timely_filing": [
            {"claim_id": r["claim_id"], "due": r["file_by"], "days_left": r["days_left"]}
            for r in filing
        ],
        **{
            kind: [{"claim_id": row.claim_id, "line_id": row.line_id, "due": due.isoformat(),
                    "days_left": (due - today).days} for row, due in rows]
            for kind, rows in denials.items()
        },
    }


def _figures_dict(figures: LedgerFigures) -> dict[str, Any]:
    return {
        "claims": figures.claims,
        "by_status": [
            {"status": line.status, "claims": line.claims, "billed": money(line.billed), "paid": money(line.paid),
             "open_balance": money(line.open_balance)}
            for line in figures.by_status
        ],
        "money": {"billed": money(figures.billed), "paid": money(figures.paid),
                  "open_ar": money(figures.open_ar), "denied": money(figures.denied)},
    }


class StatusReads(NamedTuple):
    figures: LedgerFigures
    counts: dict[str, int]
    deadlines: dict[str, list[dict[str, Any]]]


def read_status(ledger: Ledger, today: date, settings: RuleSettings) -> StatusReads:
    """What ``status`` reads from the ledger, in two read transactions at once: the money by status (one
    pass over every claim's kept totals) on a second connection, on a thread, while this one reads the
    standing denials, the worklist counts and the deadlines.  At a million claims the halves are of a size
    and the database works on both at once on two CPUs (SQLite's driver lets go of the interpreter while it
    reads): PostgreSQL 0.90–1.20 → 0.72–0.85 s, SQLite 0.92–1.23 → 0.49–0.68 s (docs/scaling.md, twelfth
    pass).  Each half sees the ledger as of its own start (on PostgreSQL each statement already did).  An
    error in either is raised here, once both have ended."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="status-figures") as pool:
        figures = pool.submit(copy_context().run, _read_figures, ledger)
        with ledger.read_session() as session:
            days = denial_days(session)
            counts = worklists.open_counts(session, today, settings, days=days)
            deadlines = next_deadlines(session, today, settings, days=days)
        return StatusReads(figures.result(), counts, deadlines)


def _read_figures(ledger: Ledger) -> LedgerFigures:
    with ledger.read_session() as session:
        return ledger_figures(session)


def ledger_status(app: App) -> dict[str, Any]:
    """Everything ``bhclaims status`` shows, as plain data (``--json`` prints it as it is)."""
    figures, counts, deadlines = read_status(app.ledger, app.today, app.rule_settings)
    held = next((line.claims for line in figures.by_status if line.status == "held"), 0)
    needs_a_human = {"held": held, **counts, "quarantined": figures.quarantined}
    return {
        "today": app.today.isoformat(),
        **_figures_dict(figures),
        "last_nightly": last_nightly_run(reports_dir(app)),
        "next_deadlines": deadlines,
        "needs_a_human": needs_a_human,
    }


def status_text(status: dict[str, Any]) -> list[str]:
    """The status as lines for a person."""
    cash = status["money"]
    lines = [f"bhclaims status as of {status['today']}: {status['claims']} claim revision(s)", ""]
    lines += [f"  {s['status']:<15} {s['claims']:>9}  billed {s['billed']:>14}  paid {s['paid']:>14}  "
              f"open {s['open_balance']:>14}" for s in status["by_status"]]
    lines += ["", f"Money: billed {cash['billed']}, paid {cash['paid']}, open A/R {cash['open_ar']}, "
                  f"denied {cash['denied']}"]
    run = status["last_nightly"]
    lines.append(
        "Last nightly run: none recorded" if run is None else
        f"Last nightly run: {run['started']} (run {run['run_id']}{', dry run' if run['dry_run'] else ''}): "
        f"{run['result']} (exit {run['exit_code']})"
    )
    lines += ["", "Next deadlines:"]
    names = {"timely_filing": "file", "appeals": "appeal", "corrections": "correct"}
    shown = False
    for kind, rows in status["next_deadlines"].items():
        for row in rows:
            shown = True
            line = f" line {row['line_id']}" if row.get("line_id") else ""
            lines.append(f"  {names[kind]:<8} {row['claim_id']}{line} by {row['due']} ({row['days_left']} days)")
    if not shown:
        lines.append("  none")
    waiting = {k: v for k, v in status["needs_a_human"].items() if v}
    lines += ["", "Needs a human: " + (", ".join(f"{k.replace('_', '-')} {v}" for k, v in waiting.items())
                                        if waiting else "nothing")]
    return lines
