"""bhclaims: the billing clerk's and cron's command line.

Each command parses its options, calls one function of an edge module and
renders the result (a table on a terminal, ``--json`` for machines).  Exit
codes: 0 ok, 1 some input was refused (the rest was processed), 2 usage,
configuration or environment error.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from console.output import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CouldNotRun,
    Refused,
    emit,
    emit_json_rows,
    emit_stream,
    output_options,
    print_json,
    say,
)
from runtime.config_names import DATABASE_URL_ENV, DEFAULT_CONFIG_NAME
from runtime.escaping import visible
from runtime.logs import configure_logging
from runtime.process import configure_process


class State:
    def __init__(self, config_path: Path, db: str | None, verbose: bool):
        self.config_path = config_path
        self.db = db
        self.verbose = verbose
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            from usecases.app import App

            self._app = App(self.config())
        return self._app

    def config(self) -> Any:
        """The config, with a warning when a password in it can be read by other users."""
        from runtime.config import load_config

        config = load_config(self.config_path, self.db)
        if self.db is None and not os.environ.get(DATABASE_URL_ENV) and _has_password(config.database_url):
            mode = config.path.stat().st_mode & 0o777
            if mode & 0o044:
                say(f"bhclaims: warning: {config.path} holds a database password and other users can read it "
                     f"(mode {mode:o}): chmod 600 {config.path}, or put the password in ~/.pgpass", err=True)
        return config


def _has_password(url: str | None) -> bool:
    """Whether a database URL carries a password (never shown: only whether)."""
    if not url:
        return False
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return bool(make_url(url).password)
    except (ArgumentError, ValueError):
        return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG_NAME,
              show_default=True, help="The bhclaims.toml to use.")
@click.option("--db", default=None, metavar="URL",
              help="Database URL (overrides the config and BHCLAIMS_DATABASE_URL), e.g. postgresql+psycopg://host/db.")
@click.option("--log-format", type=click.Choice(["auto", "console", "json"]), default="auto", show_default=True,
              help="auto: readable on a terminal, JSON lines otherwise (cron).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")
@click.version_option(package_name="bhclaims", prog_name="bhclaims", message="%(prog)s %(version)s")
@click.pass_context
def main_group(ctx: click.Context, config_path: Path, db: str | None, log_format: str, verbose: bool) -> None:
    """Optum Behavioral Health (payer 87726) claims: ingest, check, build, send, fetch, post.

    \b
    Typical day:
      bhclaims ingest charges.csv && bhclaims build && bhclaims send
      bhclaims fetch && bhclaims post && bhclaims claims
    """
    configure_logging(json_lines=None if log_format == "auto" else log_format == "json", verbose=verbose)
    _warn_if_clock_pinned(verbose)
    if _has_password(db):
        say("bhclaims: warning: --db carries a database password, which other users can read in the process "
             "list (ps): put it in ~/.pgpass or BHCLAIMS_DATABASE_URL instead", err=True)
    ctx.obj = State(config_path, db, verbose)
    ctx.call_on_close(lambda: ctx.obj._app.close() if ctx.obj._app else None)


def _warn_if_clock_pinned(verbose: bool) -> None:
    """A pinned calendar moves every deadline: said in the debug log of every run (`-v`) and in
    nightly's run report; it is for tests and demos.  A pin that is not a date stops every command
    (exit 2).  The debug line is only made with `-v`, so a command that does not log does not
    import structlog."""
    from domain import clock
    from runtime.logs import get_logger

    pinned = clock.pinned_today()  # raises ClockError for a pin that is not a date
    if pinned is not None and verbose:
        get_logger("bhclaims").debug("clock.pinned", today=pinned.isoformat(),
                                       variable=clock.ENVIRONMENT_VARIABLE)


@main_group.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--transport", "transport_url", default="file://./clearinghouse", show_default=True,
              help="Clearinghouse link: file://DIR (sandbox) or sftp://user@host:port/path.")
@click.option("--db", "database_url", default=None, metavar="URL",
              help="Keep the ledger in this database (written into bhclaims.toml), e.g. "
                   "postgresql+psycopg://billing@db.internal/bhclaims; no password: see docs/postgres.md.")
@click.option("--sample", is_flag=True,
              help="Also write exports/today.csv (sample charges dated for today) and exports/fixed.csv "
                   "(a corrected claim for `bhclaims correct`).")
def init(directory: Path, transport_url: str, database_url: str | None, sample: bool) -> None:
    """Create DIRECTORY with a commented bhclaims.toml and an empty ledger.

    \b
    Example: bhclaims init ~/billing
             bhclaims init --sample ~/try-billing   (a first day with sample charges)
    """
    from outbox.files import ensure_private_dir, write_private
    from runtime.config import known_database_url, starter_config
    from usecases.setup import create_ledger

    database_url = database_url or click.get_current_context().obj.db
    if database_url:
        database_url = known_database_url(database_url, "--db")
        if _has_password(database_url):
            raise click.UsageError("the --db URL carries a password, which would be written into bhclaims.toml: "
                                   "leave it out and put it in ~/.pgpass or PGPASSWORD (see docs/postgres.md)")
    config_path = directory.resolve() / DEFAULT_CONFIG_NAME
    if config_path.exists():
        raise click.UsageError(f"{config_path} already exists; not overwriting it")
    ensure_private_dir(directory.resolve())
    write_private(config_path, starter_config(transport_url=transport_url, database_url=database_url or "").encode())
    try:
        config = create_ledger(config_path, database_url)
    except BaseException:
        # a ledger that could not be made (database unreachable, disk full) leaves no config behind,
        # so the same `init` can simply be run again once the cause is fixed
        config_path.unlink(missing_ok=True)
        raise
    say(f"created {config_path}")
    if sample:
        from domain import clock
        from usecases.sample import write_sample_exports

        for path in write_sample_exports(directory.resolve(), clock.today()).values():
            say(f"created {path}")
    say(f"ledger: {config.database_url.split('///')[-1] if config.database_url.startswith('sqlite') else 'PostgreSQL'}")


@main_group.command()
@click.pass_obj
def migrate(state: State) -> None:
    """Bring the ledger's schema up to date (safe to run at every upgrade)."""
    from ledger.db import upgrade

    upgrade(state.config().database_url)
    click.echo("ledger schema is up to date")


