"""How a payer's answer adds up and reads for the practice: balanced or not; paid, partly paid or denied.

One pass over a CLP's adjustments (``claim_sums``) gives everything the 835 validator, the poster
and the reports ask of it, so that the balance arithmetic and the meaning of the adjustments are
written once.

Contractual adjustments (CO-45 charge over the fee schedule, CO-253
sequestration) are the agreed price, not a denial.  Patient responsibility (PR)
moves money to the patient.  Anything else the payer keeps is denied money the
clerk has to correct or appeal.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple, Protocol

from domain.remittance import DENIED_STATUS, ZERO

CONTRACTUAL_ADJUSTMENTS = frozenset({("CO", "45"), ("CO", "253")})


class _Adjustment(Protocol):
    @property
    def group(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...


class _Line(Protocol):
    @property
    def charge(self) -> Decimal: ...
    @property
    def paid(self) -> Decimal: ...
    @property
    def adjustments(self) -> Sequence[_Adjustment]: ...


class Adjudicated(_Line, Protocol):
    """A CLP as the readers give it: a ``domain.remittance.ClaimPayment`` or the fast reader's draft
    (charge, paid and adjustments as a line has them, plus status and lines)."""

    @property
    def status(self) -> str: ...
    @property
    def lines(self) -> Sequence[_Line]: ...


class ClaimSums(NamedTuple):
    """The sums of one CLP's CAS (claim level and every line's).

    ``expected_paid`` is CLP03 − Σ claim and line CAS (005010X221A1 1.10.2.1, claim balance);
    ``unbalanced_lines`` the (1-based ordinal, SVC02 − Σ line CAS) of each line whose SVC03 differs.
    """

    expected_paid: Decimal
    unbalanced_lines: tuple[tuple[int, Decimal], ...]
    patient: Decimal  # Σ PR
    denied: Decimal  # Σ of the rest but the contractual adjustments

    def balanced(self, paid: Decimal) -> bool:
        return not self.unbalanced_lines and self.expected_paid == paid

    def claim_money(self, charge: Decimal, paid: Decimal,
                    responsibility: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """What the CLP these are the sums of (CLP03 ``charge``, CLP04 ``paid``, the patient
        ``responsibility`` recorded for it: CLP05, or the PR CAS when CLP05 is absent) adds to its
        claim's paid, contractual, denied, patient share and patient responsibility: the contractual
        adjustments are every CAS that is neither the patient's nor denied (CLP03 − ``expected_paid``
        is the sum of every CAS)."""
        return (paid, charge - self.expected_paid - self.patient - self.denied, self.denied, self.patient,
                responsibility)


def is_contractual(group: str, reason: str) -> bool:
    return (group, reason) in CONTRACTUAL_ADJUSTMENTS


def _split(adjustments: Sequence[_Adjustment]) -> tuple[Decimal, Decimal, Decimal]:
    """(all, patient's, denied) amounts of one level's CAS."""
    adjusted = patient = denied = ZERO
    for adjustment in adjustments:
        amount = adjustment.amount
        adjusted += amount
        if adjustment.group == "PR":
            patient += amount
        elif (adjustment.group, adjustment.reason) not in CONTRACTUAL_ADJUSTMENTS:
            denied += amount
    return adjusted, patient, denied


def claim_sums(clp: Adjudicated) -> ClaimSums:
    """One pass over the CAS of a CLP, claim level then each line's."""
    adjusted, patient, denied = _split(clp.adjustments)
    unbalanced: list[tuple[int, Decimal]] = []
    for ordinal, line in enumerate(clp.lines, start=1):
        line_adjusted, line_patient, line_denied = _split(line.adjustments)
        adjusted += line_adjusted
        patient += line_patient
        denied += line_denied
        if line.charge - line_adjusted != line.paid:
            unbalanced.append((ordinal, line.charge - line_adjusted))
    return ClaimSums(clp.charge - adjusted, tuple(unbalanced), patient, denied)


def adjudicated_status(clp: Adjudicated, sums: ClaimSums | None = None) -> str:
    """``paid``, ``partially_paid`` or ``denied`` for one CLP (CLP02 4 is always denied); ``sums``:
    its ``claim_sums`` when the caller has them already."""
    if clp.status == DENIED_STATUS:
        return "denied"
    if sums is None:
        sums = claim_sums(clp)
    if clp.paid <= 0 and sums.patient <= 0:
        return "denied"
    return "partially_paid" if sums.denied > 0 else "paid"
