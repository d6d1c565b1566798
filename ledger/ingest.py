"""Putting parsed claims into the ledger: new, unchanged, updated or refused.

Re-ingesting the same export changes nothing.  A claim whose content changed
may still be updated while it has not left the office (ready, held) or after
its transmission was rejected; once sent, a change must go through
``bhclaims correct`` (a frequency-7 replacement) and is refused here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.claim import Claim as DomainClaim
from domain.claim import Frequency
from ledger.claims import (
    PartyCache,
    claim_party_records,
    claim_values,
    content_hash,
    fill_claim_row,
    line_values,
    record_event,
    transition,
)
from ledger.db import Ledger
from ledger.models import Claim, ClaimEvent, ClaimStatus
from ledger.models import ServiceLine as LineRow
from ledger.types import utcnow

UPDATABLE = (ClaimStatus.READY, ClaimStatus.HELD, ClaimStatus.REJECTED)
_COLUMN_OF = {attr.key: attr.columns[0].name for attr in Claim.__mapper__.column_attrs if attr.key != attr.columns[0].name}


Checker = Callable[[DomainClaim], Sequence[Any]]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (claim id, reason)


def findings_json(findings: Sequence[Any]) -> str | None:
    if not findings:
        return None
    return json.dumps([
        {"code": f.code, "severity": f.severity, "message": f.message, "line_id": getattr(f, "line_id", None)}
        for f in findings
    ])


def _blocking(findings: Sequence[Any]) -> list[Any]:
    return [f for f in findings if f.severity == "error"]


def ingest_claims(ledger: Ledger, claims: Iterable[DomainClaim], *, checker: Checker, actor: str,
                  chunk_size: int = 1000) -> IngestReport:
    """Store ``claims`` in chunks (one transaction each) and report what happened to each."""
    report = IngestReport()
    chunk: list[DomainClaim] = []
    ids: set[str] = set()
    for claim in claims:
        if len(chunk) >= chunk_size or claim.claim_id in ids:  # one revision of a claim per chunk
            _ingest_chunk(ledger, chunk, checker, actor, report)
            chunk, ids = [], set()
        chunk.append(claim)
        ids.add(claim.claim_id)
    if chunk:
        _ingest_chunk(ledger, chunk, checker, actor, report)
    return report


@dataclass(frozen=True)
class _Latest:
    id: int
    revision: int
    content_hash: str
    status: str
    frequency: str


def _latest_revisions(session: Session, claim_ids: list[str]) -> dict[str, _Latest]:
    latest: dict[str, _Latest] = {}
    for start in range(0, len(claim_ids), 500):
        for row in session.execute(select(Claim.id, Claim.claim_id, Claim.revision, Claim.content_hash,
                                          Claim.status, Claim.frequency)
                                   .where(Claim.claim_id.in_(claim_ids[start:start + 500]))):
            if row.claim_id not in latest or latest[row.claim_id].revision < row.revision:
                latest[row.claim_id] = _Latest(row.id, row.revision, row.content_hash, row.status, row.frequency)
    return latest


def _ingest_chunk(ledger: Ledger, claims: list[DomainClaim], checker: Checker, actor: str, report: IngestReport) -> None:
    """One transaction: set-based inserts for new claims, the ORM for the rare update."""
    with ledger.session() as session:
        parties = PartyCache(session)
        latest = _latest_revisions(session, [c.claim_id for c in claims])
        new_rows: list[tuple[DomainClaim, dict[str, Any], str]] = []
        for claim in claims:
            digest = content_hash(claim)
            existing = latest.get(claim.claim_id)
            if existing is not None and existing.content_hash == digest:
                report.unchanged.append(claim.claim_id)
                continue
            is_new_revision = existing is not None and claim.frequency != Frequency.ORIGINAL \
                and existing.frequency != claim.frequency.value and existing.status in ClaimStatus.ADJUDICATED
            if existing is not None and not is_new_revision and existing.status not in UPDATABLE:
                report.refused.append((
                    claim.claim_id,
                    f"claim {claim.claim_id} changed but was already {existing.status}: "
                    f"use `bhclaims correct {claim.claim_id}` to send a replacement",
                ))
                continue
            findings = checker(claim)
            status = ClaimStatus.HELD if _blocking(findings) else ClaimStatus.READY
            if existing is not None and not is_new_revision:
                _update(session, parties, session.get_one(Claim, existing.id), claim, digest, findings, status,
                        actor, report)
                continue
            values = {
                "revision": 0 if existing is None else existing.revision + 1,
                "replaces_id": None if existing is None else existing.id,
                "status": status,
                "findings": findings_json(findings),
                "content_hash": digest,
            }
            new_rows.append((claim, values, status))
            (report.held if status == ClaimStatus.HELD else report.added).append(claim.claim_id)
        records = [claim_party_records(claim) for claim, _, _ in new_rows]
        parties.resolve(record for claim_records in records for record in claim_records.values())
        for (claim, values, _), claim_records in zip(new_rows, records, strict=True):
            values.update(claim_values(claim, parties.ids_for(claim, claim_records), values["content_hash"]))
        _insert_new(session, new_rows, actor)


def _insert_new(session: Session, new_rows: list[tuple[DomainClaim, dict[str, Any], str]], actor: str) -> None:
    if not new_rows:
        return
    # Core statements on the session's connection: same transaction, none of the ORM's per-row bookkeeping.
    now = utcnow()
    connection = session.connection()
    claims_table, lines_table, events_table = Claim.__table__, LineRow.__table__, ClaimEvent.__table__
    rows = [{_COLUMN_OF.get(key, key): value for key, value in values.items()} | {"created_at": now, "updated_at": now}
            for _, values, _ in new_rows]
    connection.execute(claims_table.insert(), rows)  # one executemany; ids are read back by natural key
    keys = {(row["claim_id"], row["revision"]) for row in rows}
    id_of: dict[tuple[str, int], int] = {}
    claim_ids = sorted({claim_id for claim_id, _ in keys})
    for start in range(0, len(claim_ids), 500):
        for pk, claim_id, revision in connection.execute(
                select(claims_table.c.id, claims_table.c.claim_id, claims_table.c.revision)
                .where(claims_table.c.claim_id.in_(claim_ids[start:start + 500]))):
            if (claim_id, revision) in keys:
                id_of[(claim_id, revision)] = pk
    ids = [id_of[(row["claim_id"], row["revision"])] for row in rows]
    connection.execute(lines_table.insert(), [
        {**line, "claim_pk": pk} for pk, (claim, _, _) in zip(ids, new_rows, strict=True) for line in line_values(claim)
    ])
    connection.execute(events_table.insert(), [
        {"claim_pk": pk, "actor": actor, "event": "ingested", "from_status": None, "to_status": status,
         "detail": _where(claim), "at": now}
        for pk, (claim, _, status) in zip(ids, new_rows, strict=True)
    ])


def _update(session: Session, parties: PartyCache, row: Claim, claim: DomainClaim, digest: str,
            findings: Sequence[Any], status: str, actor: str, report: IngestReport) -> None:
    fill_claim_row(row, claim, parties, digest)
    row.findings = findings_json(findings)
    session.flush()
    if row.status != status:
        transition(session, row, status, actor=actor, event="updated", detail=_where(claim))
    else:
        record_event(session, row, actor=actor, event="updated", detail=_where(claim))
    report.updated.append(claim.claim_id)
    if status == ClaimStatus.HELD:
        report.held.append(claim.claim_id)


def _where(claim: DomainClaim) -> str | None:
    return str(claim.source) if claim.source else None
