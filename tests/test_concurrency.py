"""Cron and a clerk at once: no claim in two batches, no "database is locked" (reliability 6, 15, 37)."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from ledger.db import Ledger, upgrade
from ledger.ingest import ingest_claims
from ledger.models import Batch, BatchClaim
from ledger.queries import list_claims
from runtime.config import load_config, starter_config
from tests.claim_factory import make_claim
from tests.ledger_helpers import no_findings


def _config(tmp_path: Path, url: str, per_file: int):  # type: ignore[no-untyped-def]
    path = tmp_path / "bhclaims.toml"
    if not path.exists():
        text = starter_config(transport_url="file://./ch").replace("claims_per_file = 5000",
                                                                   f"claims_per_file = {per_file}")
        path.write_text(text)
    return load_config(path, url)


def _builder(tmp: str, url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from outbox.batches import build_batches
    from validators.x12_syntax import SyntaxFinding

    def no_pyx12(_text: str) -> list[SyntaxFinding]:  # pyx12 is timed elsewhere; here only the ledger races
        return []

    ledger = Ledger(url)
    report = build_batches(ledger, _config(Path(tmp), url, 10), checker=no_findings, actor="worker",
                           now=datetime.now(UTC), validate=no_pyx12)
    ledger.dispose()
    queue.put(report.claims)


def test_parallel_builders_put_each_claim_in_exactly_one_batch(tmp_path: Path, ledger_url: str) -> None:
    _config(tmp_path, ledger_url, 10)
    ledger = Ledger(ledger_url)
    ingest_claims(ledger, [make_claim(f"P{n:03d}") for n in range(120)], checker=no_findings, actor="t")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_builder, args=(str(tmp_path), ledger_url, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    built = [queue.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert sum(built) == 120
    with ledger.session() as session:
        assert session.scalar(select(func.count(func.distinct(BatchClaim.claim_pk)))) == 120
        assert session.scalar(select(func.count()).select_from(BatchClaim)) == 120
        numbers = list(session.scalars(select(Batch.interchange_control_number)))
        assert len(numbers) == len(set(numbers)) == 12
    ledger.dispose()


def _writer(url: str, seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ledger = Ledger(url)
    deadline, n, errors = time.monotonic() + seconds, 0, []
    while time.monotonic() < deadline:
        try:
            ingest_claims(ledger, [make_claim(f"W{n:05d}-{i}") for i in range(5)], checker=no_findings, actor="cron")
        except Exception as exc:  # collected and asserted on, not swallowed
            errors.append(repr(exc))
        n += 1
    ledger.dispose()
    queue.put(("writer", n, errors))


def _reader(url: str, seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ledger = Ledger(url)
    deadline, n, errors = time.monotonic() + seconds, 0, []
    while time.monotonic() < deadline:
        try:
            with ledger.read_session() as session:
                list_claims(session)
        except Exception as exc:
            errors.append(repr(exc))
        n += 1
    ledger.dispose()
    queue.put(("reader", n, errors))


def test_sqlite_cron_writer_and_clerk_reader_never_see_database_locked(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [context.Process(target=_writer, args=(url, 8.0, queue)) for _ in range(2)]
    procs.append(context.Process(target=_reader, args=(url, 8.0, queue)))
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert all(errors == [] for _, _, errors in results), results
    assert all(count > 3 for _, count, _ in results), results
