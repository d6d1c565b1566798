"""Hypothesis: balanced 835s built from ledger claims post so that the ledger equals BPR02;
any amount changed by one cent is refused whole (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger.models import Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServicePayment
from remits.payments import PaymentReport, RemittanceRefused, post_835_text
from tests.claim_factory import make_claim, make_line
from tests.examples import scaled
from tests.remit_factory import ledger_with, pay, plb, remit, text_835

D = Decimal
CENT = D("0.01")
CLAIMS = [make_claim(f"H{i}", lines=tuple(make_line(f"L{k}", charge=D(100 + 10 * k + i))
                                          for k in range(1 + i % 3))) for i in range(5)]
_traces = itertools.count()

cents = st.integers(min_value=0, max_value=5000).map(lambda n: D(n) / 100)
claim_choice = st.lists(st.tuples(st.sampled_from(range(len(CLAIMS))), cents, cents), min_size=1, max_size=5)
plbs = st.lists(st.tuples(st.sampled_from(["L6", "WO", "FB", "72"]), st.integers(-3000, 3000).map(lambda n: D(n) / 100)),
                max_size=3)


def build(choice: list, adjustments: list, trace: str):  # type: ignore[no-untyped-def]
    payments = []
    for index, contractual, copay in choice:
        claim = CLAIMS[index]
        limit = min(line.charge for line in claim.lines)
        contractual = min(contractual, limit)
        copay = min(copay, limit - contractual)
        payments.append(pay(claim, contractual=contractual, copay=copay, payer_claim_number=f"{trace}-{index}"))
    return remit(payments, trace, plb=tuple(plb(reason, "", amount) for reason, amount in adjustments))


def rows(session) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return tuple(session.scalar(select(func.count()).select_from(m)) or 0
                 for m in (Remittance, ClaimPayment, ServicePayment, Adjustment, ProviderAdjustment))


def one_cent_off(remittance, where: int, sign: int):  # type: ignore[no-untyped-def]
    """The same remittance with one amount (BPR02, a CLP04, an SVC03, a CAS or a PLB) one cent off."""
    delta = CENT * sign
    spots = ["bpr"] + [("clp", i) for i in range(len(remittance.claims))]
    spots += [("svc", i, j) for i, c in enumerate(remittance.claims) for j in range(len(c.lines))]
    spots += [("cas", i, j) for i, c in enumerate(remittance.claims) for j, ln in enumerate(c.lines) if ln.adjustments]
    spots += [("plb", k) for k in range(len(remittance.provider_adjustments))]
    spot = spots[where % len(spots)]
    if spot == "bpr":
        return replace(remittance, total_paid=remittance.total_paid + delta)
    claims = list(remittance.claims)
    if spot[0] == "plb":
        items = list(remittance.provider_adjustments)
        items[spot[1]] = replace(items[spot[1]], amount=items[spot[1]].amount + delta)
        return replace(remittance, provider_adjustments=tuple(items))
    claim = claims[spot[1]]
    if spot[0] == "clp":
        claims[spot[1]] = replace(claim, paid=claim.paid + delta)
    else:
        lines = list(claim.lines)
        line = lines[spot[2]]
        if spot[0] == "svc":
            lines[spot[2]] = replace(line, paid=line.paid + delta)
        else:
            first = line.adjustments[0]
            lines[spot[2]] = replace(line, adjustments=(replace(first, amount=first.amount + delta),
                                                        *line.adjustments[1:]))
        claims[spot[1]] = replace(claim, lines=tuple(lines))
    return replace(remittance, claims=tuple(claims))


@pytest.mark.parametrize("examples", [12])
def test_balanced_835_ledger_equals_bpr02_and_one_cent_is_refused(ledger_url: str, examples: int) -> None:
    ledger = ledger_with(ledger_url, CLAIMS)

    @settings(max_examples=scaled(examples), deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(choice=claim_choice, adjustments=plbs, where=st.integers(0, 1000), sign=st.sampled_from([1, -1]))
    def check(choice: list, adjustments: list, where: int, sign: int) -> None:
        trace = f"H{next(_traces)}-{ledger_url[:6]}"
        remittance = build(choice, adjustments, trace)
        with ledger.session() as session:
            before = rows(session)
        with pytest.raises(RemittanceRefused, match="does not balance"), ledger.session() as session:
            post_835_text(session, text_835([one_cent_off(remittance, where, sign)]), actor="h",
                          report=PaymentReport())
        with ledger.session() as session:
            assert rows(session) == before
        with ledger.session() as session:
            post_835_text(session, text_835([remittance]), actor="h", report=PaymentReport())
        with ledger.session() as session:
            remit_row = session.scalar(select(Remittance).where(Remittance.trace_number == trace))
            assert remit_row is not None and remit_row.total_paid == remittance.total_paid
            paid = session.scalar(select(func.coalesce(func.sum(ClaimPayment.paid), 0))
                                  .where(ClaimPayment.remittance_id == remit_row.id))
            provider = session.scalar(select(func.coalesce(func.sum(ProviderAdjustment.amount), 0))
                                      .where(ProviderAdjustment.remittance_id == remit_row.id))
            assert D(paid) - D(provider) == remittance.total_paid
            lines_paid = session.scalar(select(func.coalesce(func.sum(ServicePayment.paid), 0))
                                        .join(ClaimPayment, ClaimPayment.id == ServicePayment.claim_payment_id)
                                        .where(ClaimPayment.remittance_id == remit_row.id))
            assert D(lines_paid) == D(paid)

    check()
    ledger.dispose()
