"""Posting's writes on a thread (PostgreSQL): in order, one at a time, failures reach the caller,
and a failed file leaves nothing behind."""

from __future__ import annotations

import sys
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
    before = sys.getswitchinterval()
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
    assert sys.getswitchinterval() <= 0.001  # the reader hands the interpreter back soon after an answer
    writes.close()
    assert sys.getswitchinterval() == before
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
    real, real_copy = bulk.insert_rows, bulk.insert_copy_data
    calls: list[str] = []

    def failing(connection, table, columns, rows, send=real):  # type: ignore[no-untyped-def]
        if table == "service_payments":
            calls.append(threading.current_thread().name)
            if len(calls) == 3:
                raise OperationalError("COPY service_payments", None, Exception("server closed the connection"))
        return send(connection, table, columns, rows)

    monkeypatch.setattr(bulk, "insert_rows", failing)  # the rows as they are, or as COPY text made before
    monkeypatch.setattr(bulk, "insert_copy_data", lambda *args: failing(*args, send=real_copy))
    from edi.x835 import read_remittance_file

    with pytest.raises(OperationalError, match="server closed"), ledger.session() as session:
        post_remittance_parts(session, read_remittance_file(path, drafts=True), transmission_id=None, actor="t",
                              report=PaymentReport(), chunk_size=2)
    behind = ledger.engine.dialect.name == "postgresql"
    assert len(calls) == 3 and all(name.startswith("bhclaims-writes") == behind for name in calls)
    assert (_count(ledger, Remittance), _count(ledger, ClaimPayment), _count(ledger, ServicePayment)) == (0, 0, 0)
    monkeypatch.undo()
    report = post_files(ledger, [path], actor="t")  # the file posts whole afterwards
    assert report.payments.claims_posted == 7 and _count(ledger, ClaimPayment) == 7


def test_a_held_job_waits_for_release_and_a_read_in_between_does_not_wait_for_it() -> None:
    writes = WriteBehind(behind=True)
    seen: list[str] = []
    writes.submit(lambda: seen.append("first"))
    writes.stage(lambda: seen.append("held"))
    writes.settle_running()  # the first is done, the held one not started
    assert seen == ["first"]
    writes.release()
    writes.settle()
    assert seen == ["first", "held"]
    writes.stage(lambda: seen.append("dropped"))
    writes.close(failing=True)  # a failing caller rolls back: a held job never starts
    assert seen == ["first", "held"]


