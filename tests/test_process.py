"""The process-wide settings are the application's, made once at start-up by its entry points."""

from __future__ import annotations

import gc

import pytest

from runtime.process import OLDER_GENERATION_THRESHOLDS, YOUNG_GENERATION_THRESHOLD, configure_process


@pytest.fixture
def default_thresholds():  # type: ignore[no-untyped-def]
    previous = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*previous)


def test_the_cli_configures_the_process_once_when_it_starts(default_thresholds) -> None:  # type: ignore[no-untyped-def]
    import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code in (0, None)
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *OLDER_GENERATION_THRESHOLDS)
    assert gc.isenabled()


def test_configuring_twice_changes_nothing(default_thresholds) -> None:  # type: ignore[no-untyped-def]
    configure_process()
    first = gc.get_threshold()
    configure_process()
    assert gc.get_threshold() == first == (YOUNG_GENERATION_THRESHOLD, *OLDER_GENERATION_THRESHOLDS)


@pytest.fixture
def no_null_adapter():  # type: ignore[no-untyped-def]
    import sqlite3

    key = (type(None), sqlite3.PrepareProtocol)
    previous = sqlite3.adapters.pop(key, None)
    yield
    sqlite3.adapters.pop(key, None)
    if previous is not None:
        sqlite3.adapters[key] = previous


def test_a_null_parameter_still_binds_as_null_once_sqlite3_has_its_adapter(no_null_adapter) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from runtime.process import NULL_ADAPTER

    assert (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters
    configure_process()
    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)] is NULL_ADAPTER
    with sqlite3.connect(":memory:") as connection:
        connection.execute("CREATE TABLE t (a, b, c)")
        connection.executemany("INSERT INTO t VALUES (?, ?, ?)", [(None, 1, "x"), ("y", None, None)])
        assert connection.execute("SELECT typeof(a), typeof(b), typeof(c) FROM t ORDER BY rowid").fetchall() == [
            ("null", "integer", "text"), ("text", "null", "null")]
        assert connection.execute("SELECT count(*) FROM t WHERE a IS NULL OR c IS NULL").fetchone() == (2,)
