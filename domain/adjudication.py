"""How a payer's answer reads for the practice: paid, partly paid or denied.

Contractual adjustments (CO-45 charge over the fee schedule, CO-253
sequestration) are the agreed price, not a denial.  Patient responsibility (PR)
moves money to the patient.  Anything else the payer keeps is denied money the
clerk has to correct or appeal.
"""

from __future__ import annotations

from decimal import Decimal

from domain.remittance import ClaimPayment

CONTRACTUAL_ADJUSTMENTS = frozenset({("CO", "45"), ("CO", "253")})
ZERO = Decimal("0")


def is_contractual(group: str, reason: str) -> bool:
    return (group, reason) in CONTRACTUAL_ADJUSTMENTS


def adjudicated_status(clp: ClaimPayment) -> str:
    """``paid``, ``partially_paid`` or ``denied`` for one CLP (CLP02 4 is always denied)."""
    if clp.status == "4":
        return "denied"
    denied = sum((a.amount for a in clp.all_adjustments if a.group != "PR" and not is_contractual(a.group, a.reason)), ZERO)
    patient = sum((a.amount for a in clp.all_adjustments if a.group == "PR"), ZERO)
    if clp.paid <= 0 and patient <= 0:
        return "denied"
    return "partially_paid" if denied > 0 else "paid"
