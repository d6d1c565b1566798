"""Shared fixtures.  Real servers (PostgreSQL, OpenSSH) live in their own plugin modules."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.pg_server", "tests.sshd_server"]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
CORPUS = (REPO.parent / "shared" / "corpus" / "x12").resolve()


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
