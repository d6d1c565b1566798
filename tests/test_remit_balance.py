"""The three 835 balances: corpus files, hand-made remittances, and a one-cent change refused."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.acks import Envelope
from domain.remittance import Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServicePayment
from edi.build835 import build_835
from edi.x835 import read_835
from tests.examples import scaled
from validators.remit_balance import CLAIM, LINE, TRANSACTION, check_balances
from validators.x12_syntax import validate_x12

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "x12" / "linuxforhealth-x12"
BALANCED = [
    "cob-contractural-adjustment.835",
    "managed-care.835",
    "medicare-part-a.835",
    "secondary-payment.835",
]
D = Decimal


def corpus(name: str) -> str:
    path = CORPUS / "835_005010X221A1" / name
    if not path.exists():
        pytest.skip("shared corpus not present")
    return path.read_text()


@pytest.mark.parametrize("name", BALANCED)
def test_corpus_835s_that_balance(name: str) -> None:
    for remittance in read_835(corpus(name)):
        assert check_balances(remittance) == []


def test_demo_835_balances_with_its_plb() -> None:
    path = CORPUS / "demo.835"
    if not path.exists():
        pytest.skip("shared corpus not present")
    (remit,) = read_835(path.read_text())
    assert check_balances(remit) == []
    assert remit.claims_paid - remit.provider_adjusted == remit.total_paid  # 149998.73 + 1.27


def test_tertiary_example_does_not_balance_at_line_level() -> None:
    # Its SVC*HC*24599.00*1766.50*187.50 lost the ':' between qualifier and code, so
    # every amount moved one element to the left: SVC02 reads 24599.00.
    (remit,) = read_835(corpus("tertiary-payment.835"))
    (error,) = check_balances(remit)
    assert (error.level, error.claim_id, error.line_id) == (LINE, "0001000054", "#1")
    assert (error.expected, error.reported) == (D("23020.00"), D("1766.50"))
    assert "0001000054" in error.message and "ISLAND" not in error.message


ENVELOPE = Envelope(
    "ZZ", "87726", "ZZ", "PRACTICE", "000000321", "T", "HP", "87726", "PRACTICE", "321", "005010X221A1"
)


def balanced_remittance() -> Remittance:
    line1 = ServicePayment(
        "HC", "90837", (), D("200.00"), D("140.00"), D("1"), line_id="L1", service_date=date(2026, 1, 2),
        adjustments=(Adjustment("CO", "45", D("40.00")), Adjustment("PR", "3", D("20.00"))), allowed=D("160.00"),
    )  # fmt: skip
    line2 = ServicePayment(
        "HC", "90785", (), D("50.00"), D("40.00"), D("1"), line_id="L2", service_date=date(2026, 1, 2),
        adjustments=(Adjustment("CO", "45", D("10.00")),), allowed=D("40.00"),
    )  # fmt: skip
    claim = ClaimPayment(
        "CLM1", "1", D("250.00"), D("175.00"), D("20.00"), "12", "SB1", "11", "1",
        adjustments=(Adjustment("CO", "45", D("5.00")),), lines=(line1, line2),
        patient_last="DOE", patient_first="JANE", member_id="M1",
    )  # fmt: skip
    return Remittance(
        ENVELOPE, "0001", "I", D("165.00"), "C", "CHK", date(2026, 1, 5), "T1", "1999987726",
        "OPTUM BEHAVIORAL HEALTH", "87726", "PRACTICE", "1234567893", claims=(claim,),
        provider_adjustments=(ProviderAdjustment("1234567893", date(2026, 12, 31), "WO", "SB0", D("10.00")),),
    )  # fmt: skip


def test_hand_made_remittance_balances_and_is_pyx12_clean() -> None:
    remit = balanced_remittance()
    assert check_balances(remit) == []
    text = build_835([remit], created=datetime(2026, 1, 5, 9, 0))
    assert validate_x12(text) == []
    assert read_835(text) == (remit,)


def test_one_cent_off_at_each_level_is_refused() -> None:
    remit = balanced_remittance()
    claim = remit.claims[0]
    cent = D("0.01")
    line_off = dataclasses.replace(claim.lines[0], paid=claim.lines[0].paid + cent)
    off_line = dataclasses.replace(
        remit, claims=(dataclasses.replace(claim, lines=(line_off, claim.lines[1])),)
    )
    assert [e.level for e in check_balances(off_line)] == [LINE]  # the claim balance counts CAS, not SVC03
    off_claim = dataclasses.replace(remit, claims=(dataclasses.replace(claim, paid=claim.paid - cent),))
    errors = check_balances(off_claim)
    assert [e.level for e in errors] == [CLAIM, TRANSACTION]
    assert errors[0].difference == -cent
    off_total = dataclasses.replace(remit, total_paid=remit.total_paid + cent)
    (error,) = check_balances(off_total)
    assert (error.level, error.expected, error.reported) == (TRANSACTION, D("165.00"), D("165.01"))
    assert "DOE" not in str(error)


@settings(max_examples=scaled(60), deadline=None)
@given(
    where=st.sampled_from(
        ["line_paid", "line_charge", "line_cas", "claim_paid", "claim_charge", "claim_cas", "plb", "bpr"]
    ),
    cents=st.integers(min_value=-500, max_value=500).filter(lambda c: c != 0),
)
def test_any_amount_change_is_refused(where: str, cents: int) -> None:
    remit = balanced_remittance()
    claim = remit.claims[0]
    line = claim.lines[0]
    delta = D(cents) / 100
    bump = lambda a: dataclasses.replace(a, amount=a.amount + delta)  # noqa: E731
    if where.startswith("line"):
        field, value = {
            "line_paid": ("paid", line.paid + delta),
            "line_charge": ("charge", line.charge + delta),
            "line_cas": ("adjustments", (bump(line.adjustments[0]),) + line.adjustments[1:]),
        }[where]
        claim = dataclasses.replace(
            claim, lines=(dataclasses.replace(line, **{field: value}), claim.lines[1])
        )
        remit = dataclasses.replace(remit, claims=(claim,))
    elif where.startswith("claim"):
        field, value = {
            "claim_paid": ("paid", claim.paid + delta),
            "claim_charge": ("charge", claim.charge + delta),
            "claim_cas": ("adjustments", (bump(claim.adjustments[0]),)),
        }[where]
        remit = dataclasses.replace(remit, claims=(dataclasses.replace(claim, **{field: value}),))
    elif where == "plb":
        remit = dataclasses.replace(remit, provider_adjustments=(bump(remit.provider_adjustments[0]),))
    else:
        remit = dataclasses.replace(remit, total_paid=remit.total_paid + delta)
    assert check_balances(remit) != []
