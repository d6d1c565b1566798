"""835 posting on the engine: what the ledger gets, what it refuses, and memory on a large file.

(Restored from the tests of the deleted fast path: these hold behaviour, not twins.)
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

import remits.payments as payments
from benchmarks.post835 import seed_claims, write_835
from edi.tokenizer import NOTE_BOM, NOTE_PADDING
from edi.x12 import X12ParseError
from ledger.db import Ledger
from remits.inbound import post_files
from remits.payments import PaymentReport, post_835_text

REPO = Path(__file__).resolve().parent.parent


def test_posting_changes_nothing_process_wide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a file posts, and after it posts or is refused: the collector stays on, no sqlite3 adapter is
    registered, the connection keeps SQLite's default cache; absent optional values are written NULL.

    (Merged from the speed-path and engine test files, which each held half of it.)
    """
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    seed_claims(url, 20)
    path = tmp_path / "b.835"
    write_835(path, 20)
    bad = tmp_path / "bad.835"
    write_835(bad, 3, trace="BAD")
    bad.write_text(bad.read_text().replace("SVC*HC:90837*180*130", "SVC*HC:90837*180*131", 1))
    adapters = dict(sqlite3.adapters)
    seen: list[bool] = []
    write = payments._Poster._write

    def spy(poster: Any) -> None:
        seen.append(dict(sqlite3.adapters) == adapters and gc.isenabled())
        write(poster)

    monkeypatch.setattr(payments._Poster, "_write", spy)
    ledger = Ledger(url)
    assert gc.isenabled()
    report = post_files(ledger, [path], actor="t")
    assert report.payments.claims_posted == 20
    assert seen and all(seen) and gc.isenabled() and dict(sqlite3.adapters) == adapters
    report = post_files(ledger, [bad], actor="t")
    assert report.failed and gc.isenabled() and dict(sqlite3.adapters) == adapters
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
        assert conn.exec_driver_sql("SELECT count(*), count(reverses_id), count(remark_codes) "
                                    "FROM claim_payments").all() == [(20, 0, 0)]
        assert conn.exec_driver_sql("SELECT count(*), count(quantity) FROM adjustments").all() == [(120, 0)]
    ledger.dispose()


def test_a_fraction_of_a_cent_is_refused(db_url: str, tmp_path: Path) -> None:
    """Balanced, but in tenths of a cent: the reader refuses it (no ledger column keeps it), nothing is written."""
    seed_claims(db_url, 2)
    path = tmp_path / "b.835"
    write_835(path, 2)
    text = path.read_text().replace("C0000000*1*540*390", "C0000000*1*540.005*390.005")
    text = text.replace("C0000001*1*540*390", "C0000001*1*539.995*389.995")
    ledger = Ledger(db_url)
    with pytest.raises(X12ParseError, match=r"segment \d+: CLP03 is beyond what the ledger stores \(whole cents"), \
            ledger.session() as session:
        post_835_text(session, text, actor="t", report=PaymentReport())
    with ledger.session() as session:
        assert session.execute(sa.text("SELECT count(*) FROM claim_payments")).scalar() == 0
    ledger.dispose()


def test_posted_rows_match_the_file(db_url: str, tmp_path: Path) -> None:
    """Every CLP, SVC and CAS of the benchmark file lands with its amounts, ids and events."""
    seed_claims(db_url, 30)
    path = tmp_path / "b.835"
    write_835(path, 30)
    ledger = Ledger(db_url)
    report = post_files(ledger, [path], actor="t")
    assert report.payments.claims_posted == 30 and not report.payments.unmatched_lines
    with ledger.session() as session:
        def rows(sql: str) -> list[tuple[object, ...]]:
            return [tuple(row) for row in session.execute(sa.text(sql)).all()]

        assert rows("SELECT count(*) FROM claim_payments") == [(30,)]
        assert rows("SELECT count(*), count(service_line_id) FROM service_payments") == [(90, 90)]
        assert rows("SELECT count(*), count(service_payment_id) FROM adjustments") == [(180, 180)]
        assert rows("SELECT event, from_status, to_status, count(*) FROM claim_events GROUP BY 1, 2, 3") == [
            ("remit_posted", "accepted", "paid", 30)]
        assert rows("SELECT DISTINCT status FROM claims") == [("paid",)]
        paid = session.execute(sa.text("SELECT sum(paid) FROM claim_payments")).scalar()
        assert Decimal(str(paid)) in (Decimal(30 * 390), Decimal(30 * 390 * 100))  # NUMERIC or cents
        assert rows("SELECT count(*) FROM service_payments sp JOIN service_lines sl ON sl.id = sp.service_line_id "
                    "WHERE sl.line_id <> sp.line_ref") == [(0,)]
    ledger.dispose()


