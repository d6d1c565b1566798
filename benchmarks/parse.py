"""Time ``parse_export`` and ``iter_export`` over a generated export; check the targets.

    .venv/bin/python benchmarks/parse.py [--lines 100000] [--file existing.csv]

Targets: at least 20,000 lines/s and a peak RSS under 300 MB.  Each mode runs in a
fresh subprocess so its peak RSS (``resource.getrusage``) is its own.  Exits 1 if
a target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIN_LINES_PER_SECOND = 20_000
MAX_PEAK_RSS_MB = 300
TODAY = date(2026, 12, 1)


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(mode: str, path: Path) -> dict[str, float]:
    from parsers.errors import RowError
    from parsers.export import iter_export, parse_export

    with open(path, "rb") as fh:
        rows = sum(1 for _ in fh) - 1  # the generated export has no multi-line cells
    start, cpu_start = time.perf_counter(), time.process_time()
    if mode == "parse_export":
        result = parse_export(path, today=TODAY)
        rows, claims, errors = result.rows_read, len(result.claims), len(result.errors)
    else:
        claims = errors = 0
        for item in iter_export(path, today=TODAY):  # nothing kept: the streaming footprint
            if isinstance(item, RowError):
                errors += 1
            else:
                claims += 1
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "rows": rows,
        "claims": claims,
        "errors": errors,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--measure", choices=["parse_export", "iter_export"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure:
        print(json.dumps(_measure(args.measure, args.file)))
        return 0

    path = args.file
    if path is None:
        path = Path(f"/tmp/bhclaims-bench-{args.lines}.csv")
        if not path.exists():
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "benchmarks" / "gen_export.py"),
                    "--lines",
                    str(args.lines),
                    "--out",
                    str(path),
                ],
                check=True,
            )
    missed = False
    for mode in ("parse_export", "iter_export"):
        completed = subprocess.run(
            [sys.executable, __file__, "--measure", mode, "--file", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(completed.stdout)
        rate = figures["rows"] / figures["seconds"]
        cpu_rate = figures["rows"] / figures["cpu_seconds"]
        ok = rate >= MIN_LINES_PER_SECOND and figures["peak_rss_mb"] < MAX_PEAK_RSS_MB
        missed |= not ok
        print(
            f"{mode:13} {figures['rows']:>8} lines {figures['claims']:>7} claims {figures['errors']:>4} errors "
            f"{figures['seconds']:6.2f} s wall {rate:>8,.0f} lines/s ({cpu_rate:,.0f} lines per CPU-second) "
            f"peak RSS {figures['peak_rss_mb']:6.1f} MB {'ok' if ok else 'MISSED'} "
            f"(target >= {MIN_LINES_PER_SECOND:,} lines/s, < {MAX_PEAK_RSS_MB} MB)"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
