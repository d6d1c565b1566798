"""Time `ingest` end to end — parse + rule pack + ledger writes — on a fresh SQLite ledger.

    .venv/bin/python benchmarks/ingest.py [--lines 100000] [--db URL] [--workers N] [--keep]
    .venv/bin/python benchmarks/ingest.py --postgres     # a throwaway PostgreSQL server and SQLite, in turn

Times ``usecases.setup.ingest_export``, what ``bhclaims ingest`` runs: by default with
the worker processes it would use on this machine (``--workers 0``: all in this one).
Peak RSS is this process's and, separately, the largest worker's; CPU time likewise
(this process only waits while workers parse, check and store).

Target (issue 3): at least 20,000 lines/s on SQLite on this 2-core machine, peak
RSS under 300 MB; with ``--postgres`` the same on PostgreSQL (issue 19), each database
judged on the median of ``--rounds`` alternated runs.  Prints the figures, compares,
exits 1 if a target is missed.
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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIN_LINES_PER_SECOND = 20_000
MAX_PEAK_RSS_MB = 300
TODAY = date(2026, 12, 1)
FIGURES = "FIGURES "


def cluster_cpu_seconds(url: str) -> float | None:
    """CPU time (user + system) the PostgreSQL cluster serving ``url`` has used so far: the postmaster,
    the backends that exited (reaped: its children's time) and those alive, from /proc (the bench
    server runs on this machine; the ingest workers' connections end before the figure is read).
    None on SQLite, or where the data directory or /proc cannot be read."""
    if not url.startswith("postgresql"):
        return None
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            data = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        postmaster = int((Path(data) / "postmaster.pid").read_text().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        total = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                child = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(child[1]) == postmaster:
                total += int(child[11]) + int(child[12])
        return total / ticks
    except (OSError, psycopg.Error, IndexError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--no-rules", action="store_true", help="skip the rule pack (ledger cost only)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: as ingest decides)")
    parser.add_argument("--postgres", action="store_true",
                        help="on a throwaway PostgreSQL server, then on SQLite, each in its own process, one sitting")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (export and SQLite ledger) and print its path")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --postgres: ingest this many times on each database, alternately, each time into "
                             "a new ledger; the targets are judged on each database's median rate")
    parser.add_argument("--figures", action="store_true", help=argparse.SUPPRESS)  # a last line of JSON, for on_both
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.postgres:
        return on_both(args)
    work = Path(tempfile.mkdtemp(prefix="bhclaims-bench-ingest-"))
    try:
        return run(args, work)
    finally:
        if args.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    """Generate the export in ``work``, ingest it (into a SQLite file there unless ``--db``), print the figures."""

    from benchmarks.machine_speed import reference_seconds
    from ledger.db import Ledger, upgrade
    from runtime.process import configure_process
    from usecases.ingest_workers import worker_count
    from usecases.setup import ingest_export
    from validators.engine import CheckContext, RuleSettings, check_claim

    configure_process()  # as `bhclaims ingest` runs (cli.py): the first pass is this process's
    export = work / "export.csv"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_export.py"), "--lines", str(args.lines),
                    "--out", str(export)], check=True, capture_output=True)
    url = args.db or f"sqlite+pysqlite:///{work / 'ledger.db'}"
    upgrade(url)
    ledger = Ledger(url)
    context = CheckContext(today=TODAY, settings=RuleSettings())
    workers = worker_count(export) if args.workers is None else args.workers

    def checker(claim):  # type: ignore[no-untyped-def]
        return [] if args.no_rules else check_claim(claim, context)

    reference_before = reference_seconds()  # the minute's speed: just before the run, and just after it
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu_before = before.ru_utime + before.ru_stime  # the export generator's
    server_before = cluster_cpu_seconds(url)
    start, cpu = time.perf_counter(), time.process_time()
    result = ingest_export(ledger, export, today=TODAY, checker=checker, actor="bench", workers=workers)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    server_after = cluster_cpu_seconds(url)
    reference = (reference_before + reference_seconds()) / 2
    ledger.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # RUSAGE_CHILDREN's peak is the largest of any child's, the export generator's included:
    # a worker's shows only when it is larger; otherwise it is at most the generator's.
    worker_peak = children.ru_maxrss / 1024 if workers > 1 else 0.0
    worker_bound = "" if children.ru_maxrss > before.ru_maxrss else "at most "
    worker_cpu = children.ru_utime + children.ru_stime - children_cpu_before
    stored = len(result["added"]) + len(result["held"])
    rate = args.lines / wall
    print(f"ingest {args.lines} lines ({stored} claims stored, {len(result['errors'])} row errors) "
          f"into {url.split(':')[0]}, {workers or 'no'} worker processes")
    print(f"  wall {wall:.1f} s  -> {rate:,.0f} lines/s   (cpu: this process {cpu:.1f} s"
          + (f", workers {worker_cpu:.1f} s" if workers > 1 else "")
          + ("" if server_before is None or server_after is None
             else f", PostgreSQL server {server_after - server_before:.1f} s") + ")")
    with open("/proc/loadavg") as load:
        print(f"  load average {load.read().split()[0]} (2 CPUs shared: the wall clock moves with it, CPU seconds less); "
              f"reference workload {reference:.2f} CPU-s (benchmarks/machine_speed.py: higher, a slower minute)")
    print(f"  peak RSS {peak:.0f} MB" + (f", largest worker {worker_bound}{worker_peak:.0f} MB" if workers > 1 else ""))
    ok_rate = rate >= MIN_LINES_PER_SECOND
    ok_rss = peak < MAX_PEAK_RSS_MB and worker_peak < MAX_PEAK_RSS_MB
    print(f"  target >= {MIN_LINES_PER_SECOND:,} lines/s: {'met' if ok_rate else 'MISSED'}; "
          f"peak RSS < {MAX_PEAK_RSS_MB} MB: {'met' if ok_rss else 'MISSED'}")
    if args.figures:
        server_cpu = 0.0 if server_before is None or server_after is None else server_after - server_before
        print(FIGURES + json.dumps({"rate": rate, "rss_ok": ok_rss, "reference": reference,
                                    "cpu": cpu + (worker_cpu if workers > 1 else 0.0) + server_cpu}), flush=True)
    return 0 if ok_rate and ok_rss else 1


def on_both(args: argparse.Namespace) -> int:
    """The same ingest ``--rounds`` times on each database, alternately (PostgreSQL first in odd rounds,
    SQLite first in even ones), each into a new ledger, each in its own process: this shared machine's
    speed drifts by a third within minutes, so one run of each says as much about the minute as about the
    database.  The rate targets are judged on each database's median, every run printed."""
    sys.path.insert(0, str(ROOT))
    from tests.pg_server import PostgresServer

    common = ["--lines", str(args.lines), "--figures"] + (["--no-rules"] if args.no_rules else []) + (
        ["--keep"] if args.keep else []) + (
        [] if args.workers is None else ["--workers", str(args.workers)])
    rates: dict[str, list[float]] = {"postgresql": [], "sqlite": []}
    cpus: dict[str, list[float]] = {"postgresql": [], "sqlite": []}  # CPU-s per 100,000 lines, server's included
    references: list[float] = []  # benchmarks/machine_speed.py, around each run
    rss_ok = True
    server = PostgresServer()
    try:
        for k in range(args.rounds):
            for name in ("postgresql", "sqlite") if k % 2 == 0 else ("sqlite", "postgresql"):
                url = server.create_database() if name == "postgresql" else None
                print(f"round {k + 1}, {name}:", flush=True)
                done = subprocess.run([sys.executable, __file__, *common, *(["--db", url] if url else [])],
                                      check=False, capture_output=True, text=True)
                sys.stderr.write(done.stderr)
                sys.stdout.write("".join(line for line in done.stdout.splitlines(True) if not line.startswith(FIGURES)))
                figures = [line for line in done.stdout.splitlines() if line.startswith(FIGURES)]
                if not figures:
                    print(f"  the {name} run failed (exit {done.returncode})")
                    return 1
                found = json.loads(figures[-1].removeprefix(FIGURES))
                rates[name].append(found["rate"])
                cpus[name].append(found["cpu"] * 100_000 / args.lines)
                references.append(found["reference"])
                rss_ok = rss_ok and found["rss_ok"]
                if url:
                    server.drop_database(url)
    finally:
        server.stop()
    missed = not rss_ok
    for name, runs in rates.items():
        median = statistics.median(runs)
        met = sum(rate >= MIN_LINES_PER_SECOND for rate in runs)
        missed = missed or median < MIN_LINES_PER_SECOND
        print(f"{name}: {' / '.join(f'{rate:,.0f}' for rate in runs)} lines/s over {len(runs)} alternated runs "
              f"({met} of {len(runs)} at or above {MIN_LINES_PER_SECOND:,}), median {median:,.0f} "
              f"(target: {'met' if median >= MIN_LINES_PER_SECOND else 'MISSED'})")
    print(f"CPU-s per 100,000 lines (this process, workers and, on PostgreSQL, the server; medians): PostgreSQL "
          f"{statistics.median(cpus['postgresql']):.1f}, SQLite {statistics.median(cpus['sqlite']):.1f} (the work each "
          "does: steadier than the wall clock, though a slow minute of this shared machine raises it too)")
    reference = statistics.median(references)
    print(f"reference workload (benchmarks/machine_speed.py, around each run): median {reference:.2f} CPU-s, "
          f"{min(references):.2f}-{max(references):.2f}; CPU per 100,000 lines in reference workloads (the work, "
          f"whatever the minute's speed): PostgreSQL {statistics.median(cpus['postgresql']) / reference:.1f}, "
          f"SQLite {statistics.median(cpus['sqlite']) / reference:.1f}")
    print(f"peak RSS < {MAX_PEAK_RSS_MB} MB in every run: {'met' if rss_ok else 'MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
