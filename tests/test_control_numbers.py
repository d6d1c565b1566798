"""ISA13/GS06 come from the ledger, committed before use, and are never shared (reliability 15)."""

from __future__ import annotations

import multiprocessing

from ledger.counters import next_control_number
from ledger.db import Ledger


def _allocate(url: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ledger = Ledger(url)
    taken = []
    for _ in range(count):
        with ledger.session() as session:
            taken.append((next_control_number(session, "isa13"), next_control_number(session, "gs06")))
    ledger.dispose()
    queue.put(taken)


def test_parallel_processes_never_share_a_control_number(ledger_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_allocate, args=(ledger_url, 60, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    isa = [pair[0] for batch in results for pair in batch]
    gs = [pair[1] for batch in results for pair in batch]
    assert len(isa) == 240 and len(set(isa)) == 240 and len(set(gs)) == 240
    assert sorted(isa) == list(range(1, 241))  # no crash here, so no gap either


def test_rolled_back_allocation_is_not_handed_out_twice(ledger_url: str) -> None:
    ledger = Ledger(ledger_url)
    with ledger.session() as session:
        first = next_control_number(session, "isa13")
    try:
        with ledger.session() as session:
            next_control_number(session, "isa13")
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    with ledger.session() as session:
        second = next_control_number(session, "isa13")
    assert second == first + 1  # the rolled-back number was never committed, so never used in a file
    ledger.dispose()
