"""Finding a claim by the id a person typed, and saying so in one way when it is not there.

Every command that takes a claim id (``claim``, ``correct``, ``void``, ``check --claim``)
asks ``require_claim_id``; an id the ledger does not hold raises ``UnknownClaim``, whose
words are the same everywhere and name the closest id the ledger does hold.  Claim ids
are one id whatever their case (migration 0006), so the closest id is chosen among
upper-cased ids: ``hl-260903`` is answered with ``HL-260903``.

The candidates are read from the database by prefix and length, longest prefix first,
so a large ledger is never read whole to suggest one id.
"""

from __future__ import annotations

import difflib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import Claim

LENGTH_BAND = 2
"""A typed id and its suggestion differ in length by at most this many characters."""

CANDIDATES_PER_PREFIX = 500
"""At most this many ids are compared for one prefix (the longest prefix that finds any)."""


class UnknownClaim(LookupError):
    """No claim with this id in the ledger; the message suggests the closest one the ledger has."""

    def __init__(self, claim_id: str, suggestion: str | None):
        self.claim_id = claim_id
        self.suggestion = suggestion
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        super().__init__(f"no claim {claim_id} in the ledger{hint}")


def require_claim_id(session: Session, claim_id: str) -> str:
    """``claim_id`` when the ledger holds it; else raise ``UnknownClaim`` with the closest id."""
    if session.scalar(select(Claim.claim_id).where(Claim.claim_id == claim_id).limit(1)) is not None:
        return claim_id
    raise UnknownClaim(claim_id, closest_claim_id(session, claim_id))


def closest_claim_id(session: Session, claim_id: str) -> str | None:
    """The ledger's id most like ``claim_id`` (compared upper-cased), or None when none is close."""
    wanted = claim_id.upper()
    for prefix in _prefixes(wanted):
        candidates = _candidates(session, prefix, len(wanted))
        if candidates:
            by_upper = {candidate.upper(): candidate for candidate in candidates}
            if wanted in by_upper:  # the same id in another case
                return by_upper[wanted]
            matches = difflib.get_close_matches(wanted, sorted(by_upper), n=1, cutoff=0.6)
            if matches:
                return by_upper[matches[0]]
    return None


def _prefixes(wanted: str) -> list[str]:
    """The whole id, then ever shorter prefixes (halving), down to its first character."""
    prefixes = [wanted]
    length = len(wanted) - 1
    while length >= 1:
        prefixes.append(wanted[:length])
        length //= 2
    return prefixes


def _candidates(session: Session, prefix: str, length: int) -> list[str]:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    upper_id = func.upper(Claim.claim_id)
    query = (select(Claim.claim_id).distinct()
             .where(upper_id.like(f"{escaped}%", escape="\\"),
                    func.length(Claim.claim_id).between(length - LENGTH_BAND, length + LENGTH_BAND))
             .order_by(Claim.claim_id).limit(CANDIDATES_PER_PREFIX))
    return list(session.scalars(query))