@main_group.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--profile", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Mapping profile (TOML) for a PM system's own column names.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def ingest(state: State, files: tuple[Path, ...], profile: Path | None, as_json: bool) -> None:
    """Read PM exports (CSV or XML) into the ledger.

    A bad row refuses its claim (listed as file:line: column: reason); every
    other claim is kept.  Ingesting the same file again changes nothing.

    Example: bhclaims ingest exports/2026-11-23.csv
    """
    from console.progress import progress
    from usecases.setup import ingest_file

    app = state.app
    results = []
    for path in files:
        with progress(f"ingesting {path.name}"):
            results.append(ingest_file(app, path, profile=profile))
    refused = any(r["errors"] or r["refused"] for r in results)
    if as_json:
        print_json(results)
    else:
        for r in results:
            for error in r["errors"]:
                say(error, err=True)
            for claim_id, reason in r["refused"]:
                say(f"{r['file']}: claim {claim_id}: {reason}", err=True)
            say(f"{r['file']}: {len(r['added'])} new, {len(r['updated'])} updated, "
                 f"{len(r['unchanged'])} unchanged, {len(r['held'])} held by rules, "
                 f"{len(r['refused_claims'])} refused")
            if r["added"] == [] and r["updated"] == [] and r["unchanged"] and not r["errors"]:
                say(f"{r['file']}: nothing new (already ingested)")
    if refused:
        raise Refused("some claims were refused; fix them in the PM system and export again")


