"""Known parties are found through the (role, fingerprint) index, whatever the ledger's size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event

from ledger.claims import PartyCache, claim_party_records
from ledger.db import Ledger
from ledger.models import Party
from tests.claim_factory import RENDERING_CLINICIAN, make_claim


def test_party_lookups_search_the_unique_index_instead_of_scanning(tmp_path: Path,
                                                                   sqlite_ledger_at: Callable[[Path], str]) -> None:
    url = sqlite_ledger_at(tmp_path / "ledger.db")
    ledger = Ledger(url)
    claims = [make_claim(f"C{n}", rendering=RENDERING_CLINICIAN) for n in range(3)]
    statements: list[tuple[str, tuple]] = []
    with ledger.session() as session:
        event.listen(session.connection(), "before_cursor_execute",
                     lambda conn, cursor, sql, params, context, many: statements.append((sql, params)))
        cache = PartyCache(session)
        cache.resolve(record for claim in claims for record in claim_party_records(claim).values())
        lookups = [(sql, params) for sql, params in statements if sql.lstrip().upper().startswith("SELECT")
                   and "parties" in sql and "fingerprint IN" in sql]
        assert lookups, "the cache looked nothing up"
        for sql, params in lookups:
            plan = " ".join(str(row[-1]) for row in session.connection().exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}", params))
            assert "SEARCH parties USING" in plan and "SCAN" not in plan, plan
    with ledger.session() as session:
        # a second unit of work finds the same rows again instead of storing them twice
        count = session.query(Party).count()
        again = PartyCache(session)
        records = claim_party_records(claims[0])
        again.resolve(records.values())
        assert session.query(Party).count() == count == 3  # billing group, clinician, one member
        assert {pid for pid in again.ids_of(records).values() if pid} <= set(range(1, count + 1))
    ledger.dispose()


def test_more_known_parties_than_one_lookup_takes_are_all_found_again(tmp_path: Path,
                                                                     sqlite_ledger_at: Callable[[Path], str]) -> None:
    """Lookups go 500 keys at a time: a second unit of work finds every one of 1,201 members again."""
    import dataclasses

    from tests.claim_factory import SUBSCRIBER

    url = sqlite_ledger_at(tmp_path / "ledger.db")
    ledger = Ledger(url)
    claims = [make_claim(f"C{n}", subscriber=dataclasses.replace(SUBSCRIBER, member_id=f"M{n:05d}"))
              for n in range(1201)]
    records = [record for claim in claims for record in claim_party_records(claim).values()]
    with ledger.session() as session:
        first = PartyCache(session)
        first.resolve(records)
        stored = {claim.claim_id: first.ids_for(claim) for claim in claims}
    with ledger.session() as session:
        again = PartyCache(session)
        again.resolve(records)
        assert session.query(Party).count() == 1202  # the members and one billing group, none twice
        assert {claim.claim_id: again.ids_of(claim_party_records(claim)) for claim in claims} == stored
    ledger.dispose()
