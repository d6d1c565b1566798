"""The migrations build exactly the schema the models describe, both ways, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pytest_alembic.tests import (  # noqa: F401  (collected as tests here)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from ledger.db import MIGRATIONS, Ledger, downgrade, make_engine, upgrade
from ledger.models import ClaimEvent, ControlCounter, Party


@pytest.fixture
def alembic_config() -> dict[str, str]:
    return {"script_location": str(MIGRATIONS)}


@pytest.fixture
def alembic_engine(db_url: str) -> sa.Engine:
    return make_engine(db_url)


def test_downgrade_then_upgrade_keeps_rows(db_url: str) -> None:
    upgrade(db_url)
    ledger = Ledger(db_url)
    with ledger.session() as session:
        session.add(Party(role="provider", fingerprint="f" * 64, npi="1234567893", last_or_org="HARBOR LIGHT",
                          dob=date(1970, 1, 1)))
    ledger.dispose()
    downgrade(db_url, "0001")
    upgrade(db_url)
    ledger = Ledger(db_url)
    with ledger.session() as session:
        assert session.scalar(sa.select(Party.last_or_org)) == "HARBOR LIGHT"
        assert {c.name: c.value for c in session.scalars(sa.select(ControlCounter))} == {"isa13": 0, "gs06": 0}
    ledger.dispose()


def test_money_round_trips_exactly(ledger_url: str) -> None:
    from ledger.models import Remittance

    ledger = Ledger(ledger_url)
    amounts = [Decimal("0.01"), Decimal("100.5"), Decimal("9999999999.99"), Decimal("-17.35")]
    with ledger.session() as session:
        for n, amount in enumerate(amounts):
            session.add(Remittance(payer_id="87726", trace_number=f"T{n}", total_paid=amount, content_sha256="x"))
    with ledger.session() as session:
        stored = [r.total_paid for r in session.scalars(sa.select(Remittance).order_by(Remittance.id))]
        total = session.scalar(sa.select(sa.func.sum(Remittance.total_paid)))
    assert stored == amounts and all(isinstance(a, Decimal) for a in stored)
    assert total == sum(amounts)
    with ledger.session() as session, pytest.raises(sa.exc.StatementError, match="more than 2 decimal"):
        session.add(Remittance(payer_id="87726", trace_number="bad", total_paid=Decimal("1.005"), content_sha256="x"))
        session.flush()
    with ledger.session() as session, pytest.raises(sa.exc.StatementError, match="Decimal"):
        session.add(Remittance(payer_id="87726", trace_number="flt", total_paid=1.5, content_sha256="x"))
        session.flush()
    ledger.dispose()


def test_audit_log_refuses_update_and_delete(ledger_url: str) -> None:
    from tests.ledger_helpers import ingest_one

    ledger = Ledger(ledger_url)
    ingest_one(ledger)
    for statement in (sa.update(ClaimEvent).values(actor="someone-else"), sa.delete(ClaimEvent)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with ledger.session() as session:
                session.execute(statement)
    with ledger.session() as session:
        events = list(session.scalars(sa.select(ClaimEvent)))
    assert events and all(e.actor == "tester" for e in events)
    ledger.dispose()


def test_an_inbound_file_can_be_recorded_only_once(ledger_url: str) -> None:
    from ledger.models import Transmission

    ledger = Ledger(ledger_url)

    def record(direction: str) -> None:
        with ledger.session() as session:
            session.add(Transmission(direction=direction, kind="835", file_name="a.835", sha256="ab" * 32, size=1,
                                     state="fetched"))

    record("in")
    with pytest.raises(sa.exc.IntegrityError):
        record("in")
    record("out")
    record("out")  # an outbound file may be uploaded again after the clearinghouse lost it
    with ledger.session() as session:
        directions = sorted(session.scalars(sa.select(Transmission.direction)))
    assert directions == ["in", "out", "out"]
    ledger.dispose()