@main_group.command()
@click.option("--claim", "claim_id", default=None, help="Check only this claim id.")
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
@click.pass_obj
def check(state: State, claim_id: str | None, as_json: bool) -> None:
    """Run the claim scrubber on claims not yet sent; exit 1 if any error.

    Example: bhclaims check --claim ENC-1001
    """
    from console.progress import progress
    from usecases.setup import check_ledger_claims

    with progress("checking claims", bar=True) as tally:
        results = check_ledger_claims(state.app, claim_id, expect=tally.expect, on_claim=tally.advance)
    if as_json:
        print_json(results)
    else:
        for item in results:
            if not item["findings"]:
                continue
            say(f"claim {item['claim_id']} ({item['status']}): {len(item['findings'])} finding(s)")
            for f in item["findings"]:
                line = f" line {f['line_id']}" if f.get("line_id") else ""
                say(f"  {f['severity'].upper()} {f['code']}{line}: {f['message']}")
        say(check_summary(results))
    if any(f["severity"] == "error" for item in results for f in item["findings"]):
        raise Refused("some claims have errors and will not be sent")


def check_summary(results: list[Any]) -> str:
    """The last line of ``check``: "38,500 claims checked, 12 with findings: 3 errors, 9 warnings"."""
    with_findings = sum(1 for item in results if item["findings"])
    counts = {severity: sum(1 for item in results for f in item["findings"] if f["severity"] == severity)
              for severity in ("error", "warning", "info")}
    said = ", ".join(f"{n:,} {severity}{'' if n == 1 else 's'}" for severity, n in counts.items()
                     if n or severity != "info")
    checked = f"{len(results):,} claim{'' if len(results) == 1 else 's'} checked"
    return f"{checked}, {with_findings:,} with findings: {said}" if with_findings else f"{checked}, no findings"


@main_group.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--pyx12", "second_opinion", is_flag=True,
              help="Also validate each file with pyx12 (slower); both must find nothing.")
@click.pass_obj
def build(state: State, as_json: bool, second_opinion: bool) -> None:
    """Turn ready claims into 837P files in the outbox (each X12-validated).

    Claims the rules refuse are held, with the reasons; a file with X12 findings is not released.
    """
    from console.progress import progress
    from outbox.batches import build_batches
    from validators.x12_syntax import check_x12, check_x12_and_pyx12

    app = state.app
    with progress("building 837P files", unit="claims checked") as tally:
        report = build_batches(app.ledger, app.config, checker=tally.counting(app.check), actor=app.actor,
                               now=app.now(), validate=check_x12_and_pyx12 if second_opinion else check_x12)
    if as_json:
        print_json(report.__dict__)
    else:
        for claim_id, reason in report.held:
            say(f"held claim {claim_id}: {reason}", err=True)
        for batch_id, problems in report.invalid_batches:
            say(f"batch {batch_id} failed X12 validation, not released: {problems[0]}", err=True)
        say(f"built {len(report.files)} file(s) with {report.claims} claim(s)")
        for path in report.files:
            say(f"  {path}")
    if report.held or report.invalid_batches:
        raise Refused("some claims were held")


@main_group.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def validate(files: tuple[Path, ...], as_json: bool) -> None:
    """Check X12 files (837P, 835, 999, 277CA, TA1, ...) against the implementation guides.

    Each finding names the segment number (ISA = 1), the segment, the element and a code,
    never an element's value.  Exit 1 when anything is found, 2 when a file cannot be read.

    Example: bhclaims validate outbox/*.837
    """
    from runtime.logs import get_logger
    from validators.x12_syntax import UNREADABLE, check_x12

    log = get_logger("bhclaims.validate")
    results: list[dict[str, Any]] = []
    unreadable = False
    for path in files:
        notes: list[str] = []
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            unreadable = True
            results.append({"file": str(path), "readable": False, "error": exc.strerror or type(exc).__name__,
                            "findings": [], "notes": []})
            continue
        findings = check_x12(path, notes=notes)
        for note in notes:
            log.info("x12.tolerated", file=str(path), note=note)
        unreadable |= any(f.code == UNREADABLE for f in findings)
        results.append({"file": str(path), "readable": not any(f.code == UNREADABLE for f in findings),
                        "findings": [{"segment_number": f.number, "segment_id": f.segment, "element": f.element,
                                      "code": f.code, "message": f.message} for f in findings],
                        "notes": notes})
    if as_json:
        print_json(results)
    else:
        for item in results:
            if "error" in item:
                click.echo(f"{item['file']}: cannot be read: {item['error']}", err=True)
            elif not item["findings"]:
                click.echo(f"{item['file']}: clean")
            for f in item["findings"]:
                element = f" ({f['element']})" if f["element"] else ""
                click.echo(f"{item['file']}: segment {f['segment_number']} {f['segment_id']}{element}: "
                           f"{f['message']} [{f['code']}]")
    if unreadable:
        raise CouldNotRun("some files could not be read as X12")
    if any(item["findings"] for item in results):
        raise Refused("X12 findings in " + ", ".join(item["file"] for item in results if item["findings"]))


