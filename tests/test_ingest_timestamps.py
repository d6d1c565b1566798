"""Ingest's timestamps are stored as the instant they name, to the microsecond, on both databases: on
PostgreSQL ``BulkWriter.insert`` sends them to COPY as text made once per distinct value
(``_timestamps_sent``), not through the driver's own formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

import ledger.ingest
from ledger.db import Ledger
from ledger.models import Claim, ClaimEvent
from tests.claim_factory import make_claim
from tests.remit_factory import ingest_claims

# an instant given in another zone, with microseconds: the stored value must be this instant
WHEN = datetime(2026, 12, 7, 16, 6, 55, 123456, tzinfo=timezone(timedelta(hours=-5)))


def test_ingested_rows_keep_the_instant_to_the_microsecond(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger.ingest, "utcnow", lambda: WHEN)
    ledger_ = Ledger(ledger_url)
    try:
        report = ingest_claims(ledger_, [make_claim(f"TS{n:03d}") for n in range(3)], checker=lambda c: [],
                               actor="t")
        with ledger_.session() as session:
            stamps = session.execute(sa.select(Claim.created_at, Claim.updated_at)).all()
            events = session.scalars(sa.select(ClaimEvent.at)).all()
    finally:
        ledger_.dispose()
    assert len(report.added) == 3
    assert len(stamps) == 3 and len(events) == 3
    expected = WHEN.astimezone(UTC)
    assert expected.hour == 21 and expected.microsecond == 123456
    assert all(created == updated == expected for created, updated in stamps), stamps
    assert all(at == expected for at in events), events
    assert all(value.utcoffset() == timedelta(0) for row in stamps for value in row)


def test_a_naive_timestamp_is_refused_before_anything_is_sent(ledger_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger.ingest, "utcnow", lambda: WHEN.replace(tzinfo=None))
    ledger_ = Ledger(ledger_url)
    try:
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            ingest_claims(ledger_, [make_claim("TS900")], checker=lambda c: [], actor="t")
        with ledger_.session() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 0
    finally:
        ledger_.dispose()
