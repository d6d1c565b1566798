"""`bhclaims nightly`: the whole loop, unattended, with one report for the morning.

drop folder → ingest → check → build → send → fetch → post → report.

Every step is already idempotent on its own (ingest by content, build resumes
allocated batches, send asks the far side about interrupted uploads, fetch and
post know files by sha256), so a run that crashed is simply finished by the
next one.  An export is moved to ``drop/done/`` (named by its sha256) only
after it was ingested; a crash in between ingests it again, which changes
nothing.  One lock (``state/nightly.lock``) keeps two runs apart.

Exit codes: 0 the run left nothing new for a human; 1 something was refused, held, rejected,
denied, left unmatched or not sent; 2 the run could not do its work (config,
database, lock, clearinghouse link).
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from domain import clock
from ledger.models import Batch, Claim, ClaimEvent, ClaimPayment, ClaimStatus, Transmission
from outbox.files import ensure_private_dir, sha256_file, write_private
from outbox.lock import MailboxBusy, mailbox_lock
from outbox.transport import TransportError
from runtime.escaping import visible
from runtime.logs import get_logger
from usecases.app import App

log = get_logger("bhclaims.nightly")

EXIT_OK, EXIT_ATTENTION, EXIT_ERROR = 0, 1, 2
EXPORT_SUFFIXES = (".csv", ".xml")
ATTENTION_STATUSES = (ClaimStatus.HELD, ClaimStatus.REJECTED, ClaimStatus.DENIED)


@dataclass
class Step:
    """One step's outcome: ok, attention (a human should look), error (could not run) or skipped."""

    name: str
    status: str = "ok"
    summary: str = ""
    attention: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "status": self.status,
            "summary": self.summary,
            "attention": self.attention,
            "detail": self.detail,
        }


def drop_dir(app: App) -> Path:
    """The PM system's drop folder: ``[paths] drop`` of the config (default ``drop`` beside it)."""
    return Path(getattr(app.config, "drop_dir", app.config.base_dir / "drop"))


def reports_dir(app: App) -> Path:
    return Path(getattr(app.config, "reports_dir", app.config.base_dir / "reports"))