@main_group.command()
@click.option("--wait", default=0.0, show_default=True, help="Seconds to wait for another send/fetch to finish.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: sent, in doubt, failed.")
@click.pass_obj
def send(state: State, wait: float, as_json: bool) -> None:
    """Upload built 837P files to the clearinghouse, exactly once."""
    from console.progress import progress
    from outbox.sender import send_batches

    app = state.app
    transport = app.transport()
    try:
        with progress("sending 837P files"):
            report = send_batches(app.ledger, app.config, transport, actor=app.actor, lock_wait=wait)
    finally:
        transport.close()
    if as_json:
        print_json({"sent": list(report.sent),
                    "in_doubt": [{"file": name, "reason": why} for name, why in report.in_doubt],
                    "failed": [{"file": name, "reason": why} for name, why in report.failed]})
    else:
        for name in report.sent:
            say(f"sent {name}")
        for name, why in report.in_doubt + report.failed:
            say(f"not sent {name}: {why}", err=True)
        if not report.sent and not report.failed and not report.in_doubt:
            click.echo("nothing to send")
    if report.failed or report.in_doubt:
        raise Refused("some files were not sent")


@main_group.command("resolve-upload")
@click.argument("file_name")
@click.option("--delivered/--not-delivered", required=True,
              help="What the clearinghouse said: they have our file, or they do not.")
@click.pass_obj
def resolve_upload(state: State, file_name: str, delivered: bool) -> None:
    """Record the clearinghouse's answer about an upload left in doubt or in conflict.

    \b
    Example (they confirmed they never got it; the next send uploads it):
      bhclaims resolve-upload HARBORLIGHT-000000042.837 --not-delivered
    """
    from outbox.sender import resolve_in_doubt

    try:
        outcome = resolve_in_doubt(state.app.ledger, file_name, delivered=delivered, actor=state.app.actor)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    say(f"{file_name}: {outcome}")


@main_group.command()
@click.option("--wait", default=0.0, show_default=True, help="Seconds to wait for another send/fetch to finish.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: fetched, duplicates, waiting, failed, needs a human.")
@click.pass_obj
def fetch(state: State, wait: float, as_json: bool) -> None:
    """Download waiting TA1/999/277CA/835 files, exactly once."""
    from console.progress import progress
    from outbox.fetcher import fetch_files

    app = state.app
    transport = app.transport()
    try:
        with progress("fetching replies"):
            report = fetch_files(app.ledger, app.config, transport, lock_wait=wait)
    finally:
        transport.close()
    if as_json:
        print_json({"fetched": [visible(name) for name in report.fetched],
                    "duplicates": [visible(name) for name in report.duplicates],
                    "waiting": [visible(name) for name in report.waiting],
                    "failed": [{"file": visible(name), "reason": visible(why)} for name, why in report.failed],
                    "needs_human": [{"file": visible(name), "reason": visible(why)}
                                    for name, why in report.needs_human]})
    else:
        for name in report.fetched:
            say(f"fetched {visible(name)}")
        for name in report.duplicates:
            say(f"already have {visible(name)} (same content): skipped")
        for name in report.waiting:
            say(f"{visible(name)} is incomplete (no IEA yet, or still being written): left for the next run")
        for name, why in report.failed:
            say(f"could not fetch {visible(name)}: {visible(why)}", err=True)
        for name, why in report.needs_human:
            say(f"needs a human: {visible(name)} {visible(why)}", err=True)
    if report.failed or report.needs_human:
        raise Refused("some files were not fetched")


