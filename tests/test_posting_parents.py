"""Posted rows name parents that exist, and the parents stay (migration 0015 on PostgreSQL, foreign keys on
SQLite): checked once per statement on PostgreSQL, with the refusals a foreign key would give."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, exc, select, text, update
from sqlalchemy.orm import Session

from ledger.bulk import BulkWriter
from ledger.db import Ledger
from ledger.models import Claim, ClaimEvent, ClaimPayment, Remittance, ServiceLine, ServicePayment
from remits.inbound import post_files
from tests.claim_factory import make_claim
from tests.remit_factory import ledger_with, pay, remit, write_835

PER_STATEMENT = {("claim_payments", "claim_pk"), ("claim_payments", "remittance_id"),
                 ("service_payments", "service_line_id"), ("claim_events", "claim_pk"), ("service_lines", "claim_pk")}


@pytest.fixture
def posted(ledger_url: str, tmp_path: Path) -> Ledger:
    claims = [make_claim("P1"), make_claim("P2")]
    ledger = ledger_with(ledger_url, claims)
    post_files(ledger, [write_835(tmp_path, "a.835", [remit([pay(claims[0])], "T1")])], actor="t")
    return ledger


def _ids(session: Session) -> tuple[int, int, int, int]:
    paid = session.scalar(select(Claim.id).where(Claim.claim_id == "P1"))
    unpaid = session.scalar(select(Claim.id).where(Claim.claim_id == "P2"))
    remittance = session.scalar(select(Remittance.id))
    line = session.scalar(select(ServiceLine.id).where(ServiceLine.claim_pk == paid))
    assert paid and unpaid and remittance and line
    return paid, unpaid, remittance, line


def _copy(session: Session, table: object, columns: tuple[str, ...], row: tuple[object, ...]) -> None:
    """One row the way posting writes (COPY on PostgreSQL)."""
    BulkWriter(session).insert(table, columns, [row])


MISSING = 987_654_321


@pytest.mark.parametrize("link", sorted(PER_STATEMENT))
def test_a_row_naming_a_missing_parent_is_refused(posted: Ledger, link: tuple[str, str]) -> None:
    now = datetime.now(UTC)
    with posted.session() as session:
        paid, _, remittance, line = _ids(session)
        payment = session.scalar(select(ClaimPayment.id))
    rows = {
        ("claim_payments", "claim_pk"): (ClaimPayment.__table__, (remittance, MISSING)),
        ("claim_payments", "remittance_id"): (ClaimPayment.__table__, (MISSING, paid)),
        ("service_payments", "service_line_id"): (ServicePayment.__table__, (payment, MISSING)),
        ("claim_events", "claim_pk"): (ClaimEvent.__table__, (MISSING,)),
        ("service_lines", "claim_pk"): (ServiceLine.__table__, (MISSING,)),
    }
    table, values = rows[link]
    if table is ClaimPayment.__table__:
        columns: tuple[str, ...] = ("remittance_id", "claim_pk", "patient_control_number", "status_code", "charge",
                                    "paid", "patient_responsibility", "created_at")
        row: tuple[object, ...] = (*values, "P1", "1", 0, 0, 0, now)
    elif table is ServiceLine.__table__:
        columns = ("claim_pk", "position", "line_id", "service_date", "procedure_code", "modifiers", "units",
                   "charge", "place_of_service", "diagnosis_pointers")
        row = (*values, 9, "L9", now.date(), "90837", "", "1", 0, "11", "1")
    elif table is ServicePayment.__table__:
        columns, row = ("claim_payment_id", "service_line_id", "procedure_code", "charge", "paid"), (*values, "90837", 0, 0)
    else:
        columns, row = ("claim_pk", "at", "actor", "event"), (*values, now, "t", "remit_posted")
    with pytest.raises(exc.IntegrityError) as refused, posted.session() as session:
        _copy(session, table, columns, row)
    if posted.engine.dialect.name == "postgresql":  # the per-statement check names what is missing
        assert f"{link[0]}.{link[1]} names" in str(refused.value) and str(MISSING) in str(refused.value)
    with posted.session() as session:  # a row naming parents that exist is taken
        _, _, remittance, line = _ids(session)
        ok = {("claim_payments", "claim_pk"): (remittance, paid), ("claim_payments", "remittance_id"): (remittance, paid),
              ("service_payments", "service_line_id"): (payment, line), ("claim_events", "claim_pk"): (paid,),
              ("service_lines", "claim_pk"): (paid,)}[link]
        _copy(session, table, columns, (*ok, *row[len(values):]))


def test_a_matched_payment_moved_to_a_missing_claim_is_refused(posted: Ledger) -> None:
    with pytest.raises(exc.IntegrityError), posted.session() as session:
        session.execute(update(ClaimPayment).values(claim_pk=MISSING))
    with posted.session() as session:  # to a claim that exists (an unmatched CLP matched by a clerk)
        _, unpaid, _, _ = _ids(session)
        session.execute(update(ClaimPayment).values(claim_pk=unpaid))


def test_parents_are_kept(posted: Ledger) -> None:
    with posted.session() as session:
        paid, unpaid, remittance, line = _ids(session)
        unpaid_line = session.scalar(select(ServiceLine.id).where(ServiceLine.claim_pk == unpaid))
    for statement in (delete(Claim).where(Claim.id == paid), delete(Remittance),
                      delete(ServiceLine).where(ServiceLine.id == line),
                      update(Claim).where(Claim.id == paid).values(id=MISSING),
                      update(Remittance).values(id=MISSING)):
        with pytest.raises(exc.DatabaseError), posted.session() as session:
            session.execute(statement)
    # a line no payment names may go (ingest replaces the lines of a claim never sent)
    with posted.session() as session:
        session.execute(delete(ServiceLine).where(ServiceLine.id == unpaid_line))
    with posted.session() as session:
        assert session.scalar(select(ServiceLine.id).where(ServiceLine.id == unpaid_line)) is None
        assert session.scalar(select(Claim.id).where(Claim.id == paid)) == paid


def test_postgresql_checks_the_links_per_statement_not_per_row(pg_ledger_url: str) -> None:
    """What makes posting cheaper on PostgreSQL: no foreign key (a query and a row lock per inserted
    row) on the four links, and a statement-level check in its place."""
    ledger = Ledger(pg_ledger_url)
    with ledger.session() as session:
        keys = set(session.execute(text(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) WHERE c.contype = 'f'")))
        statement_triggers = set(session.execute(text(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%parents_insert'")).scalars())
    ledger.dispose()
    assert not keys & {(table, column) for table, column in PER_STATEMENT}
    assert ("claim_payments", "reverses_id") in keys  # the others stay foreign keys
    assert statement_triggers - {"claims"} == {table for table, _ in PER_STATEMENT}  # claims': 0017 (test_claim_parents)
