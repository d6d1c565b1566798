"""PostgreSQL connections (issue 19): ``[database]`` pool size and statement timeout, and a
server that drops the connection mid-post — one line, exit 2, and a rerun posts exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from benchmarks.post835 import seed_claims, write_835
from ledger.db import Ledger
from ledger.models import ClaimPayment, Remittance, Transmission
from runtime.config import ConfigError, load_config, starter_config

REPO = Path(__file__).resolve().parent.parent
N = 300

pytestmark = pytest.mark.postgres


def _config(folder: Path, url: str, extra: str = "") -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    text_ = starter_config(transport_url=f"file://{folder / 'clearinghouse'}")
    text_ = text_.replace('url = ""', f'url = "{url}"\n{extra}', 1)
    path = folder / "bhclaims.toml"
    path.write_text(text_)
    path.chmod(0o600)
    return path


def _post(config: Path, remit: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "--config", str(config), "post", str(remit)],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _counts(url: str) -> tuple[int, int, list[str]]:
    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            remittances = session.scalar(select(func.count()).select_from(Remittance)) or 0
            payments = session.scalar(select(func.count()).select_from(ClaimPayment)) or 0
            states = list(session.scalars(select(Transmission.state).where(Transmission.direction == "in")))
    finally:
        ledger.dispose()
    return remittances, payments, states


def _wait_for_lock_waiter(admin: object, timeout: float = 60) -> int:
    """The pid of the backend waiting on a lock (the poster, stuck behind the test's table lock)."""
    end = time.monotonic() + timeout
    query = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    while time.monotonic() < end:
        pid = admin.execute(query).scalar()  # type: ignore[attr-defined]
        if pid is not None:
            return int(pid)
        time.sleep(0.05)
    raise AssertionError("the poster never waited on the remittances lock")


@pytest.fixture
def seeded(pg_url: str, tmp_path: Path) -> Path:
    seed_claims(pg_url, N)
    remit = tmp_path / "remit.835"
    write_835(remit, N)
    return remit


def test_database_limits_are_read_and_checked(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path / "a", "", "pool_size = 3\nstatement_timeout_seconds = 2.5"))
    assert (config.database_pool_size, config.database_statement_timeout_seconds) == (3, 2.5)
    config = load_config(_config(tmp_path / "b", ""))
    assert (config.database_pool_size, config.database_statement_timeout_seconds) == (5, None)
    for bad in ("pool_size = 0", "pool_size = true", "statement_timeout_seconds = -1", 'statement_timeout_seconds = "1"'):
        with pytest.raises(ConfigError, match=r"\[database\]"):
            load_config(_config(tmp_path / "c", "", bad))


def test_pool_size_and_statement_timeout_reach_the_engine(pg_url: str) -> None:
    ledger = Ledger(pg_url, pool_size=2, statement_timeout_seconds=1.5)
    try:
        assert ledger.engine.pool.size() == 2  # type: ignore[attr-defined]
        with ledger.session() as session:
            assert session.scalar(text("SHOW statement_timeout")) == "1500ms"
    finally:
        ledger.dispose()


def test_a_statement_over_the_timeout_exits_2_in_words_and_the_rerun_posts_once(
    pg_url: str, tmp_path: Path, seeded: Path
) -> None:
    config = _config(tmp_path / "practice", pg_url, "statement_timeout_seconds = 1")
    admin_engine = create_engine(pg_url, poolclass=NullPool)
    with admin_engine.connect() as admin:
        admin.execute(text("LOCK TABLE remittances IN ACCESS EXCLUSIVE MODE"))  # held until the rollback
        poster = _post(config, seeded)
        out, err = poster.communicate(timeout=120)
        admin.rollback()
    admin_engine.dispose()
    assert poster.returncode == 2, err
    lines = err.strip().splitlines()
    assert lines and "statement_timeout_seconds" in lines[-1] and "Traceback" not in err, err
    assert _counts(pg_url)[:2] == (0, 0)
    rerun = _post(config, seeded)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert _counts(pg_url) == (1, N, ["posted"])


def test_a_connection_cut_mid_post_exits_2_in_words_and_the_rerun_posts_once(
    pg_url: str, tmp_path: Path, seeded: Path
) -> None:
    config = _config(tmp_path / "practice", pg_url)
    admin_engine = create_engine(pg_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as admin, admin_engine.connect() as blocker:
        blocker = blocker.execution_options(isolation_level="READ COMMITTED")
        with blocker.begin():
            blocker.execute(text("LOCK TABLE remittances IN ACCESS EXCLUSIVE MODE"))
            poster = _post(config, seeded)
            pid = _wait_for_lock_waiter(admin)
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
            out, err = poster.communicate(timeout=120)
    admin_engine.dispose()
    assert poster.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bhclaims: the ledger database failed"), err
    assert _counts(pg_url)[:2] == (0, 0)
    rerun = _post(config, seeded)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert _counts(pg_url) == (1, N, ["posted"])
    again = _post(config, seeded)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and "already posted" in out, err
    assert _counts(pg_url) == (1, N, ["posted"])