@main_group.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes posting fetched files at once (PostgreSQL ledger only).")
@click.pass_obj
def post(state: State, files: tuple[Path, ...], as_json: bool, workers: int) -> None:
    """Post fetched (or the named) 999/TA1/277CA/835 files into the ledger.

    The same file twice posts nothing the second time.
    """
    from console.progress import progress
    from ledger.queries import unmatched_money
    from remits.inbound import post_files, post_pending
    from remits.parallel import ParallelRefused, check_workers, post_pending_parallel

    app = state.app
    payer = app.config.payer
    try:
        check_workers(app.config.database_url, workers)
    except ParallelRefused as exc:
        raise CouldNotRun(str(exc)) from None
    if files and workers > 1:
        raise CouldNotRun("--workers posts the fetched files; name no files with it")
    with progress("posting acknowledgements and remittances"):
        if files:
            report = post_files(app.ledger, list(files), actor=app.actor, payer=payer)
        elif workers > 1:
            report = post_pending_parallel(app.ledger, workers, actor=app.actor, payer=payer)
        else:
            report = post_pending(app.ledger, actor=app.actor, payer=payer)
    with app.ledger.read_session() as session:  # counted as `worklist unmatched` counts its rows
        unmatched = unmatched_money(session, report.payments.remittance_ids)
    summary: dict[str, Any] = {
        "files_posted": report.files_posted,
        "already_posted": report.already_posted,
        "failed": report.failed,
        "claims_accepted": report.acks.accepted_claims,
        "claims_requeued": report.acks.requeued_claims,
        "claims_rejected": report.acks.rejected_claims,
        "remittances_posted": report.payments.posted,
        "remittances_duplicate": report.payments.duplicates,
        "claims_paid_or_adjudicated": report.payments.claims_posted,
        "total_paid": f"{report.payments.total_paid:.2f}",
        "unmatched": unmatched.count,
        "unmatched_claims": list(unmatched.claims),
        "unmatched_lines": unmatched.lines,
        "unmatched_paid": f"{unmatched.paid:.2f}",
        "reversals": report.payments.reversals,
        "denied_claims": report.payments.denied,
        "no_cost_share_charged": report.payments.flagged,
        "quarantined": report.payments.quarantined,
        "unmatched_acks": report.acks.unmatched,
    }
    if as_json:
        print_json(summary)
    else:
        for name in report.already_posted:
            say(f"{name}: already posted, nothing to do")
        for name, why in report.failed:
            say(f"{name}: not posted: {why}", err=True)
        say(f"posted {len(report.files_posted)} file(s): {summary['remittances_posted']} remittance(s) "
             f"paying {summary['total_paid']}, {summary['claims_accepted']} claim(s) accepted, "
             f"{len(summary['claims_requeued'])} requeued, {len(summary['denied_claims'])} denied, "
             f"{summary['reversals']} reversal(s), {unmatched.count} unmatched")
        if unmatched.count:
            say(f"{unmatched.count} unmatched payment(s) ({len(unmatched.claims)} claim(s), {unmatched.lines} "
                f"line(s), {unmatched.paid:.2f}): see `bhclaims worklist unmatched`", err=True)
        for claim_id in report.payments.flagged:
            say(f"claim {claim_id}: SCO/One Care member charged patient responsibility "
                 "(must be $0): see `bhclaims worklist patient-responsibility`", err=True)
    if report.failed:
        raise Refused("some files were not posted")