def waiting_exports(drop: Path, *, settle_seconds: float, now: float) -> tuple[list[Path], list[Path]]:
    """(exports ready to ingest, exports still being written) in name order.

    A file modified less than ``settle_seconds`` ago may still be growing: the PM
    system writes it in place, so it waits for the next run.
    """
    if not drop.is_dir():
        return [], []
    ready: list[Path] = []
    settling: list[Path] = []
    for path in sorted(drop.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in EXPORT_SUFFIXES or not path.is_file():
            continue
        (settling if now - path.stat().st_mtime < settle_seconds else ready).append(path)
    return ready, settling


def ingested_digests(done: Path) -> set[str]:
    """sha256 prefixes of exports already ingested (the first part of each name in ``drop/done``)."""
    if not done.is_dir():
        return set()
    return {p.name.split("-", 1)[0] for p in done.iterdir() if p.is_file()}


def run_nightly(
    app: App, *, dry_run: bool = False, settle_seconds: float = 60.0, run_id: str | None = None
) -> dict[str, Any]:
    """Run (or, with ``dry_run``, describe) the loop; returns the run report (also written to reports/)."""
    import structlog  # here, not at import: `status` imports this module for reports_dir and never logs

    run_id = run_id or uuid.uuid4().hex[:12]
    started = clock.now()
    structlog.contextvars.bind_contextvars(run_id=run_id)
    try:
        log.info("nightly.started", dry_run=dry_run, actor=app.actor)
        if clock.pinned_today() is not None:  # deadlines follow it: never meant for production
            log.warning("clock.pinned", today=app.today.isoformat(), variable=clock.ENVIRONMENT_VARIABLE)
        if dry_run:
            steps = _describe(app, settle_seconds=settle_seconds)
        else:
            with mailbox_lock(app.config.state_dir, "nightly", database_url=app.ledger.url):
                steps = _run(app, settle_seconds=settle_seconds)
        report = _report(app, run_id, started, dry_run, steps)
        if not dry_run:
            report["report_files"] = write_run_report(reports_dir(app), report)
        log.info("nightly.finished", exit_code=report["exit_code"], attention=len(report["attention"]))
        return report
    finally:
        structlog.contextvars.unbind_contextvars("run_id")


def _report(app: App, run_id: str, started: datetime, dry_run: bool, steps: list[Step]) -> dict[str, Any]:
    from clerk.worklists import open_counts

    with app.ledger.read_session() as session:
        worklists = open_counts(session, app.today, app.rule_settings)
    attention = [item for step in steps for item in step.attention]
    if any(step.status == "error" for step in steps):
        code = EXIT_ERROR
    elif attention:
        code = EXIT_ATTENTION
    else:
        code = EXIT_OK
    return {
        "run_id": run_id,
        "dry_run": dry_run,
        "actor": app.actor,
        "started": started.isoformat(timespec="seconds"),
        "finished": clock.now().isoformat(timespec="seconds"),
        "today": app.today.isoformat(),
        "clock_pinned": clock.pinned_today() is not None,
        "exit_code": code,
        "steps": [step.as_dict() for step in steps],
        "attention": attention,
        "worklists": worklists,
    }


# --- the run ------------------------------------------------------------------------------------


def _run(app: App, *, settle_seconds: float) -> list[Step]:
    with app.ledger.read_session() as session:
        first_event = (session.scalar(select(func.max(ClaimEvent.id))) or 0) + 1
        first_payment = (session.scalar(select(func.max(ClaimPayment.id))) or 0) + 1
    steps = [_guarded("ingest", lambda step: _ingest(app, step, settle_seconds))]
    steps.append(_guarded("check", lambda step: _check(app, step)))
    steps.append(_guarded("build", lambda step: _build(app, step)))
    opened: list[Any] = []

    def transport() -> Any:
        """One link for send and fetch, opened by whichever needs it first."""
        if not opened:
            opened.append(app.transport())
        return opened[0]

    try:
        steps.append(_guarded("send", lambda step: _send(app, step, transport())))
        steps.append(_guarded("fetch", lambda step: _fetch(app, step, transport())))
    finally:
        for link in opened:
            link.close()
    steps.append(_guarded("post", lambda step: _post(app, step)))
    steps.append(_claims_needing_attention(app, first_event, first_payment))
    return steps


def _guarded(name: str, body: Callable[[Step], None]) -> Step:
    """Run one step; a failure of the machine (link, disk) marks it ``error`` and the run goes on."""
    step = Step(name)
    try:
        body(step)
    except (TransportError, MailboxBusy, OSError) as exc:
        step.status = "error"
        step.summary = f"could not run: {exc}"
        log.error("nightly.step_failed", step=name, error=str(exc))
        return step
    if step.attention and step.status == "ok":
        step.status = "attention"
    log.info("nightly.step", step=name, status=step.status, summary=step.summary)
    return step


def _ingest(app: App, step: Step, settle_seconds: float) -> None:
    from usecases.setup import ingest_file

    drop = drop_dir(app)
    if not drop.exists():
        ensure_private_dir(drop)
    mode = drop.stat().st_mode & 0o777
    if mode & 0o007:
        step.attention.append(
            f"drop folder {drop} is readable by every user (mode {mode:o}): chmod o-rwx {drop}"
        )
    done = ensure_private_dir(drop / "done")
    known = ingested_digests(done)
    ready, settling = waiting_exports(drop, settle_seconds=settle_seconds, now=time.time())
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    files = []
    for path in ready:
        digest = sha256_file(path)[:16]
        entry: dict[str, Any] = {"file": path.name, "sha256": digest}
        if digest in known:
            entry["result"] = "already ingested"
        else:
            try:
                result = ingest_file(app, path)
            except (OSError, ValueError) as exc:  # unreadable: leave it in the drop folder for a human
                step.attention.append(f"{path.name}: could not be read, left in {drop}: {exc}")
                files.append({**entry, "result": "unreadable", "error": str(exc)})
                continue
            entry.update(
                result="ingested",
                added=len(result["added"]),
                updated=len(result["updated"]),
                unchanged=len(result["unchanged"]),
                held=len(result["held"]),
                refused=len(result["refused_claims"]),
                errors=result["errors"],
            )
            step.attention += [f"{path.name}: {error}" for error in result["errors"]]
            step.attention += [
                f"{path.name}: claim {claim_id} refused: {reason}" for claim_id, reason in result["refused"]
            ]
        target = done / f"{digest}-{stamp}-{path.name}"
        os.replace(path, target)
        try:
            os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)
        except PermissionError:
            step.attention.append(f"{target}: cannot make it private (owned by another user)")
        known.add(digest)
        files.append(entry)
    step.detail = {"drop": str(drop), "files": files, "still_being_written": [p.name for p in settling]}
    new = [f for f in files if f["result"] == "ingested"]
    step.summary = (
        f"{len(new)} new export(s): {sum(f['added'] for f in new)} claim(s) added, "
        f"{sum(f['updated'] for f in new)} updated, {sum(f['refused'] for f in new)} refused"
        + (f"; {len(files) - len(new)} already ingested" if len(files) > len(new) else "")
        + (f"; {len(settling)} still being written" if settling else "")
    )


