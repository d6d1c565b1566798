"""The speed paths of 835 posting write exactly what the reference paths write (SQLite and PostgreSQL).

- The fast reader hands the poster ``ClaimPaymentDraft``s; posting from drafts must leave the same ledger
  rows, report and refusals as posting the reference reader's ``ClaimPayment``s, whatever the chunk size
  (a draft's sums against its ``record()``'s: tests/test_adjudication.py).
- SQLite gets many rows per INSERT statement: the rows must be those of one row per statement.
- Ids are reserved per chunk; a chunk matches lines as ``match_line`` does.

(The one near-twin of this file, tests/test_posting_speedpath.py, is gone; what the two held about the
process-wide state is one test in tests/test_x835_posting_engine.py.)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import remits.payments as payments
from benchmarks.post835 import seed_claims
from benchmarks.post835 import write_835 as write_benchmark_835
from domain.claim import LineOfBusiness
from domain.remittance import ClaimPayment, ServicePayment
from edi.x835 import read_remittance_file
from ledger.db import Ledger
from ledger.models import ServiceLine as ServiceLineRow
from remits.payments import PaymentReport, RemittanceRefused, match_line, post_835_file, post_remittance_parts
from tests.claim_factory import make_claim, make_line
from tests.remit_factory import ledger_with, pay, plb, remit, reverse, write_835

D = Decimal
REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "x12"
FILES = sorted(CORPUS.glob("**/*.835"))
TIMESTAMPS = {"created_at", "updated_at", "at"}
TABLES = ("remittances", "claim_payments", "service_payments", "adjustments", "provider_adjustments",
          "claim_events", "claims", "quarantine")


# --- posting: drafts and records, one row or many per statement, give the same ledger ----------------------


@pytest.fixture
def two_urls(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Two empty ledgers on the backend of ``db_url``."""
    if db_url.startswith("sqlite"):
        return db_url, f"sqlite+pysqlite:///{tmp_path / 'other.db'}"
    return db_url, request.getfixturevalue("postgres_server").create_database()


