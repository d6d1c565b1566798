"""Findings: what the rule pack says about a claim, as data.

A ``Finding`` is never raised.  Rules return them, the engine collects every one
for a file, and the clerk sees them all at once, each naming the claim, the line,
where in the PM export it came from, and the rule's source.

Messages are written for a billing clerk, name the fix, and carry no PHI: codes,
dates of service, NPIs and amounts are fine; names, member ids and birth dates
are not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from domain.claim import Claim, ServiceLine, Source

if TYPE_CHECKING:
    from validators.settings import RuleSettings

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
"""An error keeps the claim out of the batch; a warning is shown and the claim goes; an
info says what the builder does for the clerk (e.g. modifier U5 added)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with one claim (``line_id`` set when it is one service line's)."""

    code: str
    severity: Severity
    message: str
    claim_id: str
    line_id: str | None = None
    source: Source | None = None
    rule_source: str = ""

    @property
    def blocks(self) -> bool:
        """An error keeps the claim out of the batch; a warning does not."""
        return self.severity == "error"

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source is not None else ""
        line = f" line {self.line_id}" if self.line_id is not None else ""
        return f"{where}{self.severity} {self.code} claim {self.claim_id}{line}: {self.message}"


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding blocks its claim."""
    return any(finding.severity == "error" for finding in findings)


@dataclass(frozen=True, slots=True)
class OriginalClaim:
    """What the ledger knows of the claim a replacement (7) or void (8) names, by its claim id.

    ``payer_claim_number`` is the payer's number of the newest finalized (adjudicated)
    revision, None when no revision is finalized yet; ``received`` is when the payer
    received that revision (its 277CA acceptance, else the day it was sent).
    """

    payer_claim_number: str | None
    received: date | None = None

    @property
    def finalized(self) -> bool:
        return self.payer_claim_number is not None


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a rule may know besides the claim.

    ``today`` is passed in so tests can pin it.  The ledger answers two questions through
    callbacks (tests pass a dict's ``get``), so the rules stay pure:
    ``original_remit_date`` — when was the remittance (PRA) of the claim with this payer
    claim number; ``original_claim`` — what is known of the claim with this claim id
    (CLM01).  None, as a callback or as its answer, means unknown.
    """

    today: date
    settings: RuleSettings
    original_remit_date: Callable[[str], date | None] | None = None
    original_claim: Callable[[str], OriginalClaim | None] | None = None


RuleCheck = Callable[[Claim, CheckContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule of the pack: its code, WEDI SNIP level, default severity and source.

    Calling the rule runs its check: ``rule(claim, ctx) -> Iterable[Finding]``.
    ``title`` is the one-line "what it checks" of docs/rules.md.
    """

    code: str
    snip_level: int
    severity: Severity
    title: str
    rule_source: str
    check: RuleCheck

    def __call__(self, claim: Claim, ctx: CheckContext) -> Iterable[Finding]:
        return self.check(claim, ctx)

    def finding(
        self,
        claim: Claim,
        message: str,
        line: ServiceLine | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule about ``claim`` (or one of its lines)."""
        source = line.source if line is not None and line.source is not None else claim.source
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            message=message,
            claim_id=claim.claim_id,
            line_id=line.line_id if line is not None else None,
            source=source,
            rule_source=self.rule_source,
        )
