"""`bhclaims post --workers N` (issue 19): PostgreSQL workers take fetched files with
``FOR UPDATE SKIP LOCKED`` and post each exactly once, also when one is killed mid-file;
SQLite refuses more than one worker in words (exit 2)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks.post835 import seed_claims, write_835
from ledger.db import Ledger
from ledger.models import Claim, ClaimPayment, Remittance, Transmission
from runtime.config import starter_config

REPO = Path(__file__).resolve().parent.parent
FILES = 12
PER_FILE = 150


def _config(folder: Path, url: str) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    text = starter_config(transport_url=f"file://{folder / 'clearinghouse'}").replace('url = ""', f'url = "{url}"', 1)
    path = folder / "bhclaims.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def _cli(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "--config", str(config), *args],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _fetched_files(url: str, folder: Path) -> list[str]:
    """FILES 835s, each paying its own PER_FILE claims, recorded as fetched (as `bhclaims fetch` leaves them)."""
    seed_claims(url, FILES * PER_FILE)
    folder.mkdir(mode=0o700)
    ledger = Ledger(url)
    names = []
    try:
        with ledger.session() as session:
            for k in range(FILES):
                path = folder / f"R{k:02d}.835"
                write_835(path, PER_FILE, trace=f"TRACE{k}", first=k * PER_FILE)
                data = path.read_bytes()
                session.add(Transmission(direction="in", kind="835", file_name=path.name, local_path=str(path),
                                         sha256=hashlib.sha256(data).hexdigest(), size=len(data), state="fetched"))
                names.append(path.name)
    finally:
        ledger.dispose()
    return names


def _exactly_once(url: str, names: list[str]) -> None:
    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            states = dict(session.execute(select(Transmission.file_name, Transmission.state)
                                          .where(Transmission.direction == "in")).all())
            traces = sorted(session.scalars(select(Remittance.trace_number)))
            per_claim = set(session.execute(select(func.count()).select_from(ClaimPayment)
                                            .group_by(ClaimPayment.claim_pk)).scalars())
            paid_claims = session.scalar(select(func.count()).select_from(ClaimPayment)) or 0
            statuses = set(session.scalars(select(Claim.status)))
    finally:
        ledger.dispose()
    assert states == {name: "posted" for name in names}
    assert traces == sorted(f"TRACE{k}" for k in range(FILES))  # one remittance per file
    assert per_claim == {1} and paid_claims == FILES * PER_FILE  # every claim paid once
    assert statuses == {"paid"}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def test_more_than_one_worker_on_sqlite_is_refused_in_words(tmp_path: Path) -> None:
    config = _config(tmp_path / "practice", "")
    init = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "--config", str(config), "migrate"],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    proc = _cli(config, "post", "--workers", "2")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        "bhclaims: --workers above 1 needs a PostgreSQL ledger: SQLite lets one process write at a time, so more "
        "workers would only wait for each other; run `bhclaims post` without --workers"
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [2, 3])
def test_workers_post_each_file_exactly_once(pg_ledger_url: str, tmp_path: Path, workers: int) -> None:
    pg_url = pg_ledger_url
    names = _fetched_files(pg_url, tmp_path / "inbox")
    config = _config(tmp_path / "practice", pg_url)
    proc = _cli(config, "post", "--workers", str(workers), "--json")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f'"remittances_posted": {FILES}' in out
    _exactly_once(pg_url, names)
    again = _cli(config, "post", "--workers", str(workers), "--json")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and '"remittances_posted": 0' in out, err
    _exactly_once(pg_url, names)


@pytest.mark.postgres
def test_a_worker_killed_mid_file_loses_nothing_and_posts_nothing_twice(pg_ledger_url: str, tmp_path: Path) -> None:
    pg_url = pg_ledger_url
    names = _fetched_files(pg_url, tmp_path / "inbox")
    config = _config(tmp_path / "practice", pg_url)
    proc = _cli(config, "post", "--workers", "3")
    end = time.monotonic() + 60
    while not (workers := _children(proc.pid)):
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()
        time.sleep(0.01)
    time.sleep(0.3)  # into its first file
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err  # the parent posted what the dead worker let go
    assert "post.worker_died" in err  # it was killed while still at work
    _exactly_once(pg_url, names)