def _check(app: App, step: Step) -> None:
    from usecases.setup import check_ledger_claims

    results = check_ledger_claims(app)
    held = [r for r in results if r["status"] == ClaimStatus.HELD]
    step.summary = f"{len(results)} claim(s) not yet sent: {len(results) - len(held)} ready, {len(held)} held"
    step.detail = {"ready": len(results) - len(held), "held": len(held)}


def _build(app: App, step: Step) -> None:
    from outbox.batches import build_batches

    report = build_batches(app.ledger, app.config, checker=app.check, actor=app.actor, now=app.now())
    step.summary = f"{len(report.files)} file(s) with {report.claims} claim(s)"
    step.attention += [
        f"batch {batch_id} failed X12 validation: {problems[0] if problems else ''}"
        for batch_id, problems in report.invalid_batches
    ]
    step.detail = {
        "files": [Path(f).name for f in report.files],
        "claims": report.claims,
        "held": len(report.held),
    }


def _send(app: App, step: Step, transport: Any) -> None:
    from outbox.sender import send_batches

    report = send_batches(app.ledger, app.config, transport, actor=app.actor)
    step.summary = f"{len(report.sent)} file(s) sent" if report.sent else "nothing to send"
    step.attention += [f"not sent {name}: {why}" for name, why in report.in_doubt + report.failed]
    step.detail = {"sent": report.sent, "in_doubt": len(report.in_doubt), "failed": len(report.failed)}
    if report.failed and not report.sent and not report.in_doubt:
        step.status = "error"


def _fetch(app: App, step: Step, transport: Any) -> None:
    from outbox.fetcher import fetch_files

    report = fetch_files(app.ledger, app.config, transport)
    step.summary = f"{len(report.fetched)} file(s) fetched" + (
        f", {len(report.waiting)} incomplete left for next run" if report.waiting else ""
    )
    step.attention += [f"could not fetch {visible(name)}: {why}" for name, why in report.failed]
    step.attention += [f"reply {visible(name)} {why}" for name, why in report.needs_human]
    step.detail = {
        "fetched": [visible(name) for name in report.fetched],
        "duplicates": len(report.duplicates),
        "waiting": [visible(name) for name in report.waiting],
        "needs_human": len(report.needs_human),
    }


