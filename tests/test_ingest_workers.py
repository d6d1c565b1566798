"""Ingest in worker processes gives what one process gives: same ledger, same report, same errors in
the same order; a worker that fails or dies stops the ingest with an error that names the file."""

from __future__ import annotations

import csv
import heapq
import io
import os
import random
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from domain.claim import Claim as DomainClaim
from ledger.bulk import BulkWriter
from ledger.content import content_hash
from ledger.db import Ledger
from parsers.csv_export import CsvExportReader
from parsers.errors import RowError
from parsers.profiles import load_profile
from tests.claim_factory import PAY_TO_LOCKBOX, SCHOOL_CLINIC, make_claim
from usecases.ingest_workers import IngestWorkerError, worker_count
from usecases.setup import ingest_export
from validators.engine import CheckContext, RuleSettings, check_claim

REPO = Path(__file__).resolve().parent.parent
EXPORTS = REPO / "fixtures" / "exports"
TODAY = date(2026, 12, 1)
CONTEXT = CheckContext(today=TODAY, settings=RuleSettings())

sys.path.insert(0, str(REPO / "benchmarks"))
from gen_export import synthetic_claims  # noqa: E402

from parsers.writer import write_csv_export  # noqa: E402


def check(claim):  # type: ignore[no-untyped-def]
    return check_claim(claim, CONTEXT)


def write_export(claims, path: Path) -> None:  # type: ignore[no-untyped-def]
    with open(path, "w", newline="", encoding="utf-8") as out:
        write_csv_export(claims, out)


def messy_export(path: Path, lines: int = 600, seed: int = 7) -> Path:
    """A synthetic export with damage: bad cells, a duplicated line id, a row without a claim id,
    a claim whose rows are apart, rows with padded cells, claims the rules hold."""
    write_export(synthetic_claims(lines, seed), path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    column = {name: i for i, name in enumerate(header)}
    rng = random.Random(seed)
    for row in rng.sample(body, 12):
        row[column["charge"]] = "$1,200.00"
    for row in rng.sample(body, 5):
        row[column["subscriber_id"]] = ""
    for row in rng.sample(body, 8):
        row[column["procedure_code"]] = f" {row[column['procedure_code']]} "
    for row in rng.sample(body, 6):  # partial hospitalization belongs on an 837I: the claim is held
        row[column["procedure_code"]] = "H0035"
    body[40][column["line_id"]] = body[39][column["line_id"]]
    body[41][column["claim_id"]] = ""
    body.append(body.pop(3))  # claim of row 3 now ends at the last row
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])
    return path


def merged_partitions(path: Path, parts: int, profile=None):  # type: ignore[no-untyped-def]
    readers = [CsvExportReader(path, today=TODAY, profile=profile, partition=(k, parts)) for k in range(parts)]
    return [item for _tag, item in heapq.merge(*(r.tagged() for r in readers), key=lambda pair: pair[0])]


CSV_FIXTURES = sorted(p for p in (EXPORTS / "good").glob("*.csv")) + sorted((EXPORTS / "bad").glob("*.csv"))


