"""Reads on a big ledger: A/R aging, status and the streamed claim list (issue 19).

    .venv/bin/python benchmarks/ledger_scale.py --claims 20000
    .venv/bin/python benchmarks/ledger_scale.py --claims 1000000 --postgres

Bulk-loads N claims (3 service lines each; most adjudicated: one CLP each with its CAS, one
remittance per thousand CLPs) straight through the driver (``executemany`` on SQLite, ``COPY``
on PostgreSQL): loading is not what is timed.  Then fills each claim's kept money and standing
denial with migrations 0011's and 0014's backfills (``ledger.totals.add_posted_totals``,
``ledger.kept_denials.mark_all``; timed and printed, not a target) and refreshes the planner's
statistics.  Then times, each in a fresh child process:
``report ar-aging`` (``clerk.reports.ar_aging``), ``status`` (``clerk.status.read_status``: the money by
status beside the worklist counts and deadlines; then the same reads one after another, each part timed) and
``claims --json`` (``ledger.money.claim_list_rows`` written as JSON
Lines to /dev/null: rows per second and the child's peak RSS).

Targets at 1,000,000 claims: ar-aging <= 2 s and status <= 1 s on both databases; claims --json
>= 50,000 rows/s with peak RSS <= 200 MB.  Exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TODAY = date(2026, 11, 23)
TARGET_AGING_S = 2.0
TARGET_STATUS_S = 1.0
TARGET_ROWS_PER_S = 50_000
TARGET_RSS_MB = 200
LINES = 3
CHUNK = 50_000
STATUS_MIX = (  # per 100 claims
    ("ready", 8), ("held", 2), ("batched", 1), ("sent", 4), ("accepted", 8), ("rejected", 1), ("paid", 50),
    ("partially_paid", 15), ("denied", 7), ("replaced", 3), ("voided", 1),
)
LOBS = ("commercial", "medicaid", "medicare_advantage", "sco", "one_care")
STAMP = "2026-11-01 12:00:00.000000"
STATUS_OF = [name for name, share in STATUS_MIX for _ in range(share)]


def _claim_status(i: int) -> str:
    return STATUS_OF[(i * 37) % 100]


def _claims(n: int, billing: int) -> Iterator[tuple[Any, ...]]:
    for i in range(1, n + 1):
        served = TODAY - timedelta(days=(i * 7) % 400)
        yield (i, f"C{i:08d}", 1, "1", _claim_status(i), LOBS[i % len(LOBS)], "87726", "OPTUM", "18",
               "independent", "F331", 54000, served.isoformat(), billing, billing, "x" * 64, STAMP, STAMP)


def _lines(n: int) -> Iterator[tuple[Any, ...]]:
    for i in range(1, n + 1):
        served = (TODAY - timedelta(days=(i * 7) % 400)).isoformat()
        for k in range(1, LINES + 1):
            yield ((i - 1) * LINES + k, i, k, f"L{k}", served, "90837", "", "1", 18000, "11", "1")


def _postings(n: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(remittances, claim payments, adjustments) for every adjudicated or replaced claim; money in cents."""
    payments: list[tuple[Any, ...]] = []
    adjustments: list[tuple[Any, ...]] = []
    for i in range(1, n + 1):
        status = _claim_status(i)
        if status not in ("paid", "partially_paid", "denied", "replaced"):
            continue
        pid = len(payments) + 1
        remit = (pid - 1) // 1000 + 1
        if status == "denied":
            paid, cas, code, outcome = 0, [("CO", "197", 54000)], "4", "denied"
        elif status == "partially_paid":
            paid, cas, code, outcome = 22000, [("CO", "45", 12000), ("PR", "3", 2000), ("CO", "197", 18000)], "1", status
        else:
            paid, cas, code, outcome = 39000, [("CO", "45", 12000), ("PR", "3", 3000)], "1", "paid"
        payments.append((pid, remit, i, f"C{i:08d}", code, 54000, paid, 0, f"P{i:09d}", STAMP, outcome))
        for group, reason, amount in cas:
            adjustments.append((len(adjustments) + 1, pid, group, reason, amount))
    remits = []
    for r in range(1, (len(payments) + 999) // 1000 + 1):
        total = sum(p[6] for p in payments[(r - 1) * 1000 : r * 1000])
        paid_on = (TODAY - timedelta(days=r % 200)).isoformat()
        remits.append((r, "87726", "OPTUM BH", f"TRN{r:07d}", total, "ACH", paid_on, f"{r:064d}", STAMP))
    return remits, payments, adjustments


TABLES = {
    "parties": "id, role, fingerprint, npi, entity_type, last_or_org",
    "claims": ("id, claim_id, revision, frequency, status, line_of_business, payer_id, payer_name, relationship, "
               "rendering_license, diagnoses, billed, first_service_date, billing_id, subscriber_id, content_hash, "
               "created_at, updated_at"),
    "service_lines": ("id, claim_pk, position, line_id, service_date, procedure_code, modifiers, units, charge, "
                      "place_of_service, diagnosis_pointers"),
    "remittances": ("id, payer_id, payer_name, trace_number, total_paid, payment_method, payment_date, "
                    "content_sha256, created_at"),
    "claim_payments": ("id, remittance_id, claim_pk, patient_control_number, status_code, charge, paid, "
                       "patient_responsibility, payer_claim_number, created_at, outcome"),
    "adjustments": "id, claim_payment_id, group_code, reason_code, amount",
}
MONEY = {"claims": (11,), "service_lines": (8,), "remittances": (4,), "claim_payments": (5, 6, 7), "adjustments": (4,)}


def _chunks(rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _table_rows(n: int) -> list[tuple[str, Any]]:
    remits, payments, adjustments = _postings(n)
    return [
        ("parties", [(1, "provider", "b" * 64, "1234567893", "2", "RIVERBEND")]),
        ("claims", _claims(n, 1)),
        ("service_lines", _lines(n)),
        ("remittances", remits),
        ("claim_payments", payments),
        ("adjustments", adjustments),
    ]


def load_sqlite(path: Path, n: int) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")
    for table, rows in _table_rows(n):
        columns = TABLES[table]
        marks = ", ".join("?" for _ in columns.split(","))
        for batch in _chunks(rows):
            connection.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


def load_postgres(url: str, n: int) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        for table, rows in _table_rows(n):
            cents = MONEY.get(table, ())
            with cursor.copy(f"COPY {table} ({TABLES[table]}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(Decimal(v) / 100 if k in cents else v for k, v in enumerate(row)))
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.commit()
        cursor.execute("ANALYZE")


def fill_claim_totals(url: str) -> None:
    """The kept claim totals (``ledger.totals``) and standing denials (``ledger.kept_denials``) filled
    from the loaded postings the way migrations 0011 and 0014 fill an existing ledger, then the
    planner's statistics (and PostgreSQL's visibility map, which autovacuum would bring up to date on
    a live ledger) refreshed."""
    from ledger.db import Ledger
    from ledger.kept_denials import mark_all
    from ledger.totals import add_posted_totals

    ledger = Ledger(url)
    try:
        with ledger.session() as session:
            add_posted_totals(session)
            mark_all(session)
        if url.startswith("sqlite"):
            # in a transaction that commits: the ledger's SQLite connections begin one themselves,
            # and one left open is rolled back, statistics and all
            with ledger.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        else:
            with ledger.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    finally:
        ledger.dispose()


def _load() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


# --- what is timed (each in a child process) ---------------------------------------------------


def _peak_mb() -> float:
    try:  # VmHWM: this image's own peak (ru_maxrss can include the parent's pages at fork)
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(what: str, url: str) -> None:
    from clerk.reports import ar_aging
    from clerk.status import next_deadlines, read_status
    from clerk.worklists import open_counts
    from console.output import emit_json_rows
    from ledger.db import Ledger
    from ledger.denials import denial_days
    from ledger.money import CLAIM_LIST_FIELDS, claim_list_rows
    from ledger.status import ledger_figures
    from runtime.process import configure_process
    from validators.settings import RuleSettings

    configure_process()
    ledger = Ledger(url)
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = 0
    parts: dict[str, float] = {}
    with ledger.read_session() as session:
        if what == "ar-aging":
            rows = len(ar_aging(session, TODAY))
        elif what == "status":  # what the command reads, as it reads it (two transactions at once)
            reads = read_status(ledger, TODAY, RuleSettings())
            rows = reads.figures.claims + len(reads.counts) + len(reads.deadlines)
        elif what == "status-parts":  # the same reads one after another in one transaction, each part timed
            settings = RuleSettings()
            figures = ledger_figures(session)
            parts["figures"] = time.perf_counter() - started
            days = denial_days(session)
            parts["denial days"] = time.perf_counter() - started - sum(parts.values())
            counts = open_counts(session, TODAY, settings, days=days)
            parts["worklist counts"] = time.perf_counter() - started - sum(parts.values())
            deadlines = next_deadlines(session, TODAY, settings, days=days)
            parts["deadlines"] = time.perf_counter() - started - sum(parts.values())
            rows = figures.claims + len(counts) + len(deadlines)
        else:
            with open(os.devnull, "w") as sink:
                sys.stdout = sink
                with claim_list_rows(session) as listed:  # as `claims --json` reads it
                    rows = emit_json_rows(CLAIM_LIST_FIELDS, listed)
                sys.stdout = sys.__stdout__
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    ledger.dispose()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows, "peak_mb": _peak_mb(),
                      "parts": parts}))


