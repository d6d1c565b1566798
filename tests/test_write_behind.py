"""Posting's writes on a thread (PostgreSQL): in order, one at a time, failures reach the caller,
and a failed file leaves nothing behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ledger import bulk
from ledger.models import ClaimPayment, Remittance, ServicePayment
from ledger.write_behind import WriteBehind
from remits.inbound import post_files
from remits.payments import PaymentReport, post_remittance_parts
from tests.claim_factory import make_claim
from tests.remit_factory import ledger_with, pay, remit, write_835


def test_jobs_run_in_order_one_at_a_time_off_the_callers_thread() -> None:
    writes = WriteBehind(behind=True)
    seen: list[tuple[int, str]] = []
    running = threading.Lock()

    def job(k: int) -> None:
        assert running.acquire(blocking=False), "two jobs at once"
        time.sleep(0.01)
        seen.append((k, threading.current_thread().name))
        running.release()

    for k in range(5):
        writes.submit(lambda k=k: job(k))
    writes.close()
    assert [k for k, _ in seen] == list(range(5))
    assert all(name != threading.current_thread().name for _, name in seen)


def test_a_failed_job_is_raised_at_the_next_settle_and_not_over_the_callers_own() -> None:
    writes = WriteBehind(behind=True)

    def fail() -> None:
        raise ValueError("write failed")

    writes.submit(fail)
    with pytest.raises(ValueError, match="write failed"):
        writes.settle()
    writes.settle()  # raised once
    writes.submit(fail)
    writes.close(failing=True)  # the caller is raising already: waits, does not raise


def test_in_line_jobs_run_as_submitted() -> None:
    writes = WriteBehind(behind=False)
    seen: list[str] = []
    writes.submit(lambda: seen.append(threading.current_thread().name))
    assert seen == [threading.current_thread().name]
    writes.close()


def _count(ledger: object, model: type) -> int:
    with ledger.session() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_write_failing_on_the_writers_thread_rolls_the_whole_file_back(
        ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The third chunk's service payments fail (as a lost connection would): the caller gets the
    database's error, and nothing of the file — not the chunks written before — stays."""
    claims = [make_claim(f"W{k}") for k in range(7)]
    ledger = ledger_with(ledger_url, claims)
    path = write_835(tmp_path, "w.835", [remit([pay(claim) for claim in claims], "TW")])
    real = bulk.insert_rows
    calls: list[str] = []

    def failing(connection, table, columns, rows):  # type: ignore[no-untyped-def]
        if table == "service_payments":
            calls.append(threading.current_thread().name)
            if len(calls) == 3:
                raise OperationalError("COPY service_payments", None, Exception("server closed the connection"))
        return real(connection, table, columns, rows)

    monkeypatch.setattr(bulk, "insert_rows", failing)
    from edi.x835 import read_remittance_file

    with pytest.raises(OperationalError, match="server closed"), ledger.session() as session:
        post_remittance_parts(session, read_remittance_file(path, drafts=True), transmission_id=None, actor="t",
                              report=PaymentReport(), chunk_size=2)
    behind = ledger.engine.dialect.name == "postgresql"
    assert len(calls) == 3 and all(name.startswith("bhclaims-writes") == behind for name in calls)
    assert (_count(ledger, Remittance), _count(ledger, ClaimPayment), _count(ledger, ServicePayment)) == (0, 0, 0)
    monkeypatch.setattr(bulk, "insert_rows", real)
    report = post_files(ledger, [path], actor="t")  # the file posts whole afterwards
    assert report.payments.claims_posted == 7 and _count(ledger, ClaimPayment) == 7