def _correction(state: State, claim_id: str, *, void: bool, from_file: Path | None, as_json: bool) -> None:
    from ledger.corrections import CorrectionRefused
    from usecases.setup import correct_claim

    try:
        result = correct_claim(state.app, claim_id, void=void, from_file=from_file)
    except CorrectionRefused as exc:
        raise Refused(str(exc)) from None
    if as_json:
        print_json(result)
        return
    kind = "void (frequency 8)" if void else "replacement (frequency 7)"
    say(f"claim {claim_id}: {kind} created as revision {result['revision']} with REF*F8 "
         f"{result['original_claim_number']}; status {result['status']}. `bhclaims build` sends it.")


@main_group.command()
@click.argument("claim_id")
@click.option("--from", "from_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="An export (CSV or XML) holding the corrected claim; default: resend the claim as it is.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def correct(state: State, claim_id: str, from_file: Path | None, as_json: bool) -> None:
    """Make a frequency-7 replacement of an adjudicated claim (REF*F8 = the payer's claim number).

    \b
    Example: bhclaims correct HL-260903 --from corrected.csv
    """
    _correction(state, claim_id, void=False, from_file=from_file, as_json=as_json)


@main_group.command()
@click.argument("claim_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def void(state: State, claim_id: str, as_json: bool) -> None:
    """Make a frequency-8 void of an adjudicated claim (REF*F8 = the payer's claim number).

    \b
    Example: bhclaims void HL-260903
    """
    _correction(state, claim_id, void=True, from_file=None, as_json=as_json)


CLAIM_COLUMNS = ("claim_id", "revision", "status", "frequency", "line_of_business", "billed", "paid",
                 "patient_responsibility", "balance", "payer_claim_number")
CLAIM_WIDE_ONLY = ("revision", "frequency")


@main_group.command("claims")
@click.option("--status", type=click.Choice(["ready", "held", "batched", "sent", "accepted", "rejected", "paid",
                                             "partially_paid", "denied", "replaced", "voided"]))
@click.option("--patient", metavar="NAME", help="Part of the patient's or subscriber's name, any case.")
@click.option("--member", "member_id", metavar="ID", help="The subscriber's or patient's member id, exactly.")
@click.option("--payer-claim-number", metavar="N", help="The payer's claim number (CLP07 / 277CA), exactly.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Claims served or entered on or after this day.")
@click.option("--lob", "line_of_business", metavar="LOB", help="Line of business, e.g. commercial, medicaid, sco.")
@click.option("--wide", is_flag=True, help="Also show revision and frequency in the terminal table.")
@output_options
@click.pass_obj
def claims_cmd(state: State, status: str | None, patient: str | None, member_id: str | None,
               payer_claim_number: str | None, since: datetime | None, line_of_business: str | None,
               wide: bool, as_json: bool, as_csv: bool) -> None:
    """List claims with status, money and balance, streamed as they are read.

    On a terminal the table leaves out revision and frequency (``--wide`` shows them);
    tab-separated lines, ``--csv`` and ``--json`` (an array written row by row) always carry every column.
    Looked up by --patient or --member, the listing names each claim's patient (on this screen
    only: names never go to the log).

    \b
    Example: bhclaims claims --patient rivera --since 2026-10-01 --status denied
    """
    from ledger.money import CLAIM_LIST_FIELDS, ClaimSearch, claim_list_rows, iter_claim_summaries

    search = ClaimSearch(status=status, patient=patient, member_id=member_id, payer_claim_number=payer_claim_number,
                         since=since.date() if since else None, line_of_business=line_of_business)
    columns = CLAIM_COLUMNS[:1] + ("patient",) + CLAIM_COLUMNS[1:] if search.by_person else CLAIM_COLUMNS
    with state.app.ledger.read_session() as session:
        if as_json and not search.by_person:  # the plain list: tuples straight from the driver
            with claim_list_rows(session, search=search) as rows:
                emit_json_rows(CLAIM_LIST_FIELDS, rows)
        else:
            emit_stream(lambda count: f"{count} claim(s)", columns, iter_claim_summaries(session, search=search),
                        as_json=as_json, as_csv=as_csv, wide_only=CLAIM_WIDE_ONLY, wide=wide)


@main_group.command("claim")
@click.argument("claim_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def claim_cmd(state: State, claim_id: str, as_json: bool) -> None:
    """Show one claim's story: events, batches, acknowledgements, payments."""
    from ledger.queries import claim_timeline

    with state.app.ledger.read_session() as session:
        story = claim_timeline(session, claim_id)
    if as_json:
        print_json(story)
        return
    for rev in story["revisions"]:
        say(f"claim {claim_id} revision {rev['revision']} (frequency {rev['frequency']}): {rev['status']}; "
             f"billed {rev['billed']} paid {rev['paid']} patient {rev['patient_responsibility']} "
             f"balance {rev['balance']}; payer claim # {rev['payer_claim_number'] or '-'}")
        for e in rev["events"]:
            say(f"  {e['at'][:19]} {e['actor']:<10} {e['event']:<22} {e['from'] or '':>14} -> {e['to'] or ''}"
                 f"{'  ' + e['detail'] if e['detail'] else ''}")
        for b in rev["batches"]:
            say(f"  batch {b['batch']} file {b['file']} ISA13 {b['isa13']} ST {b['st02']}: {b['status']}")
        for a in rev["acknowledgements"]:
            say(f"  {a['kind']} {a['code']}: {a['detail'] or ''}")
        for p in rev["payments"]:
            say(f"  835 trace {p['trace_number']} CLP02 {p['status_code']} paid {p['paid']} "
                 f"patient {p['patient_responsibility']} {' '.join(p['adjustments'])}")


@main_group.group("transport")
def transport_group() -> None:
    """The clearinghouse link of bhclaims.toml ([transport])."""


@transport_group.command("test")
@click.pass_obj
def transport_test(state: State) -> None:
    """Connect, verify the host key, log in and list the mailbox folders; nothing is sent or fetched.

    Exit 0 when the link works; 2 with what is wrong, in words (unknown or changed host key,
    refused key, missing folder, unreachable server).
    """
    link = state.app.transport()
    try:
        checked = link.check_mailbox()
    finally:
        link.close()
    say(f"reached {checked.where}" + (f"; its host key {checked.host_key} is the one known_hosts pins"
                                                if checked.host_key else ""))
    for folder in checked.folders:
        shown = f"{folder.entries} entr{'y' if folder.entries == 1 else 'ies'}" if folder.problem is None \
            else folder.problem
        say(f"  {folder.role} {folder.path}: {shown}")
    if checked.problems:
        raise CouldNotRun("; ".join(checked.problems))


@main_group.group()
def sandbox() -> None:
    """A stand-in clearinghouse and payer for trying the whole loop."""


@sandbox.command("process")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
def sandbox_process(directory: Path) -> None:
    """Answer every 837P waiting in DIRECTORY/inbound, writing into DIRECTORY/outbound.

    For each file: a 999 (or a TA1 if the envelope is broken), a 277CA accepting or
    rejecting each claim, and an 835 paying, partly paying or denying the accepted ones.
    """
    from sandbox.mailbox import process_mailbox

    answered = process_mailbox(directory.resolve())
    for name, outputs in answered:
        say(f"answered {name}: {', '.join(outputs)}")
    if not answered:
        click.echo("no 837P files waiting")


@main_group.command()
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False),
              help="Run in this (new) directory and keep it, instead of a temporary one.")
@click.option("--db", "demo_db", default=None, metavar="URL", help="Run the demo against this database instead.")
def demo(keep: Path | None, demo_db: str | None) -> None:
    """The whole loop on bundled data: init, ingest, build, send, sandbox, fetch, post, summary."""
    from usecases.demo import run_demo

    summary = run_demo(keep, database_url=demo_db, echo=click.echo)
    emit("Demo summary", tuple(summary), [summary])


def _register_edge_commands() -> None:
    """Command groups that live beside their edge modules (worklists, reports, nightly, quarantine)."""
    from clerk.commands import COMMANDS as CLERK_COMMANDS
    from clerk.posting_commands import COMMANDS as POSTING_COMMANDS

    for command in (*CLERK_COMMANDS, *POSTING_COMMANDS):
        main_group.add_command(command)
    # the 835 "unmatched" queue, also reachable as `bhclaims unmatched` (one command, two names)
    worklist = main_group.commands["worklist"]
    assert isinstance(worklist, click.Group)
    main_group.add_command(worklist.commands["unmatched"], name="unmatched")


_register_edge_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line for expected failures, a traceback only with -v."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    configure_process()
    try:
        main_group.main(args=args, prog_name="bhclaims", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_ERROR)
    except Refused as exc:
        say(f"bhclaims: {exc.message}", err=True)
        sys.exit(EXIT_REFUSED)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        say(f"bhclaims: {exc.format_message()}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # a bug when not expected: said plainly; the traceback may carry data, so only with -v
        line = expected_failure(exc) or f"internal error ({type(exc).__name__}); run again with -v for details"
        _fail(line, verbose)
    sys.exit(EXIT_OK)


# Failures of the environment or of the input that are said in one line, by module and class.  Looked up
# in the modules already loaded: an error of a module the command never imported cannot have happened.
ONE_LINE_ERRORS = (
    ("runtime.config", "ConfigError"),
    ("domain.clock", "ClockError"),
    ("ledger.db", "DatabaseError"),
    ("ledger.lookup", "UnknownClaim"),
    ("outbox.lock", "MailboxBusy"),
    ("outbox.transport", "TransportError"),
    ("parsers.profiles", "ProfileError"),
    ("usecases.ingest_workers", "IngestWorkerError"),
)


def expected_failure(exc: Exception) -> str | None:
    """The one line for a failure of the machine, the database or the input; None for a bug."""
    for module_name, class_name in ONE_LINE_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, class_name)):
            return str(exc)
    if isinstance(exc, OSError):  # disk full, no permission, a file gone
        return os_error_line(exc)
    database_errors = sys.modules.get("sqlalchemy.exc")
    if database_errors is not None and isinstance(exc, database_errors.SQLAlchemyError):
        return database_error_line(exc)  # the database went away or refused, after the command started
    return None


