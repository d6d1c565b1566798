"""`bhclaims init --db URL` (issue 18): the URL goes into bhclaims.toml, so later commands use
that database without `--db`; a URL with a password is refused before anything is written
(the password is read by libpq from ~/.pgpass or PGPASSWORD, see docs/postgres.md) and never
shown; an unknown database kind is said as such."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from runtime.config import DATABASE_URL_ENV, DEFAULT_CONFIG_NAME
from tests.cli_in_process import run_bhclaims

REPO = Path(__file__).resolve().parent.parent


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(DATABASE_URL_ENV, None)
    return run_bhclaims(args, cwd=folder, env=env)


@pytest.mark.postgres
def test_init_db_writes_the_url_and_later_commands_use_it(tmp_path: Path, pg_url: str) -> None:
    made = _cli(tmp_path, "init", "--db", pg_url, "practice")
    assert made.returncode == 0, made.stderr
    assert "ledger: PostgreSQL" in made.stdout
    config = tomllib.loads((tmp_path / "practice" / DEFAULT_CONFIG_NAME).read_text())
    assert config["database"]["url"] == pg_url
    listed = _cli(tmp_path / "practice", "claims", "--json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]"
    assert not (tmp_path / "practice" / "bhclaims.db").exists()


def test_a_password_in_the_init_url_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    result = _cli(tmp_path, "init", "--db", "postgresql+psycopg://billing:s3cret@db.internal/bhclaims", "practice")
    assert result.returncode == 2
    assert "s3cret" not in result.stdout + result.stderr
    assert "~/.pgpass" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_database_kind_in_init_is_said(tmp_path: Path) -> None:
    result = _cli(tmp_path, "init", "--db", "mysql://billing@db/bhclaims", "practice")
    assert result.returncode == 2
    assert "--db: unknown database kind 'mysql'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_without_db_keeps_sqlite_beside_the_config(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", "practice").returncode == 0
    config = tomllib.loads((tmp_path / "practice" / DEFAULT_CONFIG_NAME).read_text())
    assert config["database"]["url"] == ""
    assert (tmp_path / "practice" / "bhclaims.db").exists()


def test_an_unreachable_database_leaves_no_config_and_the_same_init_works_later(tmp_path: Path) -> None:
    # port 1 on loopback: nothing listens there, so the ledger cannot be created
    unreachable = "postgresql+psycopg://billing@127.0.0.1:1/bhclaims?connect_timeout=5"
    failed = _cli(tmp_path, "init", "--db", unreachable, "practice")
    assert failed.returncode == 2, failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "practice" / DEFAULT_CONFIG_NAME).exists()
    again = _cli(tmp_path, "init", "practice")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "practice" / DEFAULT_CONFIG_NAME).exists()