MEMORY_PROBE = """
import json, sys
from edi.x835 import read_remittance_file
claims = 0
for part in read_remittance_file(sys.argv[1], drafts=True):
    claims += type(part).__name__ in ("ClaimPayment", "ClaimPaymentDraft")
# VmHWM is this process image's own peak; ru_maxrss would also count the parent's pages at fork
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"claims": claims, "peak_mb": hwm / 1024}))
"""


def write_large_835(path: Path, size: int) -> int:
    """An 835 of about ``size`` bytes (claims carry a long REF, so there are fewer to build); its claim count."""
    write_835(path, 1)
    head, tail = path.read_text().split("CLP*", 1)
    claim = "CLP*" + tail.split("SE*", 1)[0]
    padded = claim.replace("NM1*QC", "REF*EA*" + "X" * 2000 + "~\nNM1*QC")
    copies = size // len(padded)
    bpr = f"BPR*I*{copies * 390}*C*CHK"
    with path.open("w") as out:
        out.write(head.replace("BPR*I*390*C*CHK", bpr))
        for _ in range(copies):
            out.write(padded)
        trailer_count = head.count("~") - 2 + copies * padded.count("~") + 1
        out.write(f"SE*{trailer_count}*0001~\nGE*1*1~\nIEA*1*000000001~\n")
    return copies


@pytest.mark.slow
def test_a_50_mb_835_is_read_through_the_engine_in_bounded_memory(tmp_path: Path) -> None:
    """Peak RSS of the reading process stays far below the file's size (the engine streams blocks)."""
    path = tmp_path / "big.835"
    copies = write_large_835(path, 50_000_000)
    assert path.stat().st_size > 45_000_000
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["claims"] == copies
    assert figures["peak_mb"] < 150, figures


POSTING_PROBE = """
import json, sys
from pathlib import Path
from edi.tokenizer import NOTE_BOM, NOTE_PADDING
from ledger.db import Ledger
from remits.inbound import post_files
ledger = Ledger(sys.argv[1])
report = post_files(ledger, [Path(sys.argv[2])], actor="t")
ledger.dispose()
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"claims": report.payments.claims_posted, "failed": report.failed, "peak_mb": hwm / 1024}))
"""


@pytest.mark.slow
def test_a_50_mb_835_posts_on_sqlite_in_bounded_memory(tmp_path: Path) -> None:
    """The poster consumes the engine's stream: peak RSS of the posting process far below the file's size."""
    claims = 20_000
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    seed_claims(url, claims)
    plain, path = tmp_path / "plain.835", tmp_path / "big.835"
    write_835(plain, claims)
    padding = "REF*EA*" + "X" * 2400 + "~\n"
    added = 0
    with plain.open() as source, path.open("w") as out:
        for line in source:
            if line.startswith("NM1*QC"):
                out.write(padding)
                added += 1
            elif line.startswith("SE*"):
                count, control = line[3:].rstrip("~\n").split("*")
                line = f"SE*{int(count) + added}*{control}~\n"
            out.write(line)
    plain.unlink()
    assert path.stat().st_size > 45_000_000
    result = subprocess.run([sys.executable, "-c", POSTING_PROBE, url, str(path)], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["failed"] == [] and figures["claims"] == claims, figures
    assert figures["peak_mb"] < 150, figures


def test_an_835_with_a_bom_and_padding_is_posted_and_the_notes_are_logged(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.db'}"
    seed_claims(url, 3)
    path = tmp_path / "bom.835"
    write_835(path, 3)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes() + b"\x1a")
    ledger = Ledger(url)
    with capture_logs() as logs:
        report = post_files(ledger, [path], actor="t")
    ledger.dispose()
    assert report.failed == [] and report.payments.claims_posted == 3
    assert [entry["note"] for entry in logs if entry["event"] == "x12.tolerated"] == [NOTE_BOM, NOTE_PADDING]
