"""The money the ledger keeps on each claim revision (``ledger.totals``), on SQLite and PostgreSQL.

Posting keeps it (the stateful money test checks that after every step); here: postings written
through a session keep it too, migration 0011 fills it from the postings already in a ledger, and
the claim list's money text, which the database now writes, is ``money_text``'s to the cent.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ledger.db import Ledger, downgrade, upgrade
from ledger.models import Adjustment, Claim, ClaimPayment, Remittance
from ledger.money import iter_claim_list, money_text
from tests.ledger_helpers import ingest_one

D = Decimal


def _kept(ledger: Ledger) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    with ledger.session() as session:
        row = session.execute(sa.select(Claim.paid, Claim.contractual, Claim.denied, Claim.patient_share)).one()
    return tuple(row)  # type: ignore[return-value]


def _post_by_hand(ledger: Ledger) -> None:
    """A payment with CO-45, PR-3 and CO-197, and a second one reversed: written as ORM objects and as an
    INSERT statement, the two ways a writer other than the 835 poster would."""
    with ledger.session() as session:
        claim = session.scalars(sa.select(Claim)).one()
        remittance = Remittance(payer_id="87726", trace_number="T1", total_paid=D("80"), content_sha256="x")
        session.add(remittance)
        session.flush()
        paid = ClaimPayment(remittance_id=remittance.id, claim_pk=claim.id, patient_control_number=claim.claim_id,
                            status_code="1", charge=claim.billed, paid=D("80.00"), patient_responsibility=D("10"))
        session.add(paid)
        session.flush()
        session.add_all([Adjustment(claim_payment_id=paid.id, group_code=group, reason_code=reason, amount=amount)
                         for group, reason, amount in (("CO", "45", D("20.50")), ("PR", "3", D("10")),
                                                       ("CO", "197", D("15.25")))])
    with ledger.session() as session:
        remittance_id = session.scalar(sa.select(Remittance.id))
        claim_pk = session.scalar(sa.select(Claim.id))
        for amount in (D("30.05"), D("-30.05")):
            session.execute(sa.insert(ClaimPayment), {
                "remittance_id": remittance_id, "claim_pk": claim_pk, "patient_control_number": "ENC-1",
                "status_code": "1" if amount > 0 else "22", "charge": amount, "paid": amount,
                "patient_responsibility": D("0")})


EXPECTED = (D("80.00"), D("20.50"), D("15.25"), D("10.00"))


def test_postings_written_through_a_session_keep_the_claim_totals(ledger_url: str) -> None:
    ledger = Ledger(ledger_url)
    try:
        ingest_one(ledger)
        assert _kept(ledger) == (0, 0, 0, 0)
        _post_by_hand(ledger)
        assert _kept(ledger) == EXPECTED
        with ledger.session() as session:
            session.execute(sa.delete(Adjustment).where(Adjustment.group_code == "PR"))
        assert _kept(ledger) == (D("80.00"), D("20.50"), D("15.25"), D("0"))
    finally:
        ledger.dispose()


def test_migration_0011_fills_the_totals_from_the_postings(db_url: str) -> None:
    upgrade(db_url)
    ledger = Ledger(db_url)
    try:
        ingest_one(ledger)
        _post_by_hand(ledger)
    finally:
        ledger.dispose()
    downgrade(db_url, "0010")
    with sa.create_engine(db_url).connect() as connection:
        assert "paid" not in {c["name"] for c in sa.inspect(connection).get_columns("claims")}
    upgrade(db_url)
    ledger = Ledger(db_url)
    try:
        assert _kept(ledger) == EXPECTED
    finally:
        ledger.dispose()


def test_the_claim_lists_money_text_from_the_database_is_money_text(ledger_url: str) -> None:
    amounts = {"billed": D("100.5"), "paid": D("100.55"), "contractual": D("0"), "patient_share": D("0.05"),
               "denied": D("-12.3")}
    ledger = Ledger(ledger_url)
    try:
        ingest_one(ledger)
        with ledger.session() as session:
            session.execute(sa.update(Claim).values(amounts))
        with ledger.read_session() as session:
            (row,) = list(iter_claim_list(session))
    finally:
        ledger.dispose()
    balance = amounts["billed"] - amounts["paid"] - amounts["contractual"] - amounts["patient_share"]
    assert tuple(row[6:12]) == tuple(money_text(v) for v in (
        amounts["billed"], amounts["paid"], amounts["contractual"], amounts["denied"], amounts["patient_share"],
        balance))
    assert row[11] == "-0.10" and row[9] == "-12.30"