@pytest.mark.parametrize("path", CSV_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("parts", [2, 3])
def test_partitions_merge_into_the_whole_read(path, parts):
    whole = list(CsvExportReader(path, today=TODAY))
    assert merged_partitions(path, parts) == whole


@pytest.mark.parametrize("parts", [2, 3])
def test_partitions_of_a_messy_export_merge_into_the_whole_read(tmp_path, parts):
    path = messy_export(tmp_path / "messy.csv")
    whole = list(CsvExportReader(path, today=TODAY))
    assert any(isinstance(item, RowError) for item in whole) and any(isinstance(item, DomainClaim) for item in whole)
    assert merged_partitions(path, parts) == whole


@pytest.mark.parametrize("name", ["simplepractice_style", "therapynotes_style"])
def test_partitions_with_a_profile_merge_into_the_whole_read(name):
    profile = load_profile(REPO / "fixtures" / "profiles" / f"{name}.toml")
    path = next((EXPORTS / "good").glob(f"{name}.*"))
    whole = list(CsvExportReader(path, today=TODAY, profile=profile))
    assert whole and merged_partitions(path, 2, profile) == whole


@pytest.mark.parametrize("parts", [2, 3])
def test_partitions_given_one_first_pass_merge_into_the_whole_read(tmp_path, monkeypatch, parts):
    """The workers' readers take the first pass their parent made, and make none of their own."""
    path = messy_export(tmp_path / "messy.csv")
    whole = list(CsvExportReader(path, today=TODAY))
    first_pass = CsvExportReader(path, today=TODAY, partition=(0, parts)).first_pass()

    def no_pass_of_its_own(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a partition given the first pass made one of its own")

    monkeypatch.setattr(CsvExportReader, "first_pass", no_pass_of_its_own)
    readers = [CsvExportReader(path, today=TODAY, partition=(k, parts), first_pass=first_pass) for k in range(parts)]
    assert [item for _tag, item in heapq.merge(*(r.tagged() for r in readers), key=lambda pair: pair[0])] == whole


def spread_export(path: Path, broken: bool) -> Path:
    """``messy_export`` with records over several physical lines (quoted line breaks), bytes that
    are not UTF-8 and, if ``broken``, quoting that breaks near the end: the lines a partition's
    reader is not given must not shift the lines its errors name."""
    messy_export(path)
    with open(path, newline="", encoding="utf-8") as fh:
        header, *body = list(csv.reader(fh))
    column = {name: i for i, name in enumerate(header)}
    for at in range(5, len(body) - 20, 37):  # line breaks inside quoted cells, all through the file
        body[at][column["subscriber_address1"]] += "\nBuilding 2\r\nRear"
        body[at + 3][column["payer_name"]] += "\nPLAN"
    for at in range(11, len(body) - 20, 53):
        body[at][column["subscriber_last"]] = "NOTUTF8"
    text = io.StringIO(newline="")
    csv.writer(text).writerows([header, *body])
    data = text.getvalue().encode("utf-8").replace(b"NOTUTF8", b"Caf\xe9")
    if broken:  # a quote closed before the cell ends, eight rows before the end
        data = data.replace(b"\r\n" + body[-8][0].encode() + b",", b'\r\n"' + body[-8][0].encode() + b'"x,', 1)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("broken", [False, True], ids=["whole", "broken"])
@pytest.mark.parametrize("parts", [2, 3])
def test_a_partition_reads_only_its_own_lines_and_names_the_lines_of_the_file(tmp_path, monkeypatch, parts, broken):
    """A partition's reader hands ``csv.reader`` only the physical lines of its own records (the
    first pass knows where the others' are); its errors name the lines of the whole file."""
    import parsers.csv_export as csv_export

    path = spread_export(tmp_path / "spread.csv", broken)
    whole = list(CsvExportReader(path, today=TODAY))
    errors = [item for item in whole if isinstance(item, RowError)]
    assert any("not UTF-8" in error.reason for error in errors)
    assert any(error.reason.startswith("CSV quoting is broken") for error in errors) is broken
    total = len(path.read_bytes().splitlines())  # no lone CR in this file
    first_pass = CsvExportReader(path, today=TODAY, partition=(0, parts)).first_pass()
    given: list[int] = []
    real = csv_export._Records

    def counting(text, delimiter):  # type: ignore[no-untyped-def]
        def counted(at):  # type: ignore[no-untyped-def]
            for line in text:
                given[at] += 1
                yield line
        given.append(0)
        return real(counted(len(given) - 1), delimiter)

    monkeypatch.setattr(csv_export, "_Records", counting)
    readers = [CsvExportReader(path, today=TODAY, partition=(k, parts), first_pass=first_pass) for k in range(parts)]
    merged = [item for _tag, item in heapq.merge(*(r.tagged() for r in readers), key=lambda pair: pair[0])]
    assert merged == whole
    assert [reader.rows_read for reader in readers] == [first_pass.rows] * parts
    main_passes = given[0::2]  # each reader: its main pass, then the layout sample
    assert len(main_passes) == parts
    assert all(lines < total / parts * 1.3 for lines in main_passes)
    assert sum(main_passes) <= total + parts - 1  # the header line is every reader's


def test_a_partition_examines_the_cells_of_its_own_rows_only(tmp_path, monkeypatch):
    """Another partition's row is split into cells and skipped: not searched for undecoded bytes or
    padding.  Only the header, the layout sample and the partition's own rows are examined."""
    import parsers.csv_export as csv_export
    from parsers.csv_export import partition_of
    from parsers.layout import SAMPLE_ROWS

    path = messy_export(tmp_path / "messy.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        header, *body = list(csv.reader(fh))
    at = header.index("claim_id")
    own = sum(1 for row in body if row[at].strip() and partition_of(row[at].strip(), 2) == 1)
    examined: list[int] = []
    real = csv_export._examined

    def counted(start, cells, delimiter):  # type: ignore[no-untyped-def]
        examined.append(start)
        return real(start, cells, delimiter)

    monkeypatch.setattr(csv_export, "_examined", counted)
    items = list(CsvExportReader(path, today=TODAY, partition=(1, 2)))
    assert items and 0 < own < len(body) // 2 + 50
    header_reads = 3  # the first pass, the layout sample and the main pass each read the header
    assert len(examined) == header_reads + min(SAMPLE_ROWS, len(body)) + own


def test_workers_share_one_first_pass_made_before_they_start(tmp_path, monkeypatch, sqlite_ledger_at):
    """Made once, before the workers start: its first half in this process, its second at the same time
    in one helper process (tests/test_first_pass_halves.py); the workers make none."""
    path = messy_export(tmp_path / "messy.csv")
    made = tmp_path / "first-passes"
    real = CsvExportReader.first_pass_part

    def recorded(self, start=0, stop=None):  # type: ignore[no-untyped-def]
        with open(made, "a") as out:  # appended to by whichever process makes a part
            out.write(f"{os.getpid()}:{'top' if stop else 'rest' if start else 'whole'}\n")
        return real(self, start, stop)

    monkeypatch.setattr(CsvExportReader, "first_pass_part", recorded)
    ledger = Ledger(sqlite_ledger_at(tmp_path / 'ledger.db'))
    try:
        result = ingest_export(ledger, path, today=TODAY, checker=check, actor="t", workers=2)
    finally:
        ledger.dispose()
    parts = sorted(made.read_text().split(), key=lambda part: part.endswith("rest"))
    assert result["added"] and len(parts) == 2
    assert parts[0] == f"{os.getpid()}:top" and parts[1].endswith(":rest") and not parts[1].startswith(f"{os.getpid()}:")


def test_a_partition_outside_the_parts_is_refused(tmp_path):
    with pytest.raises(ValueError, match="partition"):
        CsvExportReader(tmp_path / "x.csv", today=TODAY, partition=(2, 2))



def _dump(ledger: Ledger) -> dict[str, list[tuple]]:
    """The ledger's content without keys and timestamps (they differ between two runs), typed
    (money as Decimal) so that SQLite and PostgreSQL compare."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from ledger.models import Claim, ClaimEvent, Party, ServiceLine

    billing, subscriber = aliased(Party), aliased(Party)
    queries = {
        "claims": select(Claim.claim_id, Claim.revision, Claim.frequency, Claim.status, Claim.billed,
                         Claim.first_service_date, Claim.diagnoses, Claim.content_hash, Claim.findings,
                         Claim.source_file, Claim.source_line, billing.fingerprint, subscriber.fingerprint)
        .join(billing, billing.id == Claim.billing_id).join(subscriber, subscriber.id == Claim.subscriber_id),
        "lines": select(Claim.claim_id, ServiceLine.position, ServiceLine.line_id, ServiceLine.service_date,
                        ServiceLine.procedure_code, ServiceLine.modifiers, ServiceLine.units, ServiceLine.charge,
                        ServiceLine.place_of_service, ServiceLine.diagnosis_pointers, ServiceLine.source_line)
        .join(Claim, Claim.id == ServiceLine.claim_pk),
        "parties": select(Party.role, Party.fingerprint, Party.npi, Party.member_id, Party.last_or_org, Party.first,
                          Party.dob, Party.zip),
        "events": select(Claim.claim_id, ClaimEvent.actor, ClaimEvent.event, ClaimEvent.from_status,
                         ClaimEvent.to_status, ClaimEvent.detail).join(Claim, Claim.id == ClaimEvent.claim_pk),
    }
    with ledger.read_session() as session:
        return {name: sorted(tuple(map(repr, row)) for row in session.execute(query))
                for name, query in queries.items()}


def test_workers_store_what_one_process_stores(ledger_url, tmp_path, sqlite_ledger_at):
    path = messy_export(tmp_path / "messy.csv")
    alone = Ledger(sqlite_ledger_at(tmp_path / 'alone.db'))
    together = Ledger(ledger_url)
    try:
        expected = ingest_export(alone, path, today=TODAY, checker=check, actor="t", workers=0)
        got = ingest_export(together, path, today=TODAY, checker=check, actor="t", workers=2)
        assert got == expected
        assert expected["errors"] and expected["added"] and expected["held"]
        assert expected["rows_read"] == 600
        assert _dump(together) == _dump(alone)
        again = ingest_export(together, path, today=TODAY, checker=check, actor="t", workers=2)
        assert sorted(again["unchanged"]) == sorted(expected["added"] + expected["held"])
        assert not again["added"] and not again["updated"]
    finally:
        alone.dispose()
        together.dispose()


def test_workers_update_a_changed_claim_not_yet_sent(tmp_path, sqlite_ledger_at):
    path = tmp_path / "export.csv"
    claims = synthetic_claims(60, 3)
    write_export(claims, path)
    ledger = Ledger(sqlite_ledger_at(tmp_path / 'l.db'))
    try:
        ingest_export(ledger, path, today=TODAY, checker=check, actor="t", workers=2)
        changed = replace(claims[5], prior_auth="PA99887766")
        write_export([*claims[:5], changed, *claims[6:]], path)
        result = ingest_export(ledger, path, today=TODAY, checker=check, actor="clerk", workers=2)
        assert result["updated"] == [changed.claim_id]
        with ledger.read_session() as session:
            events = session.execute(text(
                "SELECT e.event, e.actor FROM claim_events e JOIN claims c ON c.id = e.claim_pk "
                "WHERE c.claim_id = :id ORDER BY e.id"), {"id": changed.claim_id}).all()
        assert [tuple(e) for e in events] == [("ingested", "t"), ("updated", "clerk")]
    finally:
        ledger.dispose()


class Boom(Exception):
    pass


def test_a_worker_that_fails_stops_the_ingest_naming_the_file_not_the_data(tmp_path, sqlite_ledger_at):
    path = messy_export(tmp_path / "messy.csv")
    ledger = Ledger(sqlite_ledger_at(tmp_path / 'l.db'))
    victim = next(item for item in CsvExportReader(path, today=TODAY) if isinstance(item, DomainClaim))

    def failing_check(claim):  # type: ignore[no-untyped-def]
        if claim.claim_id == victim.claim_id:
            raise Boom(f"cannot check {claim.subscriber.last} {claim.subscriber.member_id}")
        return check(claim)

    try:
        with pytest.raises(IngestWorkerError) as caught:
            ingest_export(ledger, path, today=TODAY, checker=failing_check, actor="t", workers=2)
        message = str(caught.value)
        assert str(path) in message and "Boom" in message
        assert victim.subscriber.last not in message and victim.subscriber.member_id not in message
    finally:
        ledger.dispose()


def test_a_worker_that_dies_stops_the_ingest(tmp_path, sqlite_ledger_at):
    path = messy_export(tmp_path / "messy.csv")
    ledger = Ledger(sqlite_ledger_at(tmp_path / 'l.db'))
    calls = {"n": 0}

    def dying_check(claim):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 30:  # each worker counts its own calls
            os._exit(9)
        return check(claim)

    try:
        with pytest.raises(IngestWorkerError, match="stopped without a word"):
            ingest_export(ledger, path, today=TODAY, checker=dying_check, actor="t", workers=2)
        assert calls["n"] == 0  # the checks ran in the workers, not here
    finally:
        ledger.dispose()


def test_worker_count_setting(tmp_path, monkeypatch):
    small = tmp_path / "small.csv"
    small.write_text("claim_id\n")
    assert worker_count(small, setting="0") == 0
    assert worker_count(small, setting="1") == 0
    assert worker_count(small, setting="3") == 3
    assert worker_count(small, setting="auto") == 0  # too small to be worth a fork
    with pytest.raises(ValueError, match="BHCLAIMS_INGEST_WORKERS"):
        worker_count(small, setting="many")
    monkeypatch.setenv("BHCLAIMS_INGEST_WORKERS", "2")
    assert worker_count(small) == 2


def test_workers_by_default_for_a_large_file_on_two_cpus_or_more(tmp_path, monkeypatch):
    from usecases import ingest_workers

    large = tmp_path / "large.csv"
    large.write_bytes(b"claim_id\n" + b"x" * ingest_workers.MIN_BYTES_FOR_WORKERS)
    monkeypatch.delenv("BHCLAIMS_INGEST_WORKERS", raising=False)
    assert 1 <= ingest_workers.usable_cpus() <= (os.cpu_count() or 1)
    for cpus, expected in ((1, 0), (2, 2), (8, 2)):
        monkeypatch.setattr(ingest_workers, "usable_cpus", lambda cpus=cpus: cpus)
        assert worker_count(large) == expected, cpus


def test_content_hash_keeps_the_digests_migration_0008_stored():
    """Re-ingest compares with stored digests: a change here would make every stored claim look changed
    (a new definition needs a migration that recomputes them, as 0008 did)."""
    assert content_hash(make_claim()) == "60385526062659054bd27f5daf6bf5b8b61021a6e6abe4faa6b703ba1794af9b"
    with_places = replace(make_claim(), pay_to=PAY_TO_LOCKBOX, service_facility=SCHOOL_CLINIC)
    assert content_hash(with_places) == "8a041eada7311111618fbec19763e516f2d24497a57bbefe14b41338a683c931"


def test_bulk_writer_converts_money_exactly_and_refuses_fractions_of_a_cent(ledger_url):
    from sqlalchemy.exc import StatementError

    from ledger.models import ServiceLine

    ledger = Ledger(ledger_url)
    try:
        from ledger.ingest import ingest_claims

        ingest_claims(ledger, [make_claim("BULK-1")], checker=lambda c: [], actor="t")
        with ledger.session() as session:
            pk = session.execute(text("SELECT id FROM claims WHERE claim_id = 'BULK-1'")).scalar_one()
            writer = BulkWriter(session)
            table = ServiceLine.__table__
            columns = ("id", "claim_pk", "position", "line_id", "service_date", "procedure_code", "modifiers",
                       "units", "charge", "place_of_service", "diagnosis_pointers", "source_line")
            ids = writer.allocate_ids(table, 3)
            writer.insert(table, columns, [
                (ids[0], pk, 10, "X1", date(2026, 1, 5), "90834", "", "1", Decimal("100.5"), "11", "1", None),
                (ids[1], pk, 11, "X2", date(2026, 1, 5), "90834", "", "1", Decimal("100.50"), "11", "1", None),
                (ids[2], pk, 12, "X3", date(2026, 1, 6), "90834", "", "1", Decimal("0.07"), "11", "1", None),
            ])
        with ledger.read_session() as session:
            rows = session.execute(text(
                "SELECT line_id, charge, service_date FROM service_lines WHERE line_id LIKE 'X%' ORDER BY line_id")).all()
        if ledger_url.startswith("sqlite"):
            assert [r[1] for r in rows] == [10050, 10050, 7]  # cents
        else:
            assert [Decimal(r[1]) for r in rows] == [Decimal("100.50"), Decimal("100.50"), Decimal("0.07")]
        with pytest.raises(StatementError, match="more than 2 decimal places"), ledger.session() as session:
            writer = BulkWriter(session)
            writer.insert(ServiceLine.__table__, columns, [
                (writer.allocate_ids(ServiceLine.__table__, 1)[0], pk, 13, "X4", date(2026, 1, 6), "90834", "",
                 "1", Decimal("12.345"), "11", "1", None)])
    finally:
        ledger.dispose()


def test_ingest_chunks_change_nothing_process_wide(tmp_path, monkeypatch, sqlite_ledger_at):
    """No adapter is registered and the collector stays on while a chunk is written; NULL is stored."""
    import gc
    import sqlite3

    from ledger import ingest

    ledger = Ledger(sqlite_ledger_at(tmp_path / 'ledger.db'))
    before, collecting = dict(sqlite3.adapters), gc.isenabled()
    seen: list[tuple[bool, bool]] = []
    insert_new = ingest._insert_new

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((dict(sqlite3.adapters) == before, gc.isenabled() == collecting))
        return insert_new(*args, **kwargs)

    monkeypatch.setattr(ingest, "_insert_new", spy)
    try:
        ingest.ingest_claims(ledger, [make_claim(f"NULLS-{n}") for n in range(5)], checker=lambda c: [],
                             actor="t", chunk_size=2)
        assert seen == [(True, True)] * 3
        assert dict(sqlite3.adapters) == before and gc.isenabled() == collecting
        with ledger.read_session() as session:
            assert session.execute(text("SELECT count(*), count(patient_id), count(prior_auth), "
                                        "count(replaces_id) FROM claims")).one() == (5, 0, 0, 0)
    finally:
        ledger.dispose()

def test_many_rows_per_statement_store_what_one_row_per_statement_stores(tmp_path, monkeypatch, sqlite_ledger_at):
    from ledger import bulk

    path = messy_export(tmp_path / "messy.csv")
    dumps = []
    for rows_per_statement in (bulk.ROWS_PER_STATEMENT, 7, 1):
        monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", rows_per_statement)
        ledger = Ledger(sqlite_ledger_at(tmp_path / f'l{rows_per_statement}.db'))
        try:
            result = ingest_export(ledger, path, today=TODAY, checker=check, actor="t", workers=0)
            assert result["added"] and result["held"]
            dumps.append(_dump(ledger))
        finally:
            ledger.dispose()
    assert dumps[0] == dumps[1] == dumps[2]
    assert len(dumps[0]["claims"]) > 100


def test_a_prepared_claim_says_where_it_was_read_as_its_source_does():
    from domain.claim import Source
    from ledger.prepared import prepare_claim

    for source in (Source("/exports/day.csv", 17), Source("/exports/day.xml"), None):
        claim = replace(make_claim("WHERE-1"), source=source)
        assert prepare_claim(claim, lambda c: []).where == (None if source is None else str(source))


class _Turn:
    """A write turn that another process holds for the first ``busy`` tries that would not wait."""

    def __init__(self, busy: int) -> None:
        self.busy, self.held, self.calls = busy, False, []  # type: ignore[var-annotated]

    def acquire(self, block: bool = True) -> bool:
        self.calls.append(block)
        if not block and self.busy > 0:
            self.busy -= 1
            return False
        assert not self.held
        self.held = True
        return True

    def release(self) -> None:
        assert self.held
        self.held = False


@pytest.mark.parametrize(("busy", "sizes"), [(0, [2, 2, 2, 1]), (1, [3, 2, 2]), (100, [4, 3])])
def test_a_full_chunk_waits_for_its_turn_only_at_twice_its_size(tmp_path, monkeypatch, busy, sizes, sqlite_ledger_at):
    """While the turn is taken a chunk keeps growing; at twice its size it waits for the turn; the
    claims stored are the same whatever the chunks were."""
    from ledger import ingest
    from ledger.prepared import prepare_claim

    ledger = Ledger(sqlite_ledger_at(tmp_path / 'ledger.db'))
    written: list[int] = []
    ingest_chunk = ingest._ingest_chunk

    def spy(ledger, chunk, actor, report):  # type: ignore[no-untyped-def]
        assert turn.held  # every write holds the turn
        written.append(len(chunk))
        return ingest_chunk(ledger, chunk, actor, report)

    monkeypatch.setattr(ingest, "_ingest_chunk", spy)
    turn = _Turn(busy)
    try:
        claims = [prepare_claim(make_claim(f"TURN-{n}"), lambda c: []) for n in range(7)]
        report = ingest.ingest_prepared(ledger, claims, actor="t", chunk_size=2, turn=turn)
        assert written == sizes and report.added == [c.claim_id for c in claims]
        assert not turn.held and turn.calls[-1] is True  # the last chunk waits for its turn
    finally:
        ledger.dispose()


def test_a_claim_twice_in_one_export_waits_for_the_turn_to_store_its_first_revision(tmp_path, monkeypatch, sqlite_ledger_at):
    from ledger import ingest
    from ledger.prepared import prepare_claim

    ledger = Ledger(sqlite_ledger_at(tmp_path / 'ledger.db'))
    written: list[list[str]] = []
    ingest_chunk = ingest._ingest_chunk
    monkeypatch.setattr(ingest, "_ingest_chunk", lambda ledger, chunk, actor, report: (
        written.append([c.claim_id for c in chunk]), ingest_chunk(ledger, chunk, actor, report)))
    turn = _Turn(busy=100)
    try:
        first = make_claim("TWICE-1")
        changed = replace(first, prior_auth="PA-CHANGED")
        claims = [prepare_claim(c, lambda c: []) for c in (first, changed)]
        report = ingest.ingest_prepared(ledger, claims, actor="t", chunk_size=5, turn=turn)
        assert written == [["TWICE-1"], ["TWICE-1"]] and turn.calls == [True, True]
        assert report.added == ["TWICE-1"] and report.updated == ["TWICE-1"]
    finally:
        ledger.dispose()


def test_a_workers_chunks_halve_towards_the_end_of_the_file(tmp_path):
    """Full chunks while much of the file is left; towards its end, half the claims the worker has
    still to read, never below the minimum; the first pass counted the rows the read then reads."""
    from ledger.ingest import CHUNK_SIZE
    from usecases.ingest_workers import MIN_CHUNK_SIZE, share_chunk_size

    path = messy_export(tmp_path / "messy.csv", lines=600)
    reader = CsvExportReader(path, today=TODAY, partition=(0, 2))
    assert share_chunk_size(reader, 2) == CHUNK_SIZE  # nothing counted yet
    items = reader.tagged()
    next(items)
    assert reader.rows_total == 600  # the data rows, the one without a claim id among them
    assert 0 < reader.claims_total < reader.rows_total
    reader.rows_total, reader.claims_total = 100_000, 40_000  # as a large export would have it
    for rows_read, expected in [(0, CHUNK_SIZE), (50_000, CHUNK_SIZE), (80_000, 2000), (90_000, 1000),
                                (97_000, MIN_CHUNK_SIZE), (100_000, MIN_CHUNK_SIZE)]:
        reader.rows_read = rows_read
        assert share_chunk_size(reader, 2) == expected, rows_read
    reader = CsvExportReader(path, today=TODAY, partition=(1, 2))
    for _ in reader.tagged():
        pass
    assert reader.rows_read == reader.rows_total
