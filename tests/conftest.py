"""Shared fixtures.  Real servers (PostgreSQL, OpenSSH) live in their own plugin modules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from domain import clock

pytest_plugins = ["tests.pg_server", "tests.sshd_server"]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
CORPUS = (REPO.parent / "shared" / "corpus" / "x12").resolve()

# The day the bundled fixtures were written for: every service date in fixtures/ is fresh
# (inside timely filing) and no fixture date is in the future.  Tests run on this day
# whatever the calendar says; tests that need another day pin their own.
FIXTURE_TODAY = date(2026, 11, 23)


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
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded SQLite ledger and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_url"))
