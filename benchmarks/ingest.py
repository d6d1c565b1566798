"""Time `ingest` end to end — parse + rule pack + ledger writes — on a fresh SQLite ledger.

    .venv/bin/python benchmarks/ingest.py [--lines 100000] [--db URL] [--workers N]

Times ``usecases.setup.ingest_export``, what ``bhclaims ingest`` runs: by default with
the worker processes it would use on this machine (``--workers 0``: all in this one).
Peak RSS is this process's and, separately, the largest worker's; CPU time likewise
(this process only waits while workers parse, check and store).

Target (issue 3): at least 20,000 lines/s on SQLite on this 2-core machine, peak
RSS under 300 MB.  Prints the figures, compares, exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import resource
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--no-rules", action="store_true", help="skip the rule pack (ledger cost only)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: as ingest decides)")
    args = parser.parse_args(argv)

    from ledger.db import Ledger, upgrade
    from usecases.ingest_workers import worker_count
    from usecases.setup import ingest_export
    from validators.engine import CheckContext, RuleSettings, check_claim

    work = Path(tempfile.mkdtemp(prefix="bhclaims-bench-ingest-"))
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

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu_before = before.ru_utime + before.ru_stime  # the export generator's
    start, cpu = time.perf_counter(), time.process_time()
    result = ingest_export(ledger, export, today=TODAY, checker=checker, actor="bench", workers=workers)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
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
          + (f", workers {worker_cpu:.1f} s)" if workers > 1 else ")"))
    print(f"  peak RSS {peak:.0f} MB" + (f", largest worker {worker_bound}{worker_peak:.0f} MB" if workers > 1 else ""))
    ok_rate = rate >= MIN_LINES_PER_SECOND
    ok_rss = peak < MAX_PEAK_RSS_MB and worker_peak < MAX_PEAK_RSS_MB
    print(f"  target >= {MIN_LINES_PER_SECOND:,} lines/s: {'met' if ok_rate else 'MISSED'}; "
          f"peak RSS < {MAX_PEAK_RSS_MB} MB: {'met' if ok_rss else 'MISSED'}")
    return 0 if ok_rate and ok_rss else 1


if __name__ == "__main__":
    sys.exit(main())