def _outcome(ledger: object, prefix: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The claims whose ids start with ``prefix``, and their events after ingest, with the prefix taken out."""
    from ledger.models import Claim, ClaimEvent

    def plain(row: object) -> tuple[object, ...]:
        return tuple(v.replace(prefix, "") if isinstance(v, str) else v for v in row)  # type: ignore[attr-defined]

    with ledger.session() as session:  # type: ignore[attr-defined]
        claims = session.execute(select(Claim.claim_id, Claim.status, Claim.payer_claim_number, Claim.paid,
                                        Claim.denied).where(Claim.claim_id.startswith(prefix))
                                 .order_by(Claim.claim_id)).all()
        events = session.execute(select(Claim.claim_id, ClaimEvent.event, ClaimEvent.from_status, ClaimEvent.to_status)
                                 .join(Claim, Claim.id == ClaimEvent.claim_pk)
                                 .where(ClaimEvent.event != "ingested", Claim.claim_id.startswith(prefix))
                                 .order_by(ClaimEvent.id)).all()
    # each claim's events in the order written (a chunk writes its moves grouped, so claims interleave
    # differently with other chunk sizes)
    return [plain(row) for row in claims], sorted((plain(row) for row in events), key=lambda event: str(event[0]))


@pytest.mark.parametrize("apart", [False, True], ids=["in-line", "apart"])
@pytest.mark.parametrize("chunk_size", [1, 2, 3])
def test_a_claim_paid_again_in_the_next_chunk_moves_from_where_the_last_chunk_left_it(
        ledger_url: str, tmp_path: Path, chunk_size: int, apart: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next chunk's claims are looked up before the last chunk's rows are written (PostgreSQL), and
    ``apart`` on a connection that sees none of this file's rows: a claim paid again — in the next
    chunk or chunks later — moves from the status the CLP before gave it, as when the file is one chunk."""
    from edi.x835 import read_remittance_file
    from ledger import postings

    connections: list[object] = []
    real_lookup_connection = postings.lookup_connection

    def counted(session):  # type: ignore[no-untyped-def]
        connection = real_lookup_connection(session)
        connections.append(connection)
        return connection

    monkeypatch.setattr(postings, "lookup_connection", counted)

    def clps(prefix: str) -> tuple[list, list]:  # type: ignore[type-arg]
        claims = [make_claim(f"{prefix}{k}") for k in range(3)]
        return claims, [pay(claims[0], denied_reason="29"), pay(claims[1]),
                        pay(claims[0], payer_claim_number=f"{prefix}X2"), pay(claims[2]),
                        pay(claims[1], denied_reason="29"), pay(claims[0])]

    (chunked, chunked_clps), (whole, whole_clps) = clps("Q"), clps("Z")
    ledger = ledger_with(ledger_url, chunked + whole)
    for clp_list, trace, size in ((chunked_clps, "TQ", chunk_size), (whole_clps, "TZ", 2000)):
        path = write_835(tmp_path, f"{trace}.835", [remit(clp_list, trace)])
        with ledger.session() as session:
            post_remittance_parts(session, read_remittance_file(path, drafts=True), transmission_id=None, actor="t",
                                  report=PaymentReport(), chunk_size=size, lookups_apart=apart)
    assert _outcome(ledger, "Q") == _outcome(ledger, "Z")
    moves = [event[2:] for event in _outcome(ledger, "Q")[1] if event[0] == "0"]
    assert moves == [("ready", "sent"), ("sent", "denied"), ("denied", "paid"), ("paid", "paid")], moves
    # apart on PostgreSQL: a second connection, one per file; in line (or SQLite): none asked for
    postgres = ledger.engine.dialect.name == "postgresql"
    assert len([c for c in connections if c is not None]) == (2 if apart and postgres else 0)


def _post_whole(ledger: object, path: Path, **options: object) -> None:
    from edi.x835 import read_remittance_file

    with ledger.session() as session:  # type: ignore[attr-defined]
        post_remittance_parts(session, read_remittance_file(path, drafts=True), transmission_id=None, actor="t",
                              report=PaymentReport(), **options)  # type: ignore[arg-type]


def _repeats(prefix: str) -> tuple[list, list]:  # type: ignore[type-arg]
    claims = [make_claim(f"{prefix}{k}") for k in range(3)]
    return claims, [pay(claims[0], denied_reason="29"), pay(claims[1]), pay(claims[2]),
                    pay(claims[0], payer_claim_number=f"{prefix}X2"), pay(claims[1], denied_reason="29")]


def test_past_the_memory_bound_for_moved_claims_the_lookups_go_in_line(
        ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Apart, the claims a file moved are kept in memory; past ``MAX_MOVED`` the poster closes its lookup
    connection and looks up in line, and the claims still move as in one chunk."""
    from remits import payments

    (bounded, bounded_clps), (whole, whole_clps) = _repeats("B"), _repeats("W")
    ledger = ledger_with(ledger_url, bounded + whole)
    monkeypatch.setattr(payments, "MAX_MOVED", 1)
    switched: list[int] = []  # the claims kept in memory when the lookups went in line, before the end
    real = payments._Poster._look_up_in_line

    def look_up_in_line(poster):  # type: ignore[no-untyped-def]
        if poster._lookups is not None and poster.moved:
            switched.append(len(poster.moved))
        real(poster)

    monkeypatch.setattr(payments._Poster, "_look_up_in_line", look_up_in_line)
    _post_whole(ledger, write_835(tmp_path, "b.835", [remit(bounded_clps, "TB")]), chunk_size=1, lookups_apart=True)
    monkeypatch.undo()
    assert switched == ([2] if ledger.engine.dialect.name == "postgresql" else [])
    _post_whole(ledger, write_835(tmp_path, "w.835", [remit(whole_clps, "TW")]))
    assert _outcome(ledger, "B") == _outcome(ledger, "W")
    assert [event[2:] for event in _outcome(ledger, "B")[1] if event[0] == "0"] == [
        ("ready", "sent"), ("sent", "denied"), ("denied", "paid")]


def test_a_second_remittance_in_the_file_sees_what_the_first_one_moved(ledger_url: str, tmp_path: Path) -> None:
    """Two transaction sets in one file, the second paying claims the first denied: apart, the second
    one's lookups are made in line (the first one's standing denials were marked at its SE), and the
    claims end as when the two are posted as two files."""
    (together, together_clps), (separate, separate_clps) = _repeats("T"), _repeats("S")
    ledger = ledger_with(ledger_url, together + separate)
    _post_whole(ledger, write_835(tmp_path, "t.835", [remit(together_clps[:3], "TT1", control="0001"),
                                                      remit(together_clps[3:], "TT2", control="0002")]),
                chunk_size=1, lookups_apart=True)
    _post_whole(ledger, write_835(tmp_path, "s1.835", [remit(separate_clps[:3], "TS1")]), chunk_size=1)
    _post_whole(ledger, write_835(tmp_path, "s2.835", [remit(separate_clps[3:], "TS2")]), chunk_size=1)
    assert _outcome(ledger, "T") == _outcome(ledger, "S")
    from ledger.models import Claim

    with ledger.session() as session:  # type: ignore[attr-defined]
        denials = dict(session.execute(select(Claim.claim_id, Claim.denial_payment_id.is_not(None))
                                       .where(Claim.claim_id.in_(["T0", "T1", "S0", "S1"]))).all())
    assert denials == {"T0": False, "T1": True, "S0": False, "S1": True}


def test_jobs_queue_ahead_and_one_failing_skips_those_after_it() -> None:
    writes = WriteBehind(behind=True, ahead=2)
    gate = threading.Event()
    seen: list[str] = []

    def first() -> None:
        gate.wait(5)
        seen.append("first")
        raise ValueError("first failed")

    writes.submit(first)
    writes.submit(lambda: seen.append("second"))  # two outstanding: returns without waiting
    assert seen == []
    gate.set()
    with pytest.raises(ValueError, match="first failed"):
        writes.submit(lambda: seen.append("third"))  # waits for the oldest, which failed
    assert seen == ["first"]  # the second, queued behind the failure, never ran
    writes.submit(lambda: seen.append("after"))  # once raised, the next jobs run again
    writes.close()
    assert seen == ["first", "after"]
