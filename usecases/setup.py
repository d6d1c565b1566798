"""Use cases that span the core and the ledger: set up a ledger, ingest a file, check claims."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.claim import Claim as DomainClaim
from ledger.claims import load_domain_claim
from ledger.db import Ledger, upgrade
from ledger.ingest import ingest_prepared
from ledger.lookup import require_claim_id
from ledger.models import Claim, ClaimStatus
from ledger.prepared import Checker, PreparedClaim, findings_json, prepare_claim
from outbox.files import ensure_private_dir
from parsers.csv_export import CsvExportReader
from parsers.errors import RowError
from parsers.export import export_reader, parse_export
from runtime.config import Config, load_config
from usecases.app import App
from usecases.ingest_workers import ingest_in_workers, worker_count
from usecases.results import CheckResult, IngestResult


def create_ledger(config_path: Path, database_url: str | None = None) -> Config:
    """Create the folders a config names and migrate its database to the newest schema."""
    config = load_config(config_path, database_url)
    for folder in (config.outbox_dir, config.inbox_dir, config.state_dir):
        ensure_private_dir(folder)
    upgrade(config.database_url)
    return config


def ingest_file(app: App, path: Path, *, profile: Path | None = None, workers: int | None = None) -> IngestResult:
    """Read one export into the ledger, checking each claim with the app's rules."""
    return ingest_export(app.ledger, Path(path), today=app.today, checker=app.check, actor=app.actor,
                         profile=profile, workers=workers)


def ingest_export(ledger: Ledger, path: Path, *, today: date, checker: Checker, actor: str,
                  profile: Path | None = None, workers: int | None = None) -> IngestResult:
    """Read one export into the ledger; a large CSV is parsed, checked and stored by worker
    processes (``usecases.ingest_workers``, ``workers=None``: as ``worker_count`` says), with
    the same result as in this one."""
    return _ingest_export(ledger, path, today=today, checker=checker, actor=actor, profile=profile,
                          workers=workers)


def _ingest_export(ledger: Ledger, path: Path, *, today: date, checker: Checker, actor: str,
                   profile: Path | None, workers: int | None) -> IngestResult:
    errors: list[RowError] = []

    def claims_only(items: Iterable[PreparedClaim | RowError]) -> Iterator[PreparedClaim]:
        for item in items:
            if isinstance(item, RowError):
                errors.append(item)
            else:
                yield item

    def prepare(claim: DomainClaim) -> PreparedClaim:
        return prepare_claim(claim, checker)

    reader = export_reader(path, today=today, profile=profile)
    if workers is None:
        workers = worker_count(path) if isinstance(reader, CsvExportReader) else 0
    if workers > 1 and isinstance(reader, CsvExportReader):
        report, row_errors, rows_read = ingest_in_workers(ledger, path, today=today, profile=reader.profile,
                                                          prepare=prepare, actor=actor, workers=workers)
        errors.extend(row_errors)
    else:
        items = (item if isinstance(item, RowError) else prepare(item) for item in reader)
        report = ingest_prepared(ledger, claims_only(items), actor=actor)
        rows_read = reader.rows_read
    refused = {error.claim_id for error in errors if error.claim_id}
    return {
        "file": str(path),
        "rows_read": rows_read,
        "errors": [str(e) for e in errors],
        "refused_claims": sorted(refused | {c for c, _ in report.refused}),
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "held": report.held,
        "refused": report.refused,
    }


def check_ledger_claims(app: App, claim_id: str | None = None, *, expect: Callable[[int], None] | None = None,
                        on_claim: Callable[[], None] | None = None) -> list[CheckResult]:
    """Run the rules on claims not yet sent (ready, held); held/ready follows the result.

    ``expect`` hears how many claims will be checked and ``on_claim`` each one checked, so a
    terminal can show progress (``console.progress``) without the use case knowing about it.
    """
    from ledger.claims import transition

    results: list[CheckResult] = []
    with app.ledger.session() as session:
        query = select(Claim).where(Claim.status.in_(ClaimStatus.NOT_YET_SENT)).order_by(Claim.claim_id)
        if claim_id:
            require_claim_id(session, claim_id)
            query = select(Claim).where(Claim.claim_id == claim_id).order_by(Claim.revision.desc()).limit(1)
        rows = list(session.scalars(query))
        if expect is not None:
            expect(len(rows))
        for row in rows:
            if on_claim is not None:
                on_claim()
            findings = app.check(load_domain_claim(session, row))
            if row.status in ClaimStatus.NOT_YET_SENT:
                blocked = any(f.severity == "error" for f in findings)
                wanted = ClaimStatus.HELD if blocked else ClaimStatus.READY
                row.findings = findings_json(findings)
                if row.status != wanted:
                    transition(session, row, wanted, actor=app.actor, event="checked",
                               detail="; ".join(f.code for f in findings if f.severity == "error") or None)
            results.append({
                "claim_id": row.claim_id,
                "status": row.status,
                "findings": [
                    {"code": f.code, "severity": f.severity, "message": f.message, "line_id": f.line_id,
                     "source": str(f.source) if f.source else None, "rule_source": f.rule_source}
                    for f in findings
                ],
            })
    return results


def correct_claim(app: App, claim_id: str, *, void: bool, from_file: Path | None = None) -> dict[str, Any]:
    """Create the frequency-7 replacement (optionally with corrected data from an export) or the 8 void."""
    from domain.claim import Frequency
    from ledger.corrections import CorrectionRefused, create_correction

    content = None
    with app.ledger.read_session() as session:
        require_claim_id(session, claim_id)  # said before the file is read: the id is what is wrong
    if from_file is not None:
        result = parse_export(from_file, today=app.today)
        matches = [c for c in result.claims if c.claim_id == claim_id]
        if not matches:
            problems = [str(e) for e in result.errors if e.claim_id == claim_id]
            raise CorrectionRefused(f"{from_file} has no valid claim {claim_id}" + (f": {problems[0]}" if problems else ""))
        content = matches[0]
    with app.ledger.session() as session:
        row = create_correction(
            session, claim_id, frequency=Frequency.VOID if void else Frequency.REPLACEMENT, today=app.today,
            window_days=app.rule_settings.corrected_claim_days, checker=app.check, actor=app.actor, content=content)
        return {"claim_id": claim_id, "revision": row.revision, "frequency": row.frequency, "status": row.status,
                "original_claim_number": row.original_claim_number, "findings": row.findings}