def timed(what: str, url: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, __file__, "--child", what, url], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{what} failed")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def run(url: str, n: int, label: str) -> list[str]:
    from ledger.db import upgrade

    upgrade(url)
    started = time.perf_counter()
    if url.startswith("sqlite"):
        load_sqlite(Path(url.split("///", 1)[1]), n)
    else:
        load_postgres(url, n)
    print(f"{label:10s} loaded {n:,} claims / {n * LINES:,} lines in {time.perf_counter() - started:.1f} s")
    started, cpu_started = time.perf_counter(), time.process_time()
    fill_claim_totals(url)
    print(f"{label:10s} claim totals and denials filled (migrations 0011's and 0014's backfills) in "
          f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu_started:.1f} CPU-s), then ANALYZE; "
          f"load {_load()}")
    aging, status, listing = timed("ar-aging", url), timed("status", url), timed("claims", url)
    parts = timed("status-parts", url)
    rate = listing["rows"] / listing["seconds"]
    print(f"{label:10s} status's reads one after another (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in parts["parts"].items())
          + f" = {parts['seconds']:.2f} (the command reads the money by status beside the rest); load {_load()}")
    print(f"{label:10s} ar-aging {aging['seconds']:.2f} s ({aging['cpu_seconds']:.2f} CPU-s; target <= "
          f"{TARGET_AGING_S}); status {status['seconds']:.2f} s ({status['cpu_seconds']:.2f} CPU-s; target <= "
          f"{TARGET_STATUS_S}); claims --json {listing['rows']:,} rows in {listing['seconds']:.1f} s "
          f"({listing['cpu_seconds']:.1f} CPU-s) = {rate:,.0f} rows/s, "
          f"{listing['rows'] / max(listing['cpu_seconds'], 1e-9):,.0f} per CPU-s "
          f"(target >= {TARGET_ROWS_PER_S:,}), peak RSS {listing['peak_mb']:.0f} MB (target <= {TARGET_RSS_MB})")
    missed = []
    if aging["seconds"] > TARGET_AGING_S:
        missed.append(f"{label} ar-aging {aging['seconds']:.2f} s")
    if status["seconds"] > TARGET_STATUS_S:
        missed.append(f"{label} status {status['seconds']:.2f} s")
    if rate < TARGET_ROWS_PER_S:
        missed.append(f"{label} claims --json {rate:,.0f} rows/s")
    if listing["peak_mb"] > TARGET_RSS_MB:
        missed.append(f"{label} claims --json peak {listing['peak_mb']:.0f} MB")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    os.environ["BHCLAIMS_TODAY"] = TODAY.isoformat()
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bhclaims-scale-") as tmp:
        missed += run(f"sqlite+pysqlite:///{Path(tmp) / 'scale.db'}", args.claims, "sqlite")
        if args.postgres:
            from tests.pg_server import PostgresServer

            server = PostgresServer()
            try:
                missed += run(server.create_database(), args.claims, "postgresql")
            finally:
                server.stop()
    print(f"targets at 1,000,000 claims (this run: {args.claims:,}):", "met" if not missed else
          "MISSED - " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