def _fail(line: str, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    say(f"bhclaims: {line}", err=True)
    sys.exit(EXIT_ERROR)


_DISK_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, then run the command again",
    errno.EDQUOT: "the disk quota is used up: free some space, then run the command again",
    errno.EFBIG: "the file size limit was reached",
    errno.EROFS: "the filesystem is read-only",
}


def os_error_line(exc: OSError) -> str:
    """``file: reason (what to do)``; an OSError we raised ourselves already says it in words."""
    if exc.strerror is None:
        return str(exc)
    where = f"{exc.filename}: " if exc.filename else ""
    hint = _DISK_HINTS.get(exc.errno or 0)
    return f"{where}{exc.strerror}" + (f" ({hint})" if hint else "")


def database_error_line(exc: Exception) -> str:
    """What the database said when it failed mid-command: the driver's first line for a lost
    connection or a full disk, only the error's kind otherwise (a refused row's detail may hold data)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    original = getattr(exc, "orig", None) or exc
    if type(original).__name__ == "QueryCanceled":  # PostgreSQL's statement_timeout (or a cancel)
        return ("the ledger database cancelled a statement that ran longer than [database] "
                "statement_timeout_seconds allows (or was cancelled by an administrator); nothing of it was "
                "kept: run again, or raise the limit")
    if isinstance(exc, OperationalError | InterfaceError):
        said = (str(original).strip().splitlines() or [""])[0][:200]
        return f"the ledger database failed: {said} ({type(original).__name__})"
    return f"the ledger database refused a change ({type(original).__name__}); run again with -v for details"


if __name__ == "__main__":
    main()