def dump(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    with ledger.engine.connect() as conn:
        for table in TABLES:
            columns = [c["name"] for c in sa.inspect(conn).get_columns(table) if c["name"] not in TIMESTAMPS]
            found[table] = [tuple(columns), *conn.exec_driver_sql(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").all()]
    return found


CLAIMS = [make_claim("C1"),
          make_claim("C2", lines=(make_line("L1", modifiers=("HJ",)),
                                  make_line("L2", procedure_code="90785", charge=D("40.00")))),
          make_claim("C3"), make_claim("C4"), make_claim("C5"),
          replace(make_claim("S1"), line_of_business=LineOfBusiness.SCO)]


def scenario_files(folder: Path) -> list[Path]:
    """Matched, modifier-dropped, REF*6R-less, denied, unmatched and SCO claims, PLBs, a reversal and its
    re-adjudication, two sets in one file, the benchmark's shape, and a file that does not balance."""
    c1, c2, c3, c4, c5, s1 = CLAIMS
    first = pay(c1)
    files = [
        write_835(folder, "a.835", [remit([
            first, pay(c2, drop_modifiers=True), pay(c3, line_ids=False),
            pay(c4, denied_reason="197", remark_codes=("N54", "M62")), replace(pay(c5), patient_control_number="CX"),
            pay(s1, copay=D("10.00"))], trace="T1", plb=(plb("WO", "PC1", D("5.00")), plb("L6", "C2", D("-1.25"))))]),
        write_835(folder, "b.835", [remit([reverse(first), pay(c1, contractual=D("20.00"))], trace="T2"),
                                    remit([pay(c5)], trace="T3", control="0002")], icn=2),
    ]
    bench = folder / "bench.835"
    write_benchmark_835(bench, 57)
    files.append(bench)
    one_cent_over = replace(pay(c3), paid=pay(c3).paid + D("0.01"))  # the claim balance breaks
    files.append(write_835(folder, "broken.835", [remit([pay(c4), one_cent_over], trace="T9")]))
    return files


def post_all(url: str, folder: Path, *, drafts: bool, chunk_size: int) -> tuple[Any, list[Any]]:
    """Seed the ledger, post the scenario files one transaction each; the ledger rows and the outcomes."""
    seed_claims(url, 57)
    ledger = ledger_with(url, CLAIMS)
    outcomes: list[Any] = []
    for path in scenario_files(folder):
        parts = read_remittance_file(path, source=path.name, drafts=drafts)
        report = PaymentReport()
        try:
            with ledger.session() as session:
                post_remittance_parts(session, parts, transmission_id=None, actor="t", report=report,
                                      chunk_size=chunk_size)
        except RemittanceRefused as refused:
            outcomes.append(("refused", refused.reasons))
        else:
            outcomes.append(("posted", report))
    rows = dump(ledger)
    ledger.dispose()
    return rows, outcomes


@pytest.mark.parametrize("chunk_size", [1, 7, 2000])
def test_posting_drafts_writes_what_posting_records_writes(two_urls: tuple[str, str], tmp_path: Path,
                                                           chunk_size: int) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    fast = post_all(two_urls[0], tmp_path / "1", drafts=True, chunk_size=chunk_size)
    reference = post_all(two_urls[1], tmp_path / "2", drafts=False, chunk_size=chunk_size)
    assert fast == reference
    rows, outcomes = fast
    assert [kind for kind, _ in outcomes] == ["posted", "posted", "posted", "refused"]
    assert "does not balance" in outcomes[-1][1][0]
    assert len(rows["claim_payments"]) - 1 == 6 + 3 + 57 and len(rows["provider_adjustments"]) - 1 == 2


def test_many_rows_per_statement_write_what_one_row_per_statement_writes(
        two_urls: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """257 claims: full statements of 100 rows and a remainder (SQLite); COPY on PostgreSQL either way."""
    found = []
    from ledger import bulk

    for url, rows_per_statement in zip(two_urls, (bulk.ROWS_PER_STATEMENT, 1), strict=True):
        monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", rows_per_statement)
        seed_claims(url, 257)
        path = tmp_path / f"b{rows_per_statement}.835"
        write_benchmark_835(path, 257)
        ledger = Ledger(url)
        report = PaymentReport()
        with ledger.session() as session:
            post_835_file(session, path, source="b.835", actor="t", report=report)
        found.append((dump(ledger), report))
        ledger.dispose()
    assert found[0] == found[1]
    assert found[0][1].claims_posted == 257 and len(found[0][0]["adjustments"]) - 1 == 257 * 6


def test_ids_are_taken_in_queueing_order_across_chunks(db_url: str, tmp_path: Path) -> None:
    """Ids reserved per chunk: every service payment and adjustment names its own claim payment."""
    seed_claims(db_url, 23)
    path = tmp_path / "b.835"
    write_benchmark_835(path, 23)
    ledger = Ledger(db_url)
    with ledger.session() as session:
        post_remittance_parts(session, read_remittance_file(path, drafts=True), transmission_id=None, actor="t",
                              report=PaymentReport(), chunk_size=5)
    with ledger.engine.connect() as conn:
        q = lambda sql: conn.exec_driver_sql(sql).all()  # noqa: E731
        assert q("SELECT count(*) FROM claim_payments cp JOIN claims c ON c.id = cp.claim_pk "
                 "WHERE c.claim_id = cp.patient_control_number") == [(23,)]
        assert q("SELECT count(*) FROM service_payments sp JOIN claim_payments cp ON cp.id = sp.claim_payment_id "
                 "JOIN service_lines sl ON sl.id = sp.service_line_id WHERE sl.claim_pk = cp.claim_pk") == [(69,)]
        assert q("SELECT count(*) FROM adjustments a JOIN service_payments sp ON sp.id = a.service_payment_id "
                 "WHERE sp.claim_payment_id = a.claim_payment_id") == [(138,)]
        ids = [r[0] for r in q("SELECT id FROM claim_payments ORDER BY id")]
        assert ids == sorted(ids) and len(set(ids)) == 23
    ledger.dispose()



def test_chunk_lines_match_as_match_line_over_the_claims_whole_lines(ledger_url: str) -> None:
    """REF*6R from the index, the whole lines only where needed, and the same answer as ``match_line``."""
    day, other_day = date(2025, 3, 3), date(2025, 3, 4)
    claims = [make_claim("M1", lines=(make_line("L1"), make_line("L2", modifiers=("HJ",)),
                                      make_line("L3", procedure_code="90785", service_date=other_day))),
              make_claim("M2", lines=(make_line("A"), make_line("B"))),  # two 90837 on one day
              make_claim("M3", lines=(make_line("X", modifiers=("HJ",)),))]
    ledger = ledger_with(ledger_url, claims)
    shapes = [("L1", "90837", (), day), ("L9", "90837", ("HJ",), day), (None, "90837", (), day),
              (None, "90785", (), other_day), (None, "90785", (), day), ("A", "90837", (), None),
              (None, "90837", (), day), ("B", "99999", (), None), (None, "90837", ("HJ",), None)]
    svcs = [ServicePayment("HC", code, mods, D(1), D(1), line_id=ref, service_date=when)
            for ref, code, mods, when in shapes]
    clp = ClaimPayment("M1", "1", D(9), D(9), None, "12", "P1", lines=tuple(svcs))
    by_ref = replace(clp, patient_control_number="M2", lines=tuple(s for s in svcs if s.line_id in ("A", "B")))
    with ledger.session() as session:
        poster = payments._Poster(session, transmission_id=None, actor="t", report=PaymentReport(), chunk_size=9,
                                  payer=payments.OUR_PAYER)
        infos = {key: chain[-1] for key, chain in poster._revisions(["M1", "M2", "M3"]).items()}
        on_ref = replace(clp, patient_control_number="M3", lines=(replace(svcs[0], line_id="X"),))
        # M3: its one SVC matches by REF*6R, so its whole lines are read only when asked for
        chunk = payments._ChunkLines(poster.writer, [(clp, infos["M1"]), (by_ref, infos["M2"]), (on_ref, infos["M3"])])
        assert set(chunk.lines) == {infos["M1"].pk}  # M2's SVCs all match by REF*6R: no whole lines read
        for claim_id in ("M1", "M2", "M3"):
            pk = infos[claim_id].pk
            whole = [payments._LineInfo(line.id, line.line_id, line.procedure_code,
                                        tuple(m for m in line.modifiers.split(":") if m), line.service_date)
                     for line in session.scalars(sa.select(ServiceLineRow).where(ServiceLineRow.claim_pk == pk))]
            for svc in svcs:
                expected = match_line(whole, svc.line_id, svc.procedure_code, svc.modifiers, svc.service_date)
                assert chunk.match(pk, svc, svc.service_date) == (expected.id if expected else None), (claim_id, svc)
        assert infos["M3"].pk in chunk.lines  # read on demand
        assert chunk.match(None, svcs[0], day) is None
        assert chunk.match(max(infos[c].pk for c in infos) + 1, svcs[0], day) is None  # not a claim of the chunk
    ledger.dispose()


def _post_23_paid_claims(db_url: str, tmp_path: Path, event: str, listener: Any) -> Ledger:
    """The benchmark's 835 for 23 seeded claims posted with ``listener`` on the engine's ``event``;
    the ledger (for the caller to read and dispose)."""
    seed_claims(db_url, 23)
    path = tmp_path / "b.835"
    write_benchmark_835(path, 23)
    ledger = Ledger(db_url)
    sa.event.listen(ledger.engine, event, listener)
    with ledger.session() as session:
        post_835_file(session, path, source="b.835", actor="t", report=PaymentReport())
    sa.event.remove(ledger.engine, event, listener)
    return ledger


def test_each_posted_claim_row_is_updated_once_with_its_status_number_and_money(db_url: str, tmp_path: Path) -> None:
    """One UPDATE moves a chunk's claims and sets their CLP07 and kept totals: on PostgreSQL a second UPDATE
    of the rows the first one wrote adds a row version, its index entries and its foreign-key checks again.
    (The kept denials are read again only for claims that got a denial or a reversal or had a standing
    denial: none of these paid claims.)"""
    rows_written: list[int] = []

    def seen(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CLAIMS"):
            rows_written.append(cursor.rowcount)

    ledger = _post_23_paid_claims(db_url, tmp_path, "after_cursor_execute", seen)
    assert sum(rows_written) == 23, rows_written  # each posted claim row written once
    from ledger.models import Claim

    with ledger.session() as session:
        kept = session.execute(sa.select(Claim.status, Claim.payer_claim_number, Claim.paid, Claim.contractual,
                                         Claim.denied, Claim.patient_share)).all()
    assert len(kept) == 23
    # each benchmark CLP: 390 paid, CO-45 40 and PR-3 10 on each of its 3 lines
    assert {tuple(row) for row in kept} == {
        ("paid", number, D("390.00"), D("120.00"), D("0.00"), D("30.00")) for number in {row[1] for row in kept}}
    assert all(row[1] and row[1].startswith("P") for row in kept)
    ledger.dispose()



def test_a_file_of_paid_claims_reads_no_standing_denial_again(db_url: str, tmp_path: Path) -> None:
    """The poster knows which claims got a denial or a reversal or had a standing denial (it read them):
    only those are marked again (``ledger.kept_denials.mark_claims``).  A file that pays claims without a
    denial leaves the kept columns alone without a statement that looks for such claims among all the
    file's postings (on PostgreSQL, an index search of every posted claim in the transaction's new rows)."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    ledger = _post_23_paid_claims(db_url, tmp_path, "before_cursor_execute", seen)
    ledger.dispose()
    assert statements
    assert not [s for s in statements if "denial_payment_id=" in s.replace(" ", "")], statements


def test_one_claim_twice_in_one_claims_update_is_refused(ledger_url: str) -> None:
    """``UPDATE … FROM`` would take one of a claim's two rows and drop the other's money."""
    from ledger.postings import update_claims

    ledger = Ledger(ledger_url)
    with ledger.session() as session, pytest.raises(ValueError, match="one row per claim"):
        update_claims(session.connection(), [(1, None, 0, 0, 0, 0), (1, None, 5, 0, 0, 0)])
    ledger.dispose()


@pytest.mark.postgres
def test_a_chunks_claims_and_lines_are_searched_by_index_on_a_ledger_nobody_analysed(pg_ledger_url: str) -> None:
    """Lines ingested just before the 835 is posted have no statistics yet: the poster's lookups of a
    chunk's claims and lines search the indexes per key instead of scanning the whole table once per
    chunk (which the planner chose for ``IN (SELECT unnest(…))`` there: 300,000 lines read for each
    chunk of 2,000 claims of ``benchmarks/post835.py``)."""
    from ledger import postings

    engine = sa.create_engine(pg_ledger_url)
    with engine.begin() as connection:  # no ANALYZE behind the test's back
        for table in ("claims", "service_lines", "parties"):
            connection.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    engine.dispose()
    seed_claims(pg_ledger_url, 3_000)
    ledger = Ledger(pg_ledger_url)
    looked_up: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        looked_up.append((statement, parameters))

    with ledger.session() as session:
        connection = session.connection()
        sa.event.listen(ledger.engine, "before_cursor_execute", seen)
        claims = list(postings.claim_revisions(connection, [f"C{i:07d}" for i in range(1_000, 1_200)]))
        pks = [row[0] for row in claims]
        assert len(list(postings.line_refs(connection, pks))) == len(list(postings.lines(connection, pks))) == 600
        postings.party_ids(connection, claims[0][8])
        sa.event.remove(ledger.engine, "before_cursor_execute", seen)
        assert len(looked_up) == 4
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        plans = {statement: "\n".join(row[0] for row in cursor.execute("EXPLAIN " + statement, parameters))
                 for statement, parameters in looked_up}
    lines = [plan for statement, plan in plans.items() if "FROM service_lines" in statement]
    assert len(lines) == 2
    assert not [plan for plan in lines if "Seq Scan" in plan], lines
    ledger.dispose()


def test_claims_update_keeps_each_payer_claim_number_and_amount_as_given(ledger_url: str) -> None:
    """PostgreSQL gets the rows as array texts: quotes, backslashes, commas, braces and the word NULL in a
    payer claim number stay what they are, None keeps the claim's own number, amounts add exactly."""
    from ledger.models import Claim
    from ledger.postings import update_claims

    seed_claims(ledger_url, 4)
    numbers = ['P"1\\2,{3}', "NULL", None, "p 4"]
    ledger = Ledger(ledger_url)
    with ledger.session() as session:
        pks = session.scalars(sa.select(Claim.id).order_by(Claim.id)).all()
        session.execute(sa.update(Claim).where(Claim.id == pks[2]).values(payer_claim_number="KEPT"))
        money = payments.BulkWriter(session).written(Claim.__table__.c.paid).__getitem__
        update_claims(session.connection(), [
            (pk, number, money(D("10.05") * k), money(D("-0.01")), money(D("0")), money(D("1.10")), money(D("2")))
            for k, (pk, number) in enumerate(zip(pks, numbers, strict=True), start=1)])
    with ledger.session() as session:
        kept = session.execute(sa.select(Claim.payer_claim_number, Claim.paid, Claim.contractual, Claim.denied,
                                         Claim.patient_share, Claim.patient_responsibility).order_by(Claim.id)).all()
    ledger.dispose()
    assert [tuple(row) for row in kept] == [
        ('P"1\\2,{3}', D("10.05"), D("-0.01"), D("0.00"), D("1.10"), D("2.00")),
        ("NULL", D("20.10"), D("-0.01"), D("0.00"), D("1.10"), D("2.00")),
        ("KEPT", D("30.15"), D("-0.01"), D("0.00"), D("1.10"), D("2.00")),
        ("p 4", D("40.20"), D("-0.01"), D("0.00"), D("1.10"), D("2.00"))]


def test_copy_text_is_what_the_database_reads_back(ledger_url: str) -> None:
    """On PostgreSQL posting sends amounts, dates and timestamps as COPY text made once per distinct value
    (``BulkWriter.sent``): each reads back as the value itself; elsewhere ``sent`` is ``written``."""
    from datetime import UTC, datetime

    from ledger import bulk
    from ledger.models import ClaimPayment as ClaimPaymentRow
    from ledger.models import ServicePayment as ServicePaymentRow

    ledger = Ledger(ledger_url)
    with ledger.session() as session:
        writer = bulk.BulkWriter(session)
        money = writer.sent(ClaimPaymentRow.__table__.c.paid)
        when = writer.sent(ServicePaymentRow.__table__.c.service_date)
        stamp = writer.sent(ClaimPaymentRow.__table__.c.created_at)
        now = datetime(2026, 12, 7, 14, 5, 6, 789, tzinfo=UTC)
        if ledger.engine.dialect.name == "postgresql":
            assert (money[D("100")], money[D("-0.5")], money[D("1E+3")], money[None]) == ("100.00", "-0.50", "1000.00", None)
            assert when[date(2026, 1, 2)] == "2026-01-02"
            read = session.connection().exec_driver_sql(
                "SELECT %s::numeric(12,2), %s::numeric(12,2), %s::date, %s::timestamptz",
                (money[D("1E+3")], money[D("12.3")], when[date(2026, 1, 2)], stamp[now])).one()
            assert tuple(read) == (D("1000.00"), D("12.30"), date(2026, 1, 2), now)
            with pytest.raises(sa.exc.StatementError):
                money[D("1.005")]  # noqa: B018 - the column's own refusal comes first
            with pytest.raises(TypeError, match="no COPY text"):
                bulk._copy_text(D("NaN"))
        else:
            assert writer.sent(ClaimPaymentRow.__table__.c.paid) is writer.written(ClaimPaymentRow.__table__.c.paid)


def test_copy_text_made_before_the_copy_is_what_the_driver_would_send(pg_url: str) -> None:
    """``copy_data`` formats rows with the driver's own formatter ahead of the COPY (posting makes them on
    the reading thread): text with the characters COPY escapes, NULLs, amounts and dates read back as the
    rows sent one by one through ``insert_rows`` do."""
    from ledger import bulk

    rows = [(1, "tab\there", "back\\slash", None, "12.30", "2026-01-02"),
            (2, "new\nline\r", "ünïcode ✓", "\\N", "-0.50", None)]
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TEMP TABLE copied (k int, a text, b text, c text, m numeric(12,2), "
                                       "d date)")
            data = bulk.copy_data(connection, rows)
            assert data is not None and data.count(b"\n") == len(rows)
            bulk.insert_copy_data(connection, "copied", ("k", "a", "b", "c", "m", "d"), data)
            bulk.insert_rows(connection, "copied", ("k", "a", "b", "c", "m", "d"), [(k + 10, *rest) for k, *rest in rows])
            read = connection.exec_driver_sql("SELECT k, a, b, c, m, d FROM copied ORDER BY k").all()
    finally:
        engine.dispose()
    made_before, sent_by_row = [tuple(row)[1:] for row in read[:2]], [tuple(row)[1:] for row in read[2:]]
    assert made_before == sent_by_row
    assert made_before[0] == ("tab\there", "back\\slash", None, D("12.30"), date(2026, 1, 2))
    assert made_before[1][:3] == ("new\nline\r", "ünïcode ✓", "\\N")
