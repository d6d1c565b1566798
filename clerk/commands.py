"""The clerk's desk on the command line: `nightly`, `worklist ...`, `report ...`.

Thin adapters, like the commands in ``cli.py``: parse options, call one
function of ``clerk.worklists`` / ``clerk.reports`` / ``clerk.nightly``, render
a rich table on a terminal, tab-separated lines otherwise, ``--json`` or
``--csv`` for machines.  ``cli._register_edge_commands`` adds ``COMMANDS``
to the main group.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from console.output import CouldNotRun, Refused, emit, output_options, print_json, say
from domain import clock
from runtime.escaping import visible

# --- nightly ------------------------------------------------------------------------------------


@click.command()
@click.option("--dry-run", is_flag=True, help="Show what each step would do; change nothing, send nothing.")
@click.option(
    "--settle-seconds",
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Leave exports modified more recently than this for the next run (still being written).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.pass_obj
def nightly(state: Any, dry_run: bool, settle_seconds: float, as_json: bool) -> None:
    """The unattended run: drop folder → ingest → check → build → send → fetch → post → report.

    New exports in the drop folder ([paths] drop, default ./drop) are ingested
    and filed in drop/done/ by their sha256.  The report goes to ./reports/
    (JSON and a one-screen text).  A crashed run is finished by the next one.
    Audit rows name the actor "cron".

    \b
    Exit codes:
      0  the run left nothing new for a human (open worklists are listed)
      1  something was refused, held, rejected, denied or not sent
      2  the run could not do its work (config, database, lock, link)

    \b
    Examples:
      bhclaims nightly --dry-run
      bhclaims --log-format json nightly >> /var/log/bhclaims/nightly.log 2>&1
    """
    from clerk.nightly import EXIT_ATTENTION, EXIT_ERROR, run_nightly, summary_text
    from usecases.app import App

    app = App(state.config(), actor="cron")
    try:
        report = run_nightly(app, dry_run=dry_run, settle_seconds=settle_seconds)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        emit(
            f"nightly run {report['run_id']}{' (dry run)' if dry_run else ''}",
            ("step", "status", "summary"),
            report["steps"],
            as_json=False,
        )
        if report["attention"]:
            emit(
                "needs a human",
                ("attention",),
                [{"attention": item} for item in report["attention"]],
                as_json=False,
            )
        if not dry_run:
            click.echo(summary_text(report).splitlines()[0])
            for path in report.get("report_files", []):
                click.echo(f"report: {visible(path)}")
    if report["exit_code"] == EXIT_ERROR:
        raise CouldNotRun("the nightly run could not finish; see the report")
    if report["exit_code"] == EXIT_ATTENTION:
        raise Refused(f"{len(report['attention'])} item(s) need a human; see `bhclaims worklist --help`")


# --- worklists ----------------------------------------------------------------------------------


@click.group()
def worklist() -> None:
    """What needs a human, each with its deadline.

    \b
    Examples:
      bhclaims worklist timely-filing --within 14
      bhclaims worklist denied --csv > denied.csv
      bhclaims worklist rejected --json
    """


def _worklist_rows(state: Any, name: str, **options: Any) -> list[dict[str, Any]]:
    from clerk import worklists

    app = state.app
    with app.ledger.read_session() as session:
        if name == "timely-filing":
            return worklists.timely_filing(session, app.today, app.rule_settings, **options)
        if name == "corrections":
            return worklists.corrections(session, app.today, app.rule_settings)
        if name == "denied":
            return worklists.denied(session, app.today, app.rule_settings)
        return worklists.WORKLISTS[name](session, app.today)


@worklist.command("rejected")
@output_options
@click.pass_obj
def worklist_rejected(state: Any, as_json: bool, as_csv: bool) -> None:
    """Claims a 999 or 277CA rejected and nobody has resent yet, with the reason and the fix.

    \b
    Example:
      bhclaims worklist rejected
    """
    rows = _worklist_rows(state, "rejected")
    emit(
        f"{len(rows)} rejected claim(s)",
        ("claim_id", "status", "source", "rejected_on", "reason", "fix"),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@worklist.command("denied")
@output_options
@click.pass_obj
def worklist_denied(state: Any, as_json: bool, as_csv: bool) -> None:
    """Denied claims: the reason (CARC) and the appeal deadline, soonest first.

    Appeals: MassHealth (and SCO / One Care) 60 days, Commercial and Medicare
    Advantage 12 months from the remittance date.

    \b
    Example:
      bhclaims worklist denied --csv > denied.csv
    """
    rows = _worklist_rows(state, "denied")
    emit(
        f"{len(rows)} denied claim(s)",
        (
            "claim_id",
            "line_of_business",
            "remit_date",
            "reason",
            "rarc",
            "denied",
            "appeal_by",
            "appeal_days_left",
        ),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@worklist.command("timely-filing")
@click.option(
    "--within",
    "within_days",
    default=30,
    show_default=True,
    metavar="DAYS",
    help="Show claims whose filing limit is at most this many days away (past due included).",
)
@output_options
@click.pass_obj
def worklist_timely_filing(state: Any, within_days: int, as_json: bool, as_csv: bool) -> None:
    """Claims not yet sent (ready, held) near their timely-filing limit, soonest first.

    The limit per line of business comes from the rules ([rules.timely_filing_days],
    default 90 days from the first date of service).

    \b
    Example:
      bhclaims worklist timely-filing --within 14
    """
    rows = _worklist_rows(state, "timely-filing", within_days=within_days)
    emit(
        f"{len(rows)} claim(s) near the filing limit",
        ("claim_id", "status", "line_of_business", "first_service_date", "file_by", "days_left", "why_held"),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@worklist.command("corrections")
@output_options
@click.pass_obj
def worklist_corrections(state: Any, as_json: bool, as_csv: bool) -> None:
    """Denied claims whose corrected-claim window is still open, soonest first.

    Windows from the remittance date come from the rules ([rules.corrected_claim_days]:
    commercial, Medicare Advantage, SCO, One Care 180; Medicaid 365).

    \b
    Example:
      bhclaims worklist corrections --json
    """
    rows = _worklist_rows(state, "corrections")
    emit(
        f"{len(rows)} claim(s) to correct",
        (
            "claim_id",
            "line_of_business",
            "remit_date",
            "correct_by",
            "days_left",
            "reason",
            "original_claim_number",
        ),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@worklist.command("unmatched")
@output_options
@click.pass_obj
def worklist_unmatched(state: Any, as_json: bool, as_csv: bool) -> None:
    """835 money not tied to any claim in the ledger (CLP01 we do not know).

    \b
    Example:
      bhclaims worklist unmatched
    """
    rows = _worklist_rows(state, "unmatched")
    emit(
        f"{len(rows)} unmatched payment(s)",
        (
            "patient_control_number",
            "payer_claim_number",
            "status_code",
            "paid",
            "trace_number",
            "remit_date",
            "days_waiting",
        ),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@worklist.command("patient-responsibility")
@output_options
@click.pass_obj
def worklist_patient_responsibility(state: Any, as_json: bool, as_csv: bool) -> None:
    """SCO / One Care members the payer charged (their cost share must be zero).

    \b
    Example:
      bhclaims worklist patient-responsibility
    """
    rows = _worklist_rows(state, "patient-responsibility")
    emit(
        f"{len(rows)} SCO/One Care claim(s) with patient responsibility",
        (
            "claim_id",
            "line_of_business",
            "patient_responsibility",
            "adjustments",
            "trace_number",
            "remit_date",
            "action",
        ),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


# --- status -------------------------------------------------------------------------------------


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
def status(state: Any, as_json: bool) -> None:
    """Claims and money by status, the last nightly run, the next deadlines, what needs a human.

    \b
    Examples:
      bhclaims status
      bhclaims status --json
    """
    from clerk.status import ledger_status, status_text

    figures = ledger_status(state.app)
    if as_json:
        print_json(figures)
        return
    for line in status_text(figures):
        say(line)


# --- reports ------------------------------------------------------------------------------------


@click.group()
def report() -> None:
    """Reports for the practice manager: A/R aging, deposits, denials, one HTML page.

    \b
    Examples:
      bhclaims report ar-aging
      bhclaims report payments --from 2026-11-01 --to 2026-11-30
      bhclaims report html ~/billing-report.html
    """


def _dates(date_from: datetime | None, date_to: datetime | None) -> tuple[date | None, date | None]:
    return (date_from.date() if date_from else None, date_to.date() if date_to else None)


DATE = click.DateTime(formats=["%Y-%m-%d"])


@report.command("ar-aging")
@output_options
@click.pass_obj
def report_ar_aging(state: Any, as_json: bool, as_csv: bool) -> None:
    """Open balance by line of business in 0-30 / 31-60 / 61-90 / 90+ days since first service.

    \b
    Example:
      bhclaims report ar-aging --csv
    """
    from clerk.reports import ar_aging

    app = state.app
    with app.ledger.read_session() as session:
        rows = ar_aging(session, app.today)
    emit(
        f"A/R aging as of {app.today.isoformat()}",
        ("line_of_business", "claims", "0-30", "31-60", "61-90", "90+", "total"),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@report.command("payments")
@click.option("--from", "date_from", type=DATE, help="First payment date (YYYY-MM-DD).")
@click.option("--to", "date_to", type=DATE, help="Last payment date (YYYY-MM-DD).")
@output_options
@click.pass_obj
def report_payments(
    state: Any, date_from: datetime | None, date_to: datetime | None, as_json: bool, as_csv: bool
) -> None:
    """Deposits by EFT/check trace, reconciled: claims paid − provider adjustments = BPR02.

    \b
    Example:
      bhclaims report payments --from 2026-11-01 --to 2026-11-30
    """
    from clerk.reports import payments

    with state.app.ledger.read_session() as session:
        rows = payments(session, *_dates(date_from, date_to))
    emit(
        f"{len(rows)} deposit(s)",
        (
            "payment_date",
            "method",
            "trace_number",
            "deposit",
            "claims_paid",
            "provider_adjustments",
            "difference",
            "reconciled",
        ),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@report.command("denials")
@click.option("--from", "date_from", type=DATE, help="First remittance date (YYYY-MM-DD).")
@click.option("--to", "date_to", type=DATE, help="Last remittance date (YYYY-MM-DD).")
@output_options
@click.pass_obj
def report_denials(
    state: Any, date_from: datetime | None, date_to: datetime | None, as_json: bool, as_csv: bool
) -> None:
    """Denied money by reason code (CARC), largest first.

    \b
    Example:
      bhclaims report denials --from 2026-01-01
    """
    from clerk.reports import denials

    with state.app.ledger.read_session() as session:
        rows = denials(session, *_dates(date_from, date_to))
    emit(
        f"{len(rows)} denial reason(s)",
        ("carc", "reason", "claims", "amount"),
        rows,
        as_json=as_json,
        as_csv=as_csv,
    )


@report.command("html")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def report_html(state: Any, out: Path) -> None:
    """Write one self-contained HTML page (tables and charts, no external files) to OUT.

    Open it in any browser; it needs no network.  The page opens with the headline figures
    (billed, collected, rates, days in A/R) and lists each worklist's rows (no member names).  OUT is replaced if it exists and is written 0600.

    \b
    Example:
      bhclaims report html ~/billing-report.html && xdg-open ~/billing-report.html
    """
    from clerk import reports
    from clerk.html_report import render_report
    from clerk.worklists import open_rows
    from ledger.headline import headline_figures

    app = state.app
    with app.ledger.read_session() as session:
        deposits = reports.payments(session)
        page = render_report(
            practice=app.config.submitter_name,
            today=app.today,
            generated=clock.now(),
            aging=reports.ar_aging(session, app.today),
            payments=deposits,
            payments_over_time=reports.payments_by_date(deposits),
            denials=reports.denials(session),
            headline=headline_figures(session, app.today),
            worklists=open_rows(session, app.today, app.rule_settings),
        )
    write_replacing(out, page.encode("utf-8"))
    click.echo(f"wrote {visible(out)}")


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``path`` 0600 through a temp name, replacing an older report atomically."""
    path = path.resolve()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


COMMANDS = [nightly, status, worklist, report]
