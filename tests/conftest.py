"""Shared fixtures.  Real servers (PostgreSQL, OpenSSH) live in their own plugin modules."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from domain import clock

pytest_plugins = ["tests.pg_server", "tests.sshd_server"]

# Hypothesis profiles.  ``ci`` (the default): a property runs its own ``max_examples`` if it sets
# one, else a modest 50, with no deadline (the suite shares its CPUs with servers and subprocesses,
# so a slow example is not a bug).  ``thorough`` (HYPOTHESIS_PROFILE=thorough make test): ten times
# the examples of every property, through ``tests.examples.scaled``.
settings.register_profile("ci", max_examples=50, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
CORPUS = (REPO.parent / "shared" / "corpus" / "x12").resolve()

# The day the bundled fixtures were written for: every service date in fixtures/ is fresh
# (inside timely filing) and no fixture date is in the future.  Tests run on this day
# whatever the calendar says; tests that need another day pin their own.
FIXTURE_TODAY = date(2026, 11, 23)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the tests marked ``slow`` first, one to each xdist worker in turn.

    pytest-xdist (``--dist load``) first hands each worker a run of consecutive tests, then feeds
    them more as they finish.  A slow test collected last starts last and the suite ends with one
    worker running it alone; slow tests collected together would all land on one worker.  So each
    worker's first run begins with its share of the slow tests, and the rest keep their order
    (module fixtures are shared by neighbours).  Every worker collects the same list, so every
    worker computes the same order.
    """
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if not slow:
        return
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    others = iter([item for item in items if item.get_closest_marker("slow") is None])
    first_run = max(2, len(items) // workers // 4)  # xdist's first chunk per worker (LoadScheduling)
    ordered: list[pytest.Item] = []
    for worker in range(workers):
        share = slow[worker::workers]
        ordered += share
        ordered += [item for _, item in zip(range(first_run - len(share)), others, strict=False)]
    ordered += list(others)
    items[:] = ordered


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    """Pin the product's clock (``BHCLAIMS_TODAY``, inherited by the CLI subprocesses tests start)."""
    monkeypatch.setenv(clock.ENVIRONMENT_VARIABLE, FIXTURE_TODAY.isoformat())
    yield FIXTURE_TODAY


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present beside the repo")
    return CORPUS


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The database a ``db_url`` / ``ledger_url`` test runs on; one parameter for both, so a test
    (or its fixtures) asking for both runs twice, not four times."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on the embedded SQLite ledger and on the real PostgreSQL server."""
    if backend == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def sqlite_ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite ledger migrated to head per session; tests get copies of it (see ``ledger_url``)."""
    from ledger.db import sqlite_url, upgrade

    path = tmp_path_factory.mktemp("ledger-template") / "ledger.db"
    upgrade(sqlite_url(path))  # the migration disposes its engine: the WAL is folded into the file
    return path


def copy_sqlite_ledger(template: Path, target: Path) -> str:
    """A private (0600) copy of a migrated SQLite ledger at ``target``; its URL."""
    from ledger.db import sqlite_url

    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(template, "rb") as source, open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                                              "wb") as copy:
        shutil.copyfileobj(source, copy)
    return sqlite_url(target)


@pytest.fixture
def sqlite_ledger_at(sqlite_ledger_template: Path) -> Callable[[Path], str]:
    """Head-revision SQLite ledgers at paths a test chooses (several per test): copies of the template."""
    return lambda target: copy_sqlite_ledger(sqlite_ledger_template, target)


@pytest.fixture
def ledger_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger at the head revision, on SQLite and on PostgreSQL.

    The same as ``db_url`` followed by ``ledger.db.upgrade``, without running Alembic for every
    test: the copy comes from a template migrated once per session.  Tests of the migrations
    themselves, and of ``bhclaims init`` / ``migrate``, use ``db_url``.
    """
    if backend == "sqlite":
        return copy_sqlite_ledger(request.getfixturevalue("sqlite_ledger_template"), tmp_path / "migrated.db")
    return str(request.getfixturevalue("pg_ledger_url"))
