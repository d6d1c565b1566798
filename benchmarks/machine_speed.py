"""How fast this shared machine runs Python this minute: the CPU time of a fixed workload.

The benchmarks' rates move with the machine: on this 2-CPU VM the same ingest has taken 7.7 CPU-s per
100,000 lines at stop 31 and 20 at stop 32, with no change of code.  ``reference_seconds`` runs the same
instructions every time — an export-like line split into its cells, memo look-ups, amounts and dates
parsed and written, a digest, as ingest does per row — and returns their CPU time, so that a run's
figures can be read against the minute they were taken in (higher: a slower minute), and runs of
different days compared by their work in reference units.  It samples the minute, not the run: within one
sitting of stop 32 it read 0.25-0.53 s while the ingests' CPU per line moved less, so a run's work in
reference units is a coarse figure (``ingest.py`` averages the workload just before and just after each run).
"""

from __future__ import annotations

import hashlib
import time
from datetime import date
from decimal import Decimal

LINE = ("B-00000001,1,,commercial,87726,OPTUM BEHAVIORAL HEALTH,M325739463,Whitcombe,Siobhan,1982-11-07,F,"
        "259 Lantern Way,Salem,MA,01970,self,,,,,1647123581,HARBOR LIGHT BEHAVIORAL HEALTH,043187265,261QM0801X,"
        "212 Harbor Street Suite 3,Salem,MA,019703412,1000000129,Marchetti,Colin,1041C0700X,independent,,,,,F900,"
        ",,,,,,,,,,,,,,,,,,,,,,L1,2026-09-23,90853,,,,,1,65.00,11,1")
ROWS = 40_000


def reference_seconds(rows: int = ROWS) -> float:
    """CPU seconds (this process) of the fixed workload: about 0.3 s in a normal minute of this VM."""
    memo: dict[str, str] = {}
    start = time.process_time()
    digest = hashlib.sha256()
    for number in range(rows):
        cells = LINE.split(",")
        cells[0] = f"B-{number:08d}"
        for cell in cells[:30]:
            if memo.get(cell) is None:
                memo[cell] = cell.strip()
        charge = format(Decimal(cells[-3]) * 2, "f")
        served = date.fromisoformat(cells[-10]).isoformat()
        digest.update(f"{cells[0]}|{charge}|{served}".encode())
    return time.process_time() - start


if __name__ == "__main__":
    print(f"reference workload: {reference_seconds():.3f} CPU-s")
