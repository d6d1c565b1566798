"""Replacement (frequency 7) and void (frequency 8) claims: a new revision that names the original.

The payer only takes a 7 or 8 for a claim it has finalized, by the payer claim
control number it gave (835 CLP07 or 277CA REF*1K), and a replacement only
within the corrected-claim window of the line of business (payer-87726.md:
commercial and Medicare 180 days, Medicaid 365 days from the remittance date);
a void, which returns money, is not held to that window.  Each is
refused here with the reason the clerk can act on.  The original becomes
``replaced`` or ``voided``; the chain is kept by ``claims.replaces_id``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from domain.claim import Claim as DomainClaim
from domain.claim import Frequency, LineOfBusiness
from ledger.claims import (
    PartyCache,
    current_revision,
    fill_claim_row,
    load_domain_claim,
    transition,
)
from ledger.content import content_hash
from ledger.lookup import require_claim_id
from ledger.models import Claim, ClaimStatus
from ledger.prepared import Checker, findings_json
from ledger.queries import original_remit_date


class CorrectionRefused(ValueError):
    """The payer would refuse this 7/8; the message says why and what to do."""


def _original_for_correction(session: Session, claim_id: str, *, today: date,
                             window_days: Any, frequency: Frequency) -> Claim:
    require_claim_id(session, claim_id)
    original = current_revision(session, claim_id)
    assert original is not None  # the claim is in the ledger, so one revision is the latest
    if original.status == ClaimStatus.VOIDED or original.frequency == Frequency.VOID.value:
        raise CorrectionRefused(f"claim {claim_id} was already voided; it cannot be replaced or voided again")
    if original.status not in ClaimStatus.ADJUDICATED:
        raise CorrectionRefused(
            f"claim {claim_id} is {original.status}, not finalized: the payer takes a replacement or void only "
            "after it has adjudicated the original (wait for its 835)")
    if not original.payer_claim_number:
        raise CorrectionRefused(f"claim {claim_id} has no payer claim number yet (835 CLP07 or 277CA); "
                                "it is needed for REF*F8")
    # A void returns money to the payer: the corrected-claim window does not bar it.
    remitted = original_remit_date(session, original.payer_claim_number)
    if remitted is not None and frequency == Frequency.REPLACEMENT:
        days = window_days(LineOfBusiness(original.line_of_business))
        closes = remitted + timedelta(days=days)
        if today > closes:
            raise CorrectionRefused(
                f"the correction window for {original.line_of_business} claims ({days} days from the remittance "
                f"dated {remitted}) closed on {closes}: file an appeal instead")
    return original


def create_correction(session: Session, claim_id: str, *, frequency: Frequency, today: date, window_days: Any,
                      checker: Checker, actor: str, content: DomainClaim | None = None) -> Claim:
    """Add the 7 or 8 revision of ``claim_id`` (status ready, or held if the rules say so)."""
    if frequency == Frequency.ORIGINAL:
        raise ValueError("a correction is frequency 7 or 8")
    original = _original_for_correction(session, claim_id, today=today, window_days=window_days,
                                        frequency=frequency)
    base = content if content is not None else load_domain_claim(session, original)
    if base.claim_id != claim_id:
        raise CorrectionRefused(f"the corrected data is for claim {base.claim_id}, not {claim_id}")
    claim = replace(base, frequency=frequency, original_claim_number=original.payer_claim_number)
    findings = checker(claim)
    status = ClaimStatus.HELD if any(f.severity == "error" for f in findings) else ClaimStatus.READY
    row = Claim(revision=original.revision + 1, replaces_id=original.id)
    fill_claim_row(row, claim, PartyCache(session), content_hash(claim))
    row.findings = findings_json(findings)
    session.add(row)
    verb = "replacement" if frequency == Frequency.REPLACEMENT else "void"
    transition(session, row, status, actor=actor, event=f"{verb}_created",
               detail=f"frequency {frequency.value} of revision {original.revision}, REF*F8 {original.payer_claim_number}")
    final = ClaimStatus.REPLACED if frequency == Frequency.REPLACEMENT else ClaimStatus.VOIDED
    transition(session, original, final, actor=actor, event=f"{final}_by_revision", detail=f"revision {row.revision}")
    return row
