"""Balanced 835s for claims in a test ledger, written with ``edi.build835``.

    claims = [make_claim("C1"), ...]; ingest them; then
    text = write_835([remit([pay(c) for c in claims], trace="T1")])
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from domain.acks import Envelope
from domain.claim import Claim
from domain.remittance import Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServicePayment
from edi.build835 import build_835
from ledger.claims import current_revision, transition
from ledger.db import Ledger
from ledger.ingest import ingest_claims
from ledger.models import ClaimStatus
from tests.ledger_helpers import migrated_ledger

D = Decimal
ZERO = D("0")
TRACE_PAYER = "1411289245"  # TRN03: "1" + EIN
PAY_DATE = date(2026, 2, 2)
DEFAULT_CONTRACTUAL = D("30.00")


def envelope(icn: int = 1) -> Envelope:
    return Envelope("ZZ", "87726", "ZZ", "RIVERBEND", str(icn), "T", "HP", "87726", "RIVERBEND", str(icn),
                    "005010X221A1")


def pay(claim: Claim, *, contractual: Decimal = DEFAULT_CONTRACTUAL, copay: Decimal = ZERO, status: str = "1",
        payer_claim_number: str | None = None, drop_modifiers: bool = False, line_ids: bool = True,
        denied_reason: str | None = None, remark_codes: tuple[str, ...] = ()) -> ClaimPayment:
    """CLP for ``claim``: per line CO-45 ``contractual`` and PR-3 ``copay`` (or a full denial)."""
    lines = []
    for line in claim.lines:
        if denied_reason:
            adjustments: tuple[Adjustment, ...] = (Adjustment("CO", denied_reason, line.charge),)
        else:
            adjustments = tuple(a for a in (Adjustment("CO", "45", contractual), Adjustment("PR", "3", copay))
                                if a.amount)
        paid = line.charge - sum((a.amount for a in adjustments), ZERO)
        lines.append(ServicePayment(
            "HC", line.procedure_code, () if drop_modifiers else line.modifiers, line.charge, paid, line.units,
            line_id=line.line_id if line_ids else None, service_date=line.service_date, adjustments=adjustments,
            remark_codes=remark_codes if denied_reason else ()))
    paid = sum((ln.paid for ln in lines), ZERO)
    patient = sum((a.amount for ln in lines for a in ln.adjustments if a.group == "PR"), ZERO)
    return ClaimPayment(
        claim.claim_id, "4" if denied_reason else status, claim.total_charge, paid, patient, "12",
        payer_claim_number or f"P{claim.claim_id}", "11", "1", lines=tuple(lines),
        patient_last="RIVERA", patient_first="MARIA", member_id="987654321")


def reverse(payment: ClaimPayment, *, payer_claim_number: str | None = None) -> ClaimPayment:
    """CLP02 22: every amount negated."""
    def flip(adjustments: tuple[Adjustment, ...]) -> tuple[Adjustment, ...]:
        return tuple(Adjustment(a.group, a.reason, -a.amount, a.quantity) for a in adjustments)

    return replace(
        payment, status="22", charge=-payment.charge, paid=-payment.paid,
        patient_responsibility=None if payment.patient_responsibility is None else -payment.patient_responsibility,
        payer_claim_number=payer_claim_number or payment.payer_claim_number, adjustments=flip(payment.adjustments),
        lines=tuple(replace(ln, charge=-ln.charge, paid=-ln.paid, adjustments=flip(ln.adjustments))
                    for ln in payment.lines))


def remit(claims: list[ClaimPayment], trace: str = "T1", *, plb: tuple[ProviderAdjustment, ...] = (),
          trace_payer: str = TRACE_PAYER, control: str = "0001", icn: int = 1) -> Remittance:
    """A remittance whose BPR02 is Σ CLP04 − Σ PLB (so it balances)."""
    total = sum((c.paid for c in claims), ZERO) - sum((p.amount for p in plb), ZERO)
    return Remittance(
        envelope=envelope(icn), control_number=control, handling_code="I" if total > 0 else "H",
        total_paid=total, credit_debit="C", payment_method="CHK" if total > 0 else "NON", payment_date=PAY_DATE,
        trace_number=trace, trace_payer_id=trace_payer, payer_name="OPTUM BEHAVIORAL HEALTH", payer_id="87726",
        payee_name="RIVERBEND COUNSELING GROUP", payee_npi="1234567893", payee_tax_id="041234567",
        production_date=PAY_DATE, claims=tuple(claims), provider_adjustments=plb)


def plb(reason: str, reference: str, amount: Decimal) -> ProviderAdjustment:
    return ProviderAdjustment("1234567893", date(2026, 12, 31), reason, reference, amount)


def text_835(remittances: list[Remittance], *, icn: int | None = None) -> str:
    if icn is not None:
        remittances = [replace(r, envelope=envelope(icn)) for r in remittances]
    return build_835(remittances, created=datetime(2026, 2, 2, 12, 0))


def write_835(folder: Path, name: str, remittances: list[Remittance], *, icn: int | None = None) -> Path:
    path = folder / name
    path.write_text(text_835(remittances, icn=icn))
    return path


def ledger_with(db_url: str, claims: list[Claim], *, sent: bool = True) -> Ledger:
    """A ledger holding ``claims``, sent to the payer (an 835 pays only what was sent) unless ``sent=False``.

    ``db_url`` is best a fresh migrated ledger (the ``ledger_url`` fixture); an empty database is migrated.
    """
    ledger = migrated_ledger(db_url)
    report = ingest_claims(ledger, claims, checker=lambda c: [], actor="t")
    assert len(report.added) == len(claims), report
    if sent:
        mark_sent(ledger, [c.claim_id for c in claims])
    return ledger


def mark_sent(ledger: Ledger, claim_ids: list[str]) -> None:
    """Record the latest revision of each claim as sent (as ``outbox.sender`` does once a file is up)."""
    with ledger.session() as session:
        for claim_id in claim_ids:
            row = current_revision(session, claim_id)
            assert row is not None, claim_id
            transition(session, row, ClaimStatus.SENT, actor="t", event="sent", detail="test")
