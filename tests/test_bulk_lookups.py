"""``ledger.bulk.rows_where_in``: the rows for many keys, whatever their number, in few statements.

Ingest looks up a chunk's parties and claims and posting a chunk's claims and lines with it; on
PostgreSQL the keys go in one array per statement (a join), not in IN lists of parameters."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from ledger import bulk
from ledger.bulk import rows_where_in
from ledger.db import Ledger

KEYS = 1_234  # more than one SQLite IN list (500)


def _ledger_with_rows(url: str) -> Ledger:
    ledger = Ledger(url)
    with ledger.session() as session:
        session.execute(text("CREATE TABLE keyed (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, "
                             "kind VARCHAR(4) NOT NULL)"))
        session.execute(text("INSERT INTO keyed (id, name, kind) VALUES (:id, :name, :kind)"),
                        [{"id": i, "name": f"Name{i}", "kind": "odd" if i % 2 else "even"} for i in range(1, 3_001)])
    return ledger


def _statements(ledger: Ledger) -> list[str]:
    seen: list[str] = []

    @event.listens_for(ledger.engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    return seen


@pytest.mark.parametrize("search", [False, True], ids=["join", "search"])
def test_rows_for_many_text_and_integer_keys_are_the_rows_asked_for(db_url: str, search: bool) -> None:
    ledger = _ledger_with_rows(db_url)
    with ledger.session() as session:  # keys an array text must quote
        session.execute(text("INSERT INTO keyed (id, name, kind) VALUES (5001, :name, 'odd')"), {"name": 'a"b\\c,{d} e'})
    ids = list(range(2, 2 * KEYS + 1, 2)) + [99_999]  # one that is not there
    names = [f"NAME{i}" for i in range(1, KEYS + 1)] + ['A"B\\C,{D} E', "NULL"]
    with ledger.session() as session:
        connection = session.connection()
        by_id = sorted(rows_where_in(connection, "SELECT id, kind FROM keyed WHERE id IN ({marks})", ids,
                                     search=search))
        by_name = sorted(rows_where_in(connection, "SELECT id FROM keyed WHERE kind = {mark} AND upper(name) "
                                       "IN ({marks})", names, leading=("odd",), search=search))
        nothing = list(rows_where_in(connection, "SELECT id FROM keyed WHERE id IN ({marks})", [], search=search))
    ledger.dispose()
    assert by_id == [(i, "even") for i in range(2, 2 * KEYS + 1, 2)]
    assert by_name == [(i,) for i in range(1, KEYS + 1, 2)] + [(5001,)]
    assert nothing == []


@pytest.mark.postgres
def test_postgresql_looks_up_an_array_of_keys_per_statement(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = _ledger_with_rows(pg_url)
    seen = _statements(ledger)
    with ledger.session() as session:
        found = list(rows_where_in(session.connection(), "SELECT id FROM keyed WHERE id IN ({marks})",
                                   list(range(1, KEYS + 1))))
        lookups = [s for s in seen if "FROM keyed" in s]
        assert len(found) == KEYS and len(lookups) == 1
        monkeypatch.setattr(bulk, "ARRAY_SIZE", 500)  # a longer list is cut into arrays of ARRAY_SIZE
        found = list(rows_where_in(session.connection(), "SELECT id FROM keyed WHERE id IN ({marks})",
                                   list(range(1, KEYS + 1))))
    ledger.dispose()
    assert sorted(found) == [(i,) for i in range(1, KEYS + 1)]
    assert len([s for s in seen if "FROM keyed" in s]) == 1 + 3
