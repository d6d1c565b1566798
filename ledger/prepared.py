"""A parsed claim made ready for the ledger: checked, fingerprinted, turned into rows.

Everything ingest does to a claim before it touches the database is here and pure;
the ledger writes (``ledger.ingest``) take only these plain values: tuples and dicts
of strings, Decimals and dates, in the claims and service_lines columns' terms.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from domain.claim import Claim as DomainClaim
from ledger.claims import PartyRecord, claim_columns, claim_party_records, line_rows
from ledger.content import content_hash

Checker = Callable[[DomainClaim], Sequence[Any]]


class PreparedClaim(NamedTuple):
    claim_id: str
    frequency: str  # "1", "7", "8"
    digest: str  # ledger.content.content_hash
    findings: str | None  # JSON of the rule findings, None when clean
    blocking: bool  # a finding of severity "error": the claim is held
    columns: dict[str, Any]  # ledger.claims.claim_columns
    parties: dict[str, PartyRecord | None]  # by role, ledger.claims.PARTY_ROLES
    lines: list[tuple[Any, ...]]  # ledger.claims.LINE_COLUMNS order

    @property
    def where(self) -> str | None:
        """file:line of the claim's first row, as ``Source`` writes it (not sent: the columns hold it)."""
        file, line = self.columns["source_file"], self.columns["source_line"]
        if file is None:
            return None
        return file if line is None else f"{file}:{line}"


def findings_json(findings: Sequence[Any]) -> str | None:
    if not findings:
        return None
    return json.dumps([
        {"code": f.code, "severity": f.severity, "message": f.message, "line_id": getattr(f, "line_id", None)}
        for f in findings
    ])


def prepare_claim(claim: DomainClaim, checker: Checker) -> PreparedClaim:
    """Run the rules on ``claim`` and make its ledger rows."""
    findings = checker(claim)
    return PreparedClaim(
        claim_id=claim.claim_id,
        frequency=str(claim.frequency),  # a StrEnum: its value
        digest=content_hash(claim),
        findings=findings_json(findings),
        blocking=any(f.severity == "error" for f in findings),
        columns=claim_columns(claim),
        parties=claim_party_records(claim),
        lines=line_rows(claim),
    )
