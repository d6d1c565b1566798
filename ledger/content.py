"""The content fingerprint of a claim: what would be billed, not where it was read.

Re-ingesting an export compares this fingerprint with the stored one, so it must
never change for the same content: it is the sha256 of ``reference_text`` — the
``repr`` of the claim's fields (source and lines left out) and of its lines' fields
(source left out), the two fields added later (pay-to, service facility) only when
set.  The repr of frozen dataclasses of strings, Decimals, dates and enums is
deterministic.  Claims stored since the first release carry it; tests pin known
digests.  One definition, no second writer of the same text and no memo by object.
"""

from __future__ import annotations

import dataclasses
import hashlib
from operator import attrgetter
from typing import Any

from domain.claim import Claim as DomainClaim
from domain.claim import ServiceLine

LATER_CONTENT = ("pay_to", "service_facility")  # fields added after claims were first stored
CLAIM_CONTENT = tuple(
    f.name for f in dataclasses.fields(DomainClaim) if f.name not in ("source", "lines", *LATER_CONTENT)
)
LINE_CONTENT = tuple(f.name for f in dataclasses.fields(ServiceLine) if f.name != "source")

_claim_content = attrgetter(*CLAIM_CONTENT)
_line_content = attrgetter(*LINE_CONTENT)
_later_content = attrgetter(*LATER_CONTENT)


def reference_text(claim: DomainClaim) -> str:
    """What the fingerprint is of, by its definition."""
    content: tuple[Any, ...] = (_claim_content(claim), tuple(map(_line_content, claim.lines)))
    optional = _later_content(claim)
    if optional != (None, None):
        # Counted only when set, so that the claims stored before these fields keep their hash.
        content = (*content, optional)
    return repr(content)


def content_hash(claim: DomainClaim) -> str:
    """A fingerprint of what would be billed; the source file and line do not count."""
    return hashlib.sha256(reference_text(claim).encode()).hexdigest()
