"""The fast 835 path reads and posts exactly what the reference reader and poster would.

``edi.x12stream.read_remittance_file`` / ``read_remittance_text`` parse well-formed 835s inline and
hand anything unusual to ``iter_remittance_parts`` (replaying the file, skipping the parts already
yielded), so every part, fingerprint and error must be the reference reader's.
"""

from __future__ import annotations

import gc
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.post835 import seed_claims, write_835
from edi.x12 import X12ParseError, detect_separators, iter_segments
from edi.x12stream import iter_remittance_parts, read_remittance_file, read_remittance_text
from ledger.db import Ledger
from remits.inbound import post_files
from remits.payments import PaymentReport, post_835_text

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "x12"
FILES = sorted(CORPUS.glob("**/*.835"))


def reference(text: str, source: str) -> tuple[list[object], str | None]:
    """Parts and error (message) of the reference reader."""
    parts: list[object] = []
    try:
        seps = detect_separators(text)
        for part in iter_remittance_parts(iter_segments(text, seps), seps, source=source):
            parts.append(part)
    except X12ParseError as exc:
        return parts, str(exc)
    return parts, None


def fast(text: str, source: str, tmp_path: Path) -> tuple[list[object], str | None]:
    path = tmp_path / "x.835"
    path.write_text(text)
    results = []
    for read in (lambda: read_remittance_file(path, source=source), lambda: read_remittance_text(text, source=source)):
        parts: list[object] = []
        error = None
        try:
            for part in read():
                parts.append(part)
        except X12ParseError as exc:
            error = str(exc)
        results.append((parts, error))
    assert results[0] == results[1]
    return results[0]


def sources(parts: list[object]) -> list[object]:
    found = []
    for part in parts:
        record = getattr(part, "remittance", part)
        found.append(record.source)
        found.extend(line.source for line in getattr(record, "lines", ()))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fast_reader_yields_the_reference_parts(path: Path, tmp_path: Path) -> None:
    text = path.read_text()
    expected = reference(text, "f.835")
    got = fast(text, "f.835", tmp_path)
    assert got == expected
    assert sources(got[0]) == sources(expected[0])


def mutations(text: str) -> list[str]:
    """One broken thing at a time: an amount, a date, a count, a missing or doubled segment, a cut."""
    seps = detect_separators(text)
    segments = ["*".join(s.elements).replace("*", seps.element) for s in iter_segments(text, seps)]
    out = []
    for i, seg in enumerate(segments):
        sid = seg.split(seps.element, 1)[0]
        if sid in ("CLP", "SVC", "CAS", "PLB", "BPR"):
            out.append(segments[:i] + [seg.replace(seps.element + "0", seps.element + "1.2.3", 1)] + segments[i + 1:])
        if sid in ("DTM", "PLB"):
            out.append(segments[:i] + [seg[:-2] + "99"] + segments[i + 1:])
        if sid in ("SE", "GE", "IEA", "ST", "CLP", "SVC", "TRN", "BPR", "N1"):
            out.append(segments[:i] + segments[i + 1:])
        if sid in ("CLP", "SVC", "CAS", "GS", "ST", "TA1", "PLB"):
            out.append(segments[:i] + [seg, seg] + segments[i + 1:])
        if sid == "CAS":
            out.append(segments[:i] + [seg + seps.element * 20 + "X"] + segments[i + 1:])
    out.append(segments[:-3])
    return [seps.segment.join(s) + seps.segment for s in out]


@pytest.mark.parametrize("path", FILES[:3], ids=lambda p: p.name)
def test_broken_files_give_the_reference_parts_and_error(path: Path, tmp_path: Path) -> None:
    for text in mutations(path.read_text()):
        assert fast(text, "f.835", tmp_path) == reference(text, "f.835")


def test_a_problem_late_in_a_long_file_replays_without_repeating_parts(tmp_path: Path) -> None:
    path = tmp_path / "big.835"
    write_835(path, 50)
    text = path.read_text().replace("CLP*C0000040*1*540*390", "CLP*C0000040*1*540*3.9.0")
    expected = reference(text, "f.835")
    assert expected[1] is not None and len(expected[0]) == 40  # header + 39 claims, then the error
    assert fast(text, "f.835", tmp_path) == expected


def test_benchmark_file_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "b.835"
    write_835(path, 300)
    text = path.read_text()
    assert fast(text, "f.835", tmp_path) == reference(text, "f.835")


def test_posting_leaves_the_collector_and_sqlite_cache_as_they_were(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    seed_claims(url, 20)
    path = tmp_path / "b.835"
    write_835(path, 20)
    ledger = Ledger(url)
    assert gc.isenabled()
    report = post_files(ledger, [path], actor="t")
    assert report.payments.claims_posted == 20 and gc.isenabled()
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
    bad = tmp_path / "bad.835"
    write_835(bad, 3, trace="BAD")
    bad.write_text(bad.read_text().replace("SVC*HC:90837*180*130", "SVC*HC:90837*180*131", 1))
    report = post_files(ledger, [bad], actor="t")
    assert report.failed and gc.isenabled()
    ledger.dispose()


def test_a_fraction_of_a_cent_is_refused_when_read(db_url: str, tmp_path: Path) -> None:
    """Balanced, but in tenths of a cent: the reader refuses it (as ``Money`` would), nothing is written."""
    seed_claims(db_url, 2)
    path = tmp_path / "b.835"
    write_835(path, 2)
    text = path.read_text().replace("C0000000*1*540*390", "C0000000*1*540.005*390.005")
    text = text.replace("C0000001*1*540*390", "C0000001*1*539.995*389.995")
    ledger = Ledger(db_url)
    with pytest.raises(X12ParseError, match="CLP03 is beyond what the ledger stores"), ledger.session() as session:
        post_835_text(session, text, actor="t", report=PaymentReport())
    with ledger.session() as session:
        assert session.execute(sa.text("SELECT count(*) FROM claim_payments")).scalar() == 0
    ledger.dispose()


def test_speed_path_rows_match_the_file(db_url: str, tmp_path: Path) -> None:
    """Every CLP, SVC and CAS of the benchmark file lands with its amounts, ids and events."""
    seed_claims(db_url, 30)
    path = tmp_path / "b.835"
    write_835(path, 30)
    ledger = Ledger(db_url)
    report = post_files(ledger, [path], actor="t")
    assert report.payments.claims_posted == 30 and not report.payments.unmatched_lines
    with ledger.session() as session:
        q = lambda sql: session.execute(sa.text(sql)).all()  # noqa: E731
        assert q("SELECT count(*) FROM claim_payments") == [(30,)]
        assert q("SELECT count(*), count(service_line_id) FROM service_payments") == [(90, 90)]
        assert q("SELECT count(*), count(service_payment_id) FROM adjustments") == [(180, 180)]
        assert q("SELECT event, from_status, to_status, count(*) FROM claim_events GROUP BY 1, 2, 3") == [
            ("remit_posted", "accepted", "paid", 30)]
        assert q("SELECT DISTINCT status FROM claims") == [("paid",)]
        paid = session.execute(sa.select(sa.func.sum(sa.column("paid"))).select_from(sa.table("claim_payments")))
        assert Decimal(paid.scalar()) in (Decimal(30 * 390), Decimal(30 * 390 * 100))  # NUMERIC or cents
        mismatched = q("SELECT count(*) FROM service_payments sp JOIN service_lines sl ON sl.id = sp.service_line_id "
                       "WHERE sl.line_id <> sp.line_ref")
        assert mismatched == [(0,)]
    ledger.dispose()
