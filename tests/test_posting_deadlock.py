"""A posting that PostgreSQL ends to break a deadlock is tried again, not given up (issue 19).

Two workers (or two hosts) posting files that pay the same claims can lock the same rows in
opposite orders; PostgreSQL then ends one transaction with a deadlock error.  Nothing is wrong
with that file: it must post when tried again, not stop the run or land in quarantine.  Here a
second session plays the other worker: it holds the claims' rows, waits until the poster is
queued behind them, then asks for the file's row the poster holds — a deadlock the server
breaks by ending the poster's transaction (its wait is the older one, so its check runs first).
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from ledger.models import Claim, ClaimPayment, Remittance, Transmission
from remits.inbound import PostReport, post_pending
from tests.claim_factory import make_claim
from tests.remit_factory import ledger_with, pay, remit, write_835


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_a_posting_ended_by_a_deadlock_is_tried_again_and_posts_once(pg_ledger_url: str, tmp_path: Path) -> None:
    claims = [make_claim("DL-1"), make_claim("DL-2")]
    ledger = ledger_with(pg_ledger_url, claims)
    path = write_835(tmp_path, "R1.835", [remit([pay(c) for c in claims], trace="DEADLOCK-1")])
    data = path.read_bytes()
    with ledger.session() as session:
        row = Transmission(direction="in", kind="835", file_name=path.name, local_path=str(path),
                           sha256=hashlib.sha256(data).hexdigest(), size=len(data), state="fetched")
        session.add(row)
        session.flush()
        transmission_id = row.id

    outcome: dict[str, object] = {}

    def poster() -> None:
        try:
            outcome["report"] = post_pending(ledger, actor="test")
        except Exception as exc:  # noqa: BLE001 - the test reports what ended the poster
            outcome["error"] = exc

    other = psycopg.connect(_plain(pg_ledger_url))
    watcher = psycopg.connect(_plain(pg_ledger_url), autocommit=True)
    try:
        other.execute("SET deadlock_timeout = '60s'")  # so the poster's deadlock check is the one that runs
        other.execute("SELECT id FROM claims FOR UPDATE")
        thread = threading.Thread(target=poster)
        thread.start()
        end = time.monotonic() + 30
        while not watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> %s",
            (other.info.backend_pid,),
        ).fetchone()[0]:  # type: ignore[index]
            assert thread.is_alive() and time.monotonic() < end, outcome or "the poster never waited for the claims"
            time.sleep(0.01)
        other.execute("SELECT id FROM transmissions WHERE id = %s FOR UPDATE", (transmission_id,))
        other.rollback()  # the other worker lets go; the poster tries the file again
        thread.join(60)
        assert not thread.is_alive()
    finally:
        other.close()
        watcher.close()

    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert isinstance(report, PostReport)
    assert report.files_posted == ["R1.835"] and not report.failed
    with ledger.session() as session:
        assert session.scalar(select(Transmission.state).where(Transmission.id == transmission_id)) == "posted"
        assert session.scalar(select(func.count()).select_from(Remittance)) == 1
        assert session.scalar(select(func.count()).select_from(ClaimPayment)) == 2  # each claim paid once
        assert set(session.scalars(select(Claim.status))) == {"paid"}
    ledger.dispose()
