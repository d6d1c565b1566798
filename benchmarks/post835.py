"""Posting benchmark: one 835 with N CLPs (3 SVCs each) into a ledger holding the N claims.

    .venv/bin/python benchmarks/post835.py                # N=100000 on SQLite
    .venv/bin/python benchmarks/post835.py --n 20000 --postgres

Targets: >= 10,000 CLP/s on SQLite, PostgreSQL >= 1.0x SQLite's CLP/s, and peak RSS < 400 MB for the
posting process (measured in a child process that only posts: VmHWM, else ``resource.getrusage``; its CPU
time is printed too, for a shared machine).  With ``--postgres`` the 835 is posted ``--rounds`` times on
each database, alternately, into fresh copies of the seeded ledgers, and the ratio is judged on the
median of the rounds' ratios (each printed): this machine's speed drifts within minutes.  Exits 1 when missed.
``--keep DIR`` leaves the SQLite ledger, a copy of it before posting and the 835 in DIR, to time or
profile the child again without the setup:

    cp DIR/bench-sqlite-seeded.db DIR/bench.db
    .venv/bin/python -m cProfile -s tottime benchmarks/post835.py --child sqlite+pysqlite:///DIR/bench.db \
        DIR/bench-sqlite.835

The claims are bulk-inserted (not through ``ingest_claims``: that is not what is timed);
the 835 is written from a template, balanced, with REF*6R on every line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_CLP_PER_S = 10_000
TARGET_RSS_MB = 400
TARGET_GIGABYTE_RSS_MB = 300
GIGABYTE = 1_000_000_000
LINES = 3
CLAIM_BYTES_UNPADDED = "CLP*C0000000*1*540*390*30*12*P000000000*11*1~\nNM1*QC*1*DOE*JANE****MI*M1~\nREF*EA*~\n" + LINES * (
    "SVC*HC:90837*180*130**1~\nDTM*472*20250303~\nCAS*CO*45*40~\nCAS*PR*3*10~\nREF*6R*L1~\n")


_LINE_COLUMNS = ("claim_pk", "position", "line_id", "service_date", "procedure_code", "modifiers", "units", "charge",
                 "place_of_service", "diagnosis_pointers")


def seed_claims(url: str, n: int) -> None:
    from sqlalchemy import insert

    from ledger.bulk import BulkWriter
    from ledger.db import Ledger, upgrade
    from ledger.models import Claim, Party, ServiceLine

    upgrade(url)
    ledger = Ledger(url)
    now = datetime.now(UTC)
    with ledger.session() as session:
        billing = session.execute(insert(Party.__table__).returning(Party.id), {
            "role": "provider", "fingerprint": "b" * 64, "npi": "1234567893", "entity_type": "2",
            "last_or_org": "RIVERBEND COUNSELING GROUP"}).scalar_one()
        subscriber = session.execute(insert(Party.__table__).returning(Party.id), {
            "role": "subscriber", "fingerprint": "s" * 64, "member_id": "M1", "last_or_org": "DOE",
            "first": "JANE"}).scalar_one()
    step = 10_000
    for start in range(0, n, step):
        with ledger.session() as session:
            rows = [{"claim_id": f"C{i:07d}", "revision": 0, "frequency": "1", "status": "accepted",
                     "line_of_business": "commercial", "payer_id": "87726", "payer_name": "OPTUM",
                     "relationship": "18", "rendering_license": "independent", "diagnoses": "F331",
                     "billed": Decimal("540.00"), "first_service_date": date(2025, 3, 3), "billing_id": billing,
                     "subscriber_id": subscriber, "content_hash": "x" * 64, "created_at": now, "updated_at": now}
                    for i in range(start, min(n, start + step))]
            ids = session.execute(insert(Claim.__table__).returning(Claim.id, sort_by_parameter_order=True),
                                  rows).scalars().all()
            # as ingest writes them (COPY on PostgreSQL): one statement, so one per-statement check (0015)
            BulkWriter(session).insert(ServiceLine.__table__, _LINE_COLUMNS, [
                (pk, k + 1, f"L{k + 1}", date(2025, 3, 3), "90837", "", "1", Decimal("180.00"), "11", "1")
                for pk in ids for k in range(LINES)])
    ledger.dispose()


def write_835(path: Path, n: int, trace: str = "BENCH1", padding: int = 0, first: int = 0) -> None:
    """ISA/GS/ST, N claims of 3 lines (180 billed, CO-45 40, PR-3 10, 130 paid each), SE/GE/IEA.

    ``padding`` > 0 gives every claim a REF*EA of that many characters (``--gigabyte``'s bulk);
    ``first``: the number of the first claim paid (several files paying different claims)."""
    isa = ("ISA*00*          *00*          *ZZ*87726          *ZZ*RIVERBEND      *260202*1200*^*00501*"
           "000000001*0*T*:~\n")
    head = ["ST*835*0001", f"BPR*I*{n * 390}*C*CHK************20260202", f"TRN*1*{trace}*1411289245",
            "N1*PR*OPTUM BEHAVIORAL HEALTH", "N3*PO BOX 30760", "N4*SALT LAKE CITY*UT*841300760", "REF*2U*87726",
            "PER*BL*EDI SUPPORT*TE*8005550100", "N1*PE*RIVERBEND COUNSELING GROUP*XX*1234567893", "LX*1"]
    with path.open("w") as out:
        out.write(isa + "GS*HP*87726*RIVERBEND*20260202*1200*1*X*005010X221A1~\n")
        out.write("~\n".join(head) + "~\n")
        count = len(head)
        for i in range(first, first + n):
            block = [f"CLP*C{i:07d}*1*540*390*30*12*P{i:09d}*11*1", "NM1*QC*1*DOE*JANE****MI*M1"]
            if padding:
                block.append("REF*EA*" + "X" * padding)
            for k in range(1, LINES + 1):
                block += ["SVC*HC:90837*180*130**1", "DTM*472*20250303", "CAS*CO*45*40", "CAS*PR*3*10",
                          f"REF*6R*L{k}"]
            out.write("~\n".join(block) + "~\n")
            count += len(block)
        out.write(f"SE*{count + 1}*0001~\nGE*1*1~\nIEA*1*000000001~\n")


def without_foreign_keys(ledger: Any) -> None:
    """Measure what foreign-key checks cost: SQLite ``foreign_keys=OFF``; PostgreSQL
    ``session_replication_role = replica`` (skips FK triggers; needs a superuser, as the bench server's)."""
    from sqlalchemy import event

    statement = "PRAGMA foreign_keys=OFF" if ledger.url.startswith("sqlite") else "SET session_replication_role = replica"

    @event.listens_for(ledger.engine, "connect")
    def _off(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if not ledger.url.startswith("sqlite"):
            dbapi_connection.commit()


def server_cpu_seconds(url: str) -> float | None:
    """CPU time (user + system) of the PostgreSQL server processes now connected to ``url``'s database,
    from /proc (the bench server runs on this machine): unlike the wall clock, it does not grow with
    what other tenants run.  None on SQLite or where /proc cannot be read."""
    if url.startswith("sqlite"):
        return None
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        pids = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    except (OSError, IndexError, ValueError):
        return None
    return total


def child(url: str, path: str, no_fk: bool = False) -> None:
    """Post one file; print the figures (and the refusal, if any) as one JSON line."""
    from ledger.db import Ledger
    from remits.inbound import post_files
    from runtime.process import configure_process

    configure_process()
    ledger = Ledger(url)
    if no_fk:
        without_foreign_keys(ledger)
    started, cpu_started = time.perf_counter(), time.process_time()
    report = post_files(ledger, [Path(path)], actor="bench")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    server_cpu = server_cpu_seconds(url)  # before the pool's connections close
    ledger.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:  # VmHWM: this image's own peak (ru_maxrss can include the parent's pages at fork)
        with open("/proc/self/status") as status:
            peak_mb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        pass
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak_mb, "posted": report.payments.posted, "server_cpu_seconds": server_cpu,
                      "claims": report.payments.claims_posted, "failed": report.failed}))