def _post(app: App, step: Step) -> None:
    from ledger.queries import unmatched_money
    from remits.inbound import post_pending

    report = post_pending(app.ledger, actor=app.actor, payer=app.config.payer)
    step.summary = (
        f"{len(report.files_posted)} file(s) posted: {report.payments.posted} remittance(s) paying "
        f"{report.payments.total_paid:.2f}, {report.payments.claims_posted} claim(s) adjudicated"
    )
    step.attention += [f"{name}: not posted: {why}" for name, why in report.failed]
    with app.ledger.read_session() as session:  # counted as `worklist unmatched` counts its rows
        unmatched = unmatched_money(session, report.payments.remittance_ids)
    step.attention += [
        f"835 pays claim {number}, which is not in the ledger (worklist unmatched)" for number in unmatched.claims
    ]
    if unmatched.lines:
        step.attention.append(f"{unmatched.lines} 835 line(s) pay no line we billed (worklist unmatched)")
    step.attention += [f"acknowledgement not matched: {what}" for what in report.acks.unmatched]
    step.detail = {
        "files": report.files_posted,
        "accepted": report.acks.accepted_claims,
        "requeued": report.acks.requeued_claims,
        "total_paid": f"{report.payments.total_paid:.2f}",
        "unmatched": unmatched.count,
    }


def _claims_needing_attention(app: App, first_event: int, first_payment: int) -> Step:
    """Claims this run held, rejected or denied, read back from the audit log (one source of truth)."""
    from clerk.worklists import NO_COST_SHARE

    step = Step("review")
    with app.ledger.read_session() as session:
        events = session.execute(
            select(ClaimEvent, Claim.claim_id)
            .join(Claim, Claim.id == ClaimEvent.claim_pk)
            .where(
                ClaimEvent.id >= first_event,
                ClaimEvent.actor == app.actor,
                (
                    ClaimEvent.to_status.in_(ATTENTION_STATUSES)
                    & (ClaimEvent.from_status != ClaimEvent.to_status)
                )
                | (ClaimEvent.event == "transmission_rejected"),
            )
            .order_by(ClaimEvent.id)
        )
        for event, claim_id in events:
            what = (
                "rejected by 999/TA1, queued again"
                if event.event == "transmission_rejected"
                else event.to_status
            )
            step.attention.append(f"claim {claim_id}: {what}{': ' + event.detail if event.detail else ''}")
        charged = session.execute(
            select(Claim.claim_id, ClaimPayment.patient_responsibility)
            .join(Claim, Claim.id == ClaimPayment.claim_pk)
            .where(
                ClaimPayment.id >= first_payment,
                Claim.line_of_business.in_(NO_COST_SHARE),
                ClaimPayment.patient_responsibility != 0,
            )
        )
        for claim_id, amount in charged:
            step.attention.append(
                f"claim {claim_id}: SCO/One Care member charged {amount:.2f} (must be zero)"
            )
    step.status = "attention" if step.attention else "ok"
    step.summary = (
        f"{len(step.attention)} claim(s) need a human" if step.attention else "no claim of this run needs a human"
    )
    return step


# --- dry run ------------------------------------------------------------------------------------


