"""A claim names parties and a replaced revision that exist, and parties stay (migration 0017 on PostgreSQL,
foreign keys on SQLite): on PostgreSQL a new claim's links are checked once per statement and an updated
one's when a link changed, with the refusals a foreign key would give."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, exc, select, text, update
from sqlalchemy.orm import Session

from ledger.bulk import BulkWriter
from ledger.db import Ledger
from ledger.models import Claim, Party
from tests.claim_factory import make_claim
from tests.remit_factory import ledger_with

PARTY_LINKS = ("billing_id", "subscriber_id", "patient_id", "rendering_id", "supervising_id", "pay_to_id",
               "service_facility_id")
LINKS = {**dict.fromkeys(PARTY_LINKS, "parties"), "replaces_id": "claims"}
MISSING = 987_654_321


@pytest.fixture
def ledger(ledger_url: str) -> Ledger:
    return ledger_with(ledger_url, [make_claim("C1"), make_claim("C2")], sent=False)


def _row(session: Session, claim_id: str) -> dict[str, Any]:
    found = session.execute(select(Claim.__table__).where(Claim.claim_id == claim_id)).mappings().one()
    return dict(found)


def _insert_like(session: Session, model: dict[str, Any], **changes: Any) -> None:
    """A new claim row like ``model``, the way ingest writes it (COPY on PostgreSQL)."""
    writer = BulkWriter(session)
    row = {**model, "id": writer.allocate_ids(Claim.__table__, 1)[0], "claim_id": "NEW", **changes}
    columns = tuple(row)
    writer.insert(Claim.__table__, columns, [tuple(row[name] for name in columns)])


@pytest.mark.parametrize("link", sorted(LINKS))
def test_a_new_claim_naming_a_missing_parent_is_refused(ledger: Ledger, link: str) -> None:
    with ledger.session() as session:
        model = _row(session, "C1")
    with pytest.raises(exc.IntegrityError) as refused, ledger.session() as session:
        _insert_like(session, model, **{link: MISSING})
    if ledger.engine.dialect.name == "postgresql":  # the per-statement check names the column and the id
        assert f"claims.{link} names {LINKS[link]} row {MISSING}" in str(refused.value)
    with ledger.session() as session:
        assert session.scalar(select(Claim.id).where(Claim.claim_id == "NEW")) is None
    with ledger.session() as session:  # the same row naming parents that exist is taken
        other = _row(session, "C2")
        _insert_like(session, model, **{link: other[link] if link != "replaces_id" else model["id"]})
    with ledger.session() as session:
        assert session.scalar(select(Claim.id).where(Claim.claim_id == "NEW")) is not None


def test_one_missing_party_among_many_new_claims_refuses_the_statement(ledger: Ledger) -> None:
    with ledger.session() as session:
        model = _row(session, "C1")
    with pytest.raises(exc.IntegrityError) as refused, ledger.session() as session:
        writer = BulkWriter(session)
        ids = writer.allocate_ids(Claim.__table__, 3)
        rows = [{**model, "id": pk, "claim_id": f"N{n}"} for n, pk in enumerate(ids)]
        rows[1]["rendering_id"] = MISSING
        columns = tuple(rows[0])
        writer.insert(Claim.__table__, columns, [tuple(row[name] for name in columns) for row in rows])
    if ledger.engine.dialect.name == "postgresql":
        assert f"claims.rendering_id names parties row {MISSING}" in str(refused.value)
    with ledger.session() as session:
        assert session.scalar(select(Claim.id).where(Claim.claim_id.like("N%"))) is None


@pytest.mark.parametrize("link", sorted(LINKS))
def test_a_claim_relinked_to_a_missing_parent_is_refused(ledger: Ledger, link: str) -> None:
    with pytest.raises(exc.IntegrityError) as refused, ledger.session() as session:
        session.execute(update(Claim).where(Claim.claim_id == "C1").values({link: MISSING}))
    if ledger.engine.dialect.name == "postgresql":
        assert f"claims.{link} names {LINKS[link]} row {MISSING}" in str(refused.value)
    with ledger.session() as session:  # to one that exists (ingest's update of a claim never sent)
        other = _row(session, "C2")
        target = other[link] if link != "replaces_id" else other["id"]
        session.execute(update(Claim).where(Claim.claim_id == "C1").values({link: target}))
    with ledger.session() as session:
        assert _row(session, "C1")[link] == target


def test_a_party_a_claim_names_is_kept(ledger: Ledger) -> None:
    with ledger.session() as session:
        billing = _row(session, "C1")["billing_id"]
    for statement in (delete(Party).where(Party.id == billing), update(Party).where(Party.id == billing).values(id=MISSING)):
        with pytest.raises(exc.DatabaseError), ledger.session() as session:
            session.execute(statement)
    with ledger.session() as session:
        assert session.scalar(select(Party.id).where(Party.id == billing)) == billing
        assert _row(session, "C1")["billing_id"] == billing


def test_postgresql_checks_the_claims_links_per_statement_not_per_row(pg_ledger_url: str) -> None:
    """What makes ingest cheaper on PostgreSQL: no foreign key (a query and a row lock per claim and link) on
    the claims' links, a statement-level check on insert, a row check only where an update changes a link,
    and parties that cannot be deleted, truncated or renumbered."""
    ledger = Ledger(pg_ledger_url)
    with ledger.session() as session:
        keys = set(session.execute(text(
            "SELECT a.attname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
            "AND a.attnum = ANY(c.conkey) WHERE c.contype = 'f' AND c.conrelid = 'claims'::regclass")).scalars())
        triggers = set(session.execute(text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
            "AND tgrelid IN ('claims'::regclass, 'parties'::regclass)")).scalars())
        with pytest.raises(exc.DatabaseError):
            session.execute(text("TRUNCATE parties CASCADE"))
    ledger.dispose()
    assert not keys & set(LINKS)
    assert {"claims_parents_insert", "claims_parents_update", "parties_no_delete", "parties_no_truncate",
            "parties_no_renumber"} <= triggers
