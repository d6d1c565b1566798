"""``ledger.read_ahead``: a listing's next batch fetched on a thread while the caller writes the current
one — every row in order, the thread stopped and the batches closed however the block ends; and
``claims --json`` through it on PostgreSQL (in line on SQLite), ``--limit`` included."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

import ledger.money
from cli import main_group
from ledger.db import Ledger
from ledger.money import claim_list_rows, iter_claim_list
from ledger.read_ahead import read_ahead
from tests.test_ledger_reads_sql import build_ledger

WAIT_S = 10.0


class Batches:
    """Batches of numbers, counting what was fetched on which thread and whether it was closed."""

    def __init__(self, batches: list[list[int]], fail_after: int | None = None) -> None:
        self.batches = batches
        self.fail_after = fail_after
        self.fetched: list[int] = []
        self.threads: set[int] = set()
        self.closed = False
        self._iterator = self._fetch()

    def _fetch(self) -> Iterator[list[int]]:
        try:
            for index, batch in enumerate(self.batches):
                if index == self.fail_after:
                    raise ValueError(f"fetch {index} failed")
                self.threads.add(threading.get_ident())
                self.fetched.append(index)
                yield batch
        finally:
            self.closed = True

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> list[int]:
        return next(self._iterator)

    def close(self) -> None:
        self._iterator.close()


def _no_reader_thread() -> bool:
    return not [t for t in threading.enumerate() if t.name == "read-ahead"]


def test_every_row_in_order_fetched_on_another_thread() -> None:
    batches = Batches([[1, 2], [], [3], [4, 5, 6]])
    with read_ahead(batches) as rows:
        assert list(rows) == [1, 2, 3, 4, 5, 6]
    assert batches.threads and threading.get_ident() not in batches.threads
    assert batches.closed and _no_reader_thread()


def test_the_next_batch_is_fetched_while_the_reader_holds_the_first() -> None:
    second_fetched = threading.Event()

    def fetch() -> Iterator[list[int]]:
        yield [1, 2]
        second_fetched.set()
        yield [3]

    with read_ahead(fetch()) as rows:
        assert next(rows) == 1
        assert second_fetched.wait(WAIT_S), "nothing was fetched ahead"
        assert list(rows) == [2, 3]


def test_a_reader_that_stops_early_stops_the_thread_and_closes_the_batches() -> None:
    batches = Batches([[n] for n in range(1_000)])  # far more than fit ahead: the thread waits to put
    with read_ahead(batches, ahead=2) as rows:
        assert next(rows) == 0
        for _ in range(100):  # let it fill what it may
            if len(batches.fetched) >= 3:
                break
            threading.Event().wait(0.01)
    assert batches.closed and _no_reader_thread()
    assert len(batches.fetched) <= 5  # stopped, not read to the end


def test_an_error_while_fetching_reaches_the_reader_where_it_came() -> None:
    batches = Batches([[1, 2], [3], [4]], fail_after=2)
    seen: list[int] = []
    with pytest.raises(ValueError, match="fetch 2 failed"), read_ahead(batches) as rows:
        seen.extend(rows)
    assert seen == [1, 2, 3] and batches.closed and _no_reader_thread()


def test_an_error_of_the_reader_stops_the_thread_before_it_leaves_the_block() -> None:
    batches = Batches([[n] for n in range(1_000)])
    with pytest.raises(RuntimeError, match="pipe closed"), read_ahead(batches) as rows:
        next(rows)
        raise RuntimeError("pipe closed")
    assert batches.closed and _no_reader_thread()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of two rows, so that the plain ledger's claims come in several."""
    monkeypatch.setattr(ledger.money, "STREAM_ROWS", 2)


def test_claim_list_rows_equal_the_claim_list(ledger_url: str, small_batches: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Read ahead on PostgreSQL, in line on SQLite (where a thread only slows the driver down)."""
    build_ledger(ledger_url)
    read_ahead_used: list[bool] = []

    def counted(batches: Any, **options: Any) -> Any:
        read_ahead_used.append(True)
        return read_ahead(batches, **options)

    monkeypatch.setattr(ledger.money, "read_ahead", counted)
    store = Ledger(ledger_url)
    try:
        with store.read_session() as session:
            expected = [tuple(row) for row in iter_claim_list(session)]
        with store.read_session() as session, claim_list_rows(session) as rows:
            listed = [tuple(row) for row in rows]
        with store.read_session() as session, claim_list_rows(session) as rows:
            first = tuple(next(rows))  # stopped after one row: the transaction goes on
            assert session.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        store.dispose()
    assert len(expected) > 4 and listed == expected and first == expected[0]
    assert _no_reader_thread()
    assert read_ahead_used == ([True, True] if ledger_url.startswith("postgresql") else [])


def test_claims_json_lists_every_claim_and_stops_at_the_limit(ledger_url: str, tmp_path: Path,
                                                                small_batches: None) -> None:
    build_ledger(ledger_url)
    folder = tmp_path / "practice"
    made = CliRunner().invoke(main_group, ["--db", ledger_url, "init", str(folder)])
    assert made.exit_code == 0, made.output
    store = Ledger(ledger_url)
    try:
        with store.read_session() as session:
            expected = [(row[0], row[1]) for row in iter_claim_list(session)]
    finally:
        store.dispose()

    def listed(*extra: str) -> list[Any]:
        result = CliRunner().invoke(main_group, ["--config", str(folder / "bhclaims.toml"), "--db", ledger_url,
                                                 "claims", "--json", *extra])
        assert result.exit_code == 0, result.output
        return [(row["claim_id"], row["revision"]) for row in json.loads(result.output)]

    assert listed() == expected
    assert listed("--limit", "3") == expected[:3]
    assert _no_reader_thread()