def _describe(app: App, *, settle_seconds: float) -> list[Step]:
    """What a run would do now, read-only: nothing is ingested, moved, built, sent or posted."""
    from ledger.claims import load_domain_claim

    drop = drop_dir(app)
    ready, settling = waiting_exports(drop, settle_seconds=settle_seconds, now=time.time())
    known = ingested_digests(drop / "done")
    new = [p for p in ready if sha256_file(p)[:16] not in known]
    steps = [
        Step(
            "ingest",
            summary=f"would ingest {len(new)} export(s) from {drop}"
            + (
                f" ({len(ready) - len(new)} already ingested, would be filed away)"
                if len(ready) > len(new)
                else ""
            )
            + (f"; {len(settling)} still being written" if settling else ""),
            detail={
                "new": [p.name for p in new],
                "already_ingested": len(ready) - len(new),
                "still_being_written": [p.name for p in settling],
            },
        )
    ]
    with app.ledger.read_session() as session:
        rows = list(session.scalars(select(Claim).where(Claim.status.in_(ClaimStatus.NOT_YET_SENT))))
        would_hold = [
            row.claim_id
            for row in rows
            if any(f.severity == "error" for f in app.check(load_domain_claim(session, row)))
        ]
        unsent = (
            session.scalar(
                select(func.count())
                .select_from(Batch)
                .where(Batch.status.in_(("allocated", "built", "uploading")))
            )
            or 0
        )
        unposted = (
            session.scalar(
                select(func.count())
                .select_from(Transmission)
                .where(Transmission.direction == "in", Transmission.state == "fetched")
            )
            or 0
        )
    ready_count = len(rows) - len(would_hold)
    steps.append(
        Step(
            "check",
            summary=f"{len(rows)} claim(s) not yet sent: {ready_count} would be ready, "
            f"{len(would_hold)} held by the rules",
            detail={"ready": ready_count, "held": len(would_hold)},
        )
    )
    steps.append(
        Step(
            "build",
            summary=f"would build 837P files for {ready_count} claim(s)",
            detail={"claims": ready_count},
        )
    )
    steps.append(
        Step(
            "send",
            summary=f"{unsent} batch file(s) built or interrupted, waiting to be sent",
            detail={"batches": unsent},
        )
    )
    fetch = Step("fetch")
    try:
        transport = app.transport()
        try:
            names = [visible(remote.name) for remote in transport.list_inbound()]
        finally:
            transport.close()
        fetch.summary = f"{len(names)} file(s) waiting at the clearinghouse"
        fetch.detail = {"waiting": names}
    except TransportError as exc:
        fetch.status, fetch.summary = "error", f"could not list the clearinghouse: {exc}"
    steps.append(fetch)
    steps.append(
        Step(
            "post",
            summary=f"{unposted} fetched file(s) waiting to be posted (plus what fetch brings)",
            detail={"fetched_not_posted": unposted},
        )
    )
    return steps


# --- the report ----------------------------------------------------------------------------------


def verdict_when_ok(worklists: dict[str, int]) -> str:
    """A run that left nothing new (exit 0) says "nothing needs a human" only when every worklist is
    empty too: a denial from last week still waits for its appeal."""
    waiting = sum(worklists.values())
    if not waiting:
        return "nothing needs a human"
    return f"nothing new needs a human; {waiting} item(s) wait in the worklists"


def summary_text(report: dict[str, Any]) -> str:
    """One screen: the steps, what needs a human, the open worklists."""
    verdict = {
        EXIT_OK: verdict_when_ok(report["worklists"]),
        EXIT_ATTENTION: "SOMETHING NEEDS A HUMAN",
        EXIT_ERROR: "COULD NOT FINISH",
    }[report["exit_code"]]
    lines = [
        f"bhclaims nightly {'(dry run) ' if report['dry_run'] else ''}run {report['run_id']} "
        f"{report['started']}: {verdict} (exit {report['exit_code']})",
        "",
    ]
    lines += [f"  {s['step']:<7} {s['status']:<9} {s['summary']}" for s in report["steps"]]
    if report["attention"]:
        lines += ["", "Needs a human:"]
        shown = report["attention"][:12]
        lines += [f"  - {item}" for item in shown]
        if len(report["attention"]) > len(shown):
            lines.append(f"  ... and {len(report['attention']) - len(shown)} more (see the JSON report)")
    lines += [
        "",
        "Open worklists: " + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in report["worklists"].items()),
        "  (bhclaims worklist NAME for the rows)",
    ]
    return "\n".join(visible(line) for line in lines) + "\n"  # data in a line cannot drive a terminal


def write_run_report(folder: Path, report: dict[str, Any]) -> list[str]:
    """``nightly-<UTC stamp>-<run id>.json`` and ``.txt``, 0600 in a 0700 folder."""
    import json

    ensure_private_dir(folder)
    stem = f"nightly-{clock.now().strftime('%Y%m%dT%H%M%SZ')}-{report['run_id']}"
    json_path, text_path = folder / f"{stem}.json", folder / f"{stem}.txt"
    report = {**report, "report_files": [str(json_path), str(text_path)]}
    write_private(json_path, (json.dumps(report, indent=2, default=str) + "\n").encode())
    write_private(text_path, summary_text(report).encode())
    return [str(json_path), str(text_path)]
