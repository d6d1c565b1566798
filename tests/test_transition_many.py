"""One status path for one claim or many: every claim moves and gets its own audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from benchmarks.post835 import seed_claims
from ledger.claims import transition
from ledger.db import Ledger
from ledger.models import Claim, ClaimEvent


def test_many_claims_move_in_one_call_each_with_its_own_event(db_url: str) -> None:
    seed_claims(db_url, 5)
    ledger = Ledger(db_url)
    try:
        with ledger.session() as session:
            claims = list(session.scalars(select(Claim).order_by(Claim.id)))
            before = {c.id: c.status for c in claims}
            ids = [c.id for c in claims]
            transition(session, claims[:3], "held", actor="t", event="held",
                       detail=[f"why {n}" for n in range(3)])
            assert [c.status for c in claims[:3]] == ["held"] * 3  # the session's objects follow
        with ledger.read_session() as session:
            stored = {c.id: c.status for c in session.scalars(select(Claim))}
            events = [(e.claim_pk, e.from_status, e.to_status, e.detail, e.actor) for e in session.scalars(
                select(ClaimEvent).where(ClaimEvent.event == "held").order_by(ClaimEvent.claim_pk))]
        moved = ids[:3]
        assert {pk: stored[pk] for pk in moved} == dict.fromkeys(moved, "held")
        assert {pk: stored[pk] for pk in ids[3:]} == {pk: before[pk] for pk in ids[3:]}
        assert events == [
            (pk, before[pk], "held", f"why {n}", "t") for n, pk in enumerate(moved)]
    finally:
        ledger.dispose()


def test_details_must_match_the_claims(db_url: str) -> None:
    seed_claims(db_url, 2)
    ledger = Ledger(db_url)
    try:
        with ledger.session() as session:
            claims = list(session.scalars(select(Claim)))
            with pytest.raises(ValueError, match="2 claims but 1 details"):
                transition(session, claims, "held", actor="t", event="held", detail=["one"])
    finally:
        ledger.dispose()