def post_in_child(url: str, path: Path, no_fk: bool = False) -> dict[str, Any]:
    result = subprocess.run([sys.executable, __file__, "--child", url, str(path)] + (["--no-fk"] if no_fk else []),
                            capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(2)
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def _load() -> str:
    with open("/proc/loadavg") as load:
        return load.read().split()[0]


def run(url: str, n: int, folder: Path, label: str, keep: bool = False, padding: int = 0,
        no_fk: bool = False) -> dict[str, float]:
    started = time.perf_counter()
    seed_claims(url, n)
    path = folder / f"bench-{label}.835"
    write_835(path, n, padding=padding)
    setup = time.perf_counter() - started
    if keep and url.startswith("sqlite"):  # an untouched copy, to profile the child again and again
        shutil.copyfile(url.removeprefix("sqlite+pysqlite:///"), folder / f"bench-{label}-seeded.db")
    figures = post(url, path, n, label + (" no FK" if no_fk else ""), no_fk=no_fk, setup=setup)
    if not keep:
        path.unlink()
    return figures


def post(url: str, path: Path, n: int, label: str, no_fk: bool = False, setup: float | None = None
         ) -> dict[str, float]:
    """Post ``path`` (paying all n seeded claims) into the ledger at ``url`` in a child; print and return
    its figures."""
    figures = post_in_child(url, path, no_fk=no_fk)
    assert figures["posted"] == 1 and figures["claims"] == n and not figures["failed"], figures
    rate = n / figures["seconds"]
    size_mb = path.stat().st_size / 1e6
    server_cpu = figures.get("server_cpu_seconds")
    server = "" if server_cpu is None else f" + server {server_cpu:.1f} s"
    prepared = "" if setup is None else f"setup {setup:.1f} s; "
    print(f"{label:16s} N={n:,} CLP ({n * LINES:,} SVC, {size_mb:.0f} MB): posted in {figures['seconds']:.1f} s "
          f"= {rate:,.0f} CLP/s (CPU {figures['cpu_seconds']:.1f} s{server}), peak RSS {figures['peak_rss_mb']:.0f} MB  "
          f"({prepared}load average {_load()})", flush=True)
    return {"rate": rate, "rss": figures["peak_rss_mb"], "cpu": figures["cpu_seconds"],
            "server_cpu": server_cpu or 0.0}


def alternated(server: Any, n: int, folder: Path, rounds: int) -> tuple[dict[str, float], dict[str, float], list[float]]:
    """The same 835 posted ``rounds`` times on each database, in turn, each time into a fresh copy of one
    seeded ledger (SQLite: a copy of the file; PostgreSQL: a database made from the seeded one), the
    order swapped every round: this shared machine's speed drifts by a third within minutes, so a
    ratio is only fair between posts made next to each other.  Returns each database's figures (median
    rate and CPU, largest peak RSS) and each round's PostgreSQL ÷ SQLite rate."""
    started = time.perf_counter()
    lite_seeded = folder / "bench-sqlite-seeded.db"
    seed_claims(f"sqlite+pysqlite:///{lite_seeded}", n)
    for suffix in ("-wal", "-shm"):
        if Path(f"{lite_seeded}{suffix}").exists():  # every connection closed: SQLite checkpointed it
            raise RuntimeError(f"{lite_seeded}{suffix} left after seeding")
    pg_seeded = server.create_database()
    seed_claims(pg_seeded, n)
    template = pg_seeded.rsplit("/", 1)[1]
    path = folder / "bench-alternated.835"
    write_835(path, n)
    print(f"seeded both ledgers and wrote the 835 in {time.perf_counter() - started:.1f} s", flush=True)
    posts: dict[str, list[dict[str, float]]] = {"sqlite": [], "postgresql": []}
    ratios = []
    for k in range(rounds):
        order = ("sqlite", "postgresql") if k % 2 == 0 else ("postgresql", "sqlite")
        for name in order:
            if name == "sqlite":
                copy = folder / "bench-round.db"
                shutil.copyfile(lite_seeded, copy)
                for suffix in ("-wal", "-shm"):
                    Path(f"{copy}{suffix}").unlink(missing_ok=True)
                posts[name].append(post(f"sqlite+pysqlite:///{copy}", path, n, f"{name} round {k + 1}"))
                copy.unlink()
            else:
                url = server.create_database(template=template)
                posts[name].append(post(url, path, n, f"{name} round {k + 1}"))
                server.drop_database(url)
        ratios.append(posts["postgresql"][-1]["rate"] / posts["sqlite"][-1]["rate"])
        print(f"round {k + 1}: PostgreSQL / SQLite CLP/s {ratios[-1]:.2f}x", flush=True)
    path.unlink()
    lite_seeded.unlink()

    def summary(figures: list[dict[str, float]]) -> dict[str, float]:
        return {"rate": statistics.median(f["rate"] for f in figures), "cpu": statistics.median(f["cpu"] for f in figures),
                "server_cpu": statistics.median(f["server_cpu"] for f in figures), "rss": max(f["rss"] for f in figures)}

    return summary(posts["sqlite"]), summary(posts["postgresql"]), ratios


def run_workers(url: str, n: int, folder: Path, workers: int, files: int) -> float:
    """``files`` 835s paying n claims between them, recorded as fetched, posted by ``workers``
    processes (``post --workers``); returns CLP/s over the wall clock of the whole post."""
    import hashlib

    from ledger.db import Ledger
    from ledger.models import Transmission
    from remits.inbound import post_pending
    from remits.parallel import post_pending_parallel

    seed_claims(url, n)
    per_file = n // files
    ledger = Ledger(url)
    with ledger.session() as session:
        for k in range(files):
            path = folder / f"workers-{workers}-{k}.835"
            write_835(path, per_file, trace=f"W{workers}T{k}", first=k * per_file)
            data = path.read_bytes()
            session.add(Transmission(direction="in", kind="835", file_name=path.name, local_path=str(path),
                                     sha256=hashlib.sha256(data).hexdigest(), size=len(data), state="fetched"))
    started = time.perf_counter()
    if workers > 1:
        report = post_pending_parallel(ledger, workers, actor="bench")
    else:
        report = post_pending(ledger, actor="bench")
    seconds = time.perf_counter() - started
    ledger.dispose()
    assert report.payments.posted == files and not report.failed, report.failed
    rate = per_file * files / seconds
    print(f"postgresql --workers {workers}: {files} files, {per_file * files:,} CLP in {seconds:.1f} s = {rate:,.0f} CLP/s")
    return rate


def gigabyte(folder: Path, n: int) -> list[str]:
    """A 1 GB 835 (N claims, each with a REF*EA pad) posted on SQLite in <= 300 MB; then one segment
    above the segment limit refused with a message that says so.  Both files are deleted."""
    padding = max(0, GIGABYTE // n - len(CLAIM_BYTES_UNPADDED))
    url = f"sqlite+pysqlite:///{folder / 'gigabyte.db'}"
    figures = run(url, n, folder, "gigabyte", padding=padding)
    missed = [f"1 GB: peak RSS {figures['rss']:.0f} MB > {TARGET_GIGABYTE_RSS_MB}"] \
        if figures["rss"] > TARGET_GIGABYTE_RSS_MB else []
    print(f"1 GB 835: peak RSS {figures['rss']:.0f} MB (target <= {TARGET_GIGABYTE_RSS_MB} MB)")
    from edi.tokenizer import max_segment_from_env

    limit = max_segment_from_env()
    long_one = folder / "one-long-segment.835"
    write_835(long_one, 1, trace="BENCH2", padding=limit + 1)
    refused = post_in_child(url, long_one)
    long_one.unlink()
    message = refused["failed"][0][1] if refused["failed"] else ""
    print(f"one {limit + 1:,}-byte segment: {'refused: ' + message if message else 'NOT refused'} "
          f"(peak RSS {refused['peak_rss_mb']:.0f} MB)")
    if "longer than the limit" not in message:
        missed.append("a segment above the limit was not refused as such")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL server")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="leave the SQLite ledger (and a seeded copy) and the 835 in DIR, to profile "
                             "the child: python -m cProfile benchmarks/post835.py --child URL FILE")
    parser.add_argument("--gigabyte", action="store_true",
                        help="also post a 1 GB 835 of --gigabyte-claims claims (peak RSS <= 300 MB) and refuse "
                             "a file with one segment above the limit")
    parser.add_argument("--gigabyte-claims", type=int, default=100_000)
    parser.add_argument("--no-fk", action="store_true",
                        help="also post with foreign-key checks off on each database (what they cost)")
    parser.add_argument("--workers", type=int, default=0, metavar="W",
                        help="with --postgres: also post --workers-files files with 1..W workers (CLP/s each)")
    parser.add_argument("--workers-files", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --postgres: post the 835 this many times on each database, alternately, into "
                             "fresh copies of the seeded ledgers; the target is judged on the median ratio")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.keep and args.postgres:
        parser.error("--keep leaves the SQLite run's files, without --postgres (whose rounds post into copies)")
    if args.child:
        child(*args.child, no_fk=args.no_fk)
        return 0
    results = {}
    missed_gigabyte: list[str] = []
    missed_pg: list[str] = []
    worker_rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bhclaims-bench-") as tmp:
        folder = Path(tmp)
        if args.keep:
            folder = args.keep.resolve()
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("bench.db", "bench.db-wal", "bench.db-shm"):
                (folder / name).unlink(missing_ok=True)
        ratios: list[float] = []
        if args.postgres:
            from tests.pg_server import PostgresServer

            server = PostgresServer()
            try:
                results["sqlite"], results["postgresql"], ratios = alternated(server, args.n, folder, args.rounds)
                if args.no_fk:
                    results["postgresql no FK"] = run(server.create_database(), args.n, folder, "postgresql",
                                                      no_fk=True)
                worker_rates = {w: run_workers(server.create_database(), args.n, folder, w, args.workers_files)
                                for w in range(1, args.workers + 1)}
            finally:
                server.stop()
        else:
            results["sqlite"] = run(f"sqlite+pysqlite:///{folder / 'bench.db'}", args.n, folder, "sqlite",
                                    keep=bool(args.keep))
        if args.postgres:
            if args.no_fk:
                results["sqlite no FK"] = run(f"sqlite+pysqlite:///{folder / 'bench-nofk.db'}", args.n, folder,
                                              "sqlite", no_fk=True)
            ratio = statistics.median(ratios)
            met = sum(r >= 1.0 for r in ratios)
            print(f"PostgreSQL / SQLite CLP/s, {len(ratios)} alternated rounds: "
                  f"{' / '.join(f'{r:.2f}' for r in ratios)}x ({met} of {len(ratios)} at or above 1.0x), median "
                  f"{ratio:.2f}x (target >= 1.0x: {'met' if ratio >= 1.0 else 'MISSED'})")
            cpu_ratio = results["sqlite"]["cpu"] and results["postgresql"]["cpu"] / results["sqlite"]["cpu"]
            pg = results["postgresql"]
            all_cpu_ratio = (pg["cpu"] + pg["server_cpu"]) / results["sqlite"]["cpu"] if results["sqlite"]["cpu"] else 0.0
            print(f"posting CPU PostgreSQL / SQLite {cpu_ratio:.2f}x; with the server's CPU {all_cpu_ratio:.2f}x "
                  "(the load-proof figure: SQLite's CPU is all of its work)")
            for name in ("sqlite", "postgresql"):
                if f"{name} no FK" in results:
                    print(f"{name}: FK checks cost {1 - results[name]['rate'] / results[name + ' no FK']['rate']:.0%} "
                          f"of the rate without them")
            if worker_rates:
                base = worker_rates[1]
                print("workers: " + ", ".join(f"{w}: {rate:,.0f} CLP/s ({rate / base:.2f}x)"
                                              for w, rate in worker_rates.items()))
            if ratio < 1.0:
                missed_pg = [f"PostgreSQL at {ratio:.2f}x SQLite's CLP/s < 1.0x"]
        if args.gigabyte:
            missed_gigabyte = gigabyte(folder, args.gigabyte_claims)
    missed = [f"{name}: {r['rate']:,.0f} CLP/s < {TARGET_CLP_PER_S:,}" for name, r in results.items()
              if name == "sqlite" and r["rate"] < TARGET_CLP_PER_S]  # PostgreSQL: judged as a ratio
    missed += missed_pg
    missed += [f"{name}: peak RSS {r['rss']:.0f} MB > {TARGET_RSS_MB}" for name, r in results.items()
               if r["rss"] > TARGET_RSS_MB]
    missed += missed_gigabyte
    print("targets: >= 10,000 CLP/s (SQLite), PostgreSQL >= 1.0x SQLite, peak RSS < 400 MB" + (", 1 GB in <= 300 MB, long segment refused"
                                                                    if args.gigabyte else "") + ":",
          "met" if not missed else "MISSED - " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
