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

from domain.claim import Claim as DomainClaim
from domain.claim import Frequency
from ledger.claims import PartyCache, content_hash, current_revision, fill_claim_row, record_event, transition
from ledger.db import Ledger
from ledger.models import Claim, ClaimStatus

UPDATABLE = (ClaimStatus.READY, ClaimStatus.HELD, ClaimStatus.REJECTED)


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
                  chunk_size: int = 500) -> IngestReport:
    """Store ``claims`` in chunks (one transaction each) and report what happened to each."""
    report = IngestReport()
    chunk: list[DomainClaim] = []
    for claim in claims:
        chunk.append(claim)
        if len(chunk) >= chunk_size:
            _ingest_chunk(ledger, chunk, checker, actor, report)
            chunk = []
    if chunk:
        _ingest_chunk(ledger, chunk, checker, actor, report)
    return report


def _ingest_chunk(ledger: Ledger, claims: list[DomainClaim], checker: Checker, actor: str, report: IngestReport) -> None:
    with ledger.session() as session:
        parties = PartyCache(session)
        for claim in claims:
            digest = content_hash(claim)
            existing = current_revision(session, claim.claim_id)
            findings = checker(claim)
            status = ClaimStatus.HELD if _blocking(findings) else ClaimStatus.READY
            if existing is None or (claim.frequency != Frequency.ORIGINAL
                                    and existing.frequency != claim.frequency.value
                                    and existing.status in ClaimStatus.ADJUDICATED):
                # new claim, or a 7/8 the PM system made for a claim the payer has adjudicated
                row = Claim(revision=0 if existing is None else existing.revision + 1,
                            replaces_id=None if existing is None else existing.id)
                fill_claim_row(row, claim, parties, digest)
                row.findings = findings_json(findings)
                session.add(row)
                transition(session, row, status, actor=actor, event="ingested", detail=_where(claim))
                (report.held if status == ClaimStatus.HELD else report.added).append(claim.claim_id)
            elif existing.content_hash == digest:
                report.unchanged.append(claim.claim_id)
            elif existing.status in UPDATABLE:
                fill_claim_row(existing, claim, parties, digest)
                existing.findings = findings_json(findings)
                session.flush()
                if existing.status != status:
                    transition(session, existing, status, actor=actor, event="updated", detail=_where(claim))
                else:
                    record_event(session, existing, actor=actor, event="updated", detail=_where(claim))
                report.updated.append(claim.claim_id)
                if status == ClaimStatus.HELD:
                    report.held.append(claim.claim_id)
            else:
                report.refused.append((
                    claim.claim_id,
                    f"claim {claim.claim_id} changed but was already {existing.status}: "
                    f"use `bhclaims correct {claim.claim_id}` to send a replacement",
                ))


def _where(claim: DomainClaim) -> str | None:
    return str(claim.source) if claim.source else None
