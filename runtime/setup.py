"""Use cases that span the core and the ledger: set up a ledger, ingest a file, check claims."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from ledger.claims import load_domain_claim
from ledger.db import upgrade
from ledger.ingest import findings_json, ingest_claims
from ledger.models import Claim, ClaimStatus
from outbox.files import ensure_private_dir
from parsers.export import parse_export
from runtime.app import App
from runtime.config import Config, load_config


def create_ledger(config_path: Path, database_url: str | None = None) -> Config:
    """Create the folders a config names and migrate its database to the newest schema."""
    config = load_config(config_path, database_url)
    for folder in (config.outbox_dir, config.inbox_dir, config.state_dir):
        ensure_private_dir(folder)
    upgrade(config.database_url)
    return config


def ingest_file(app: App, path: Path, *, profile: Path | None = None) -> dict[str, Any]:
    result = parse_export(path, today=app.today, profile=profile)
    report = ingest_claims(app.ledger, result.claims, checker=app.check, actor=app.actor)
    return {
        "file": str(path),
        "rows_read": result.rows_read,
        "errors": [str(e) for e in result.errors],
        "refused_claims": sorted(set(result.refused_claim_ids) | {c for c, _ in report.refused}),
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "held": report.held,
        "refused": report.refused,
    }


def check_ledger_claims(app: App, claim_id: str | None = None) -> list[dict[str, Any]]:
    """Run the rules on claims not yet sent (ready, held); held/ready follows the result."""
    from ledger.claims import transition

    results = []
    with app.ledger.session() as session:
        query = select(Claim).where(Claim.status.in_(ClaimStatus.NOT_YET_SENT)).order_by(Claim.claim_id)
        if claim_id:
            query = select(Claim).where(Claim.claim_id == claim_id).order_by(Claim.revision.desc()).limit(1)
        for row in session.scalars(query):
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
