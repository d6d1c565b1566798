"""``domain.adjudication``: the one pass over a CLP's CAS that the 835 validator, the poster and the
reports share, checked against 005010X221A1 1.10.2.1 written out here (sums over ``all_adjustments``,
per line SVC02 − Σ line CAS = SVC03) and the meaning of the groups (PR, contractual CO-45/253)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.adjudication import adjudicated_status, claim_sums
from domain.remittance import Adjustment, ClaimPayment, ServicePayment
from edi.x835 import ClaimPaymentDraft, read_remittance_file
from tests.examples import scaled
from tests.remit_factory import remit
from validators.remit_balance import CLAIM, LINE, check_balances

D = Decimal
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "x12"
FILES = sorted(CORPUS.glob("**/*.835"))

amounts = st.integers(min_value=-30000, max_value=30000).map(lambda n: D(n) / 100)
adjustments = st.lists(st.builds(Adjustment, st.sampled_from(["CO", "PR", "OI", "PI", "CR"]),
                                 st.sampled_from(["45", "253", "1", "2", "3", "197", "96"]), amounts),
                       max_size=4).map(tuple)


@st.composite
def claim_payments(draw: st.DrawFn) -> ClaimPayment:
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        adjusted = draw(adjustments)
        charge = draw(amounts)
        paid = charge - sum((a.amount for a in adjusted), D(0)) + draw(st.sampled_from([D(0), D(0), D("0.01")]))
        lines.append(ServicePayment("HC", "90837", (), charge, paid, adjustments=adjusted))
    claim_level = draw(adjustments)
    charge = sum((ln.charge for ln in lines), D(0)) + draw(st.sampled_from([D(0), D("5.00")]))
    paid = charge - sum((a.amount for a in claim_level), D(0)) - sum(
        (a.amount for ln in lines for a in ln.adjustments), D(0)) + draw(st.sampled_from([D(0), D(0), D("-0.01")]))
    return ClaimPayment("C1", draw(st.sampled_from(["1", "2", "4", "22", "19"])), charge, paid,
                        draw(st.sampled_from([None, D(0), D("10.00")])), "12", "P1",
                        adjustments=claim_level, lines=tuple(lines))


def spec_status(clp: ClaimPayment) -> str:
    every = clp.all_adjustments
    patient = sum((a.amount for a in every if a.group == "PR"), D(0))
    denied = sum((a.amount for a in every if a.group != "PR" and (a.group, a.reason) not in
                  {("CO", "45"), ("CO", "253")}), D(0))
    if clp.status == "4" or (clp.paid <= 0 and patient <= 0):
        return "denied"
    return "partially_paid" if denied > 0 else "paid"


@settings(max_examples=scaled(300), deadline=None)
@given(claim_payments())
def test_claim_sums_follow_the_balancing_rules_and_the_groups(clp: ClaimPayment) -> None:
    sums = claim_sums(clp)
    assert sums.expected_paid == clp.charge - sum((a.amount for a in clp.all_adjustments), D(0))
    assert sums.unbalanced_lines == tuple(
        (n, ln.charge - ln.adjusted) for n, ln in enumerate(clp.lines, start=1) if ln.charge - ln.adjusted != ln.paid)
    assert sums.patient == sum((a.amount for a in clp.all_adjustments if a.group == "PR"), D(0))
    assert sums.balanced(clp.paid) == (not sums.unbalanced_lines and sums.expected_paid == clp.paid)
    assert adjudicated_status(clp) == adjudicated_status(clp, sums) == spec_status(clp)
    errors = check_balances(remit([clp], trace="V"))
    assert [e.line_id for e in errors if e.level == LINE] == [f"#{n}" for n, _ in sums.unbalanced_lines]
    assert [e.expected for e in errors if e.level == CLAIM] == (
        [] if sums.expected_paid == clp.paid else [sums.expected_paid])


def test_contractual_and_patient_money_is_not_denied() -> None:
    line = ServicePayment("HC", "90837", (), D("180"), D("130"),
                          adjustments=(Adjustment("CO", "45", D("40")), Adjustment("PR", "3", D("10"))))
    clp = ClaimPayment("C1", "1", D("180"), D("130"), D("10"), "12", "P1", lines=(line,))
    assert claim_sums(clp) == (D("130"), (), D("10"), D("0"))
    assert adjudicated_status(clp) == "paid"
    denied = ClaimPayment("C1", "1", D("180"), D("0"), None, "12", "P1",
                          adjustments=(Adjustment("CO", "197", D("180")),))
    assert adjudicated_status(denied) == "denied"


@pytest.mark.skipif(not FILES, reason="shared corpus not present beside the repo")
def test_drafts_and_records_have_the_same_sums_on_every_corpus_claim() -> None:
    seen = 0
    for path in FILES:
        for part in read_remittance_file(path, drafts=True):
            if isinstance(part, ClaimPaymentDraft):
                assert claim_sums(part) == claim_sums(part.record())
                seen += 1
    assert seen >= 10
