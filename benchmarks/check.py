"""Benchmark: 100,000 claims through every rule of the pack.

    .venv/bin/python benchmarks/check.py [--claims N] [--target CLAIMS_PER_SECOND]

Prints claims/s and exits 1 when below the target (default 20,000 claims/s).
The best of ``--repeat`` runs counts, as with ``timeit``, measured in CPU time of
this process because the machine is shared; wall times are printed too.
The claims are a realistic day's mix: one to four lines, every line of business,
telehealth and supervised claims, and about one claim in twenty with a problem
(late, misrouted, a category-header diagnosis), so findings are built too.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.claim import (  # noqa: E402
    Address,
    Claim,
    Frequency,
    LineOfBusiness,
    Provider,
    RenderingLicense,
    ServiceLine,
    Source,
    Subscriber,
)
from validators.codesets import icd10cm_billable  # noqa: E402
from validators.engine import RULES, check_claims  # noqa: E402
from validators.findings import CheckContext  # noqa: E402
from validators.settings import RuleSettings  # noqa: E402

TODAY = date(2026, 5, 1)
BILLING = Provider(
    "1234567893",
    "CAPE ANN COUNSELING GROUP",
    None,
    "2",
    "261QM0801X",
    "041234567",
    Address("12 MAIN ST", "GLOUCESTER", "MA", "019301234"),
)
RENDERING = Provider("1987654328", "RIVERA", "ANA", "1", "101YP2500X")
SUPERVISING = Provider("1456789019", "OKAFOR", "JAMES", "1", "103T00000X")
PLANS = list(LineOfBusiness)
PROCEDURES = ["90791", "90832", "90834", "90837", "90846", "90847", "90853", "99214"]
DIAGNOSES = [("F411", "F331"), ("F321",), ("F4310", "F900", "F17210"), ("F840",), ("F32",)]
BIRTH_YEARS = {LineOfBusiness.SCO: 1950, LineOfBusiness.ONE_CARE: 1980}


def day_of_claims(count: int) -> list[Claim]:
    claims = []
    for n in range(count):
        lob = PLANS[n % len(PLANS)]
        telehealth = n % 3 == 0
        supervised = lob == LineOfBusiness.MEDICAID and n % 4 == 1
        lines = tuple(
            ServiceLine(
                line_id=str(k + 1),
                service_date=TODAY - timedelta(days=(n * 7 + k) % (95 if n % 20 == 0 else 85)),
                procedure_code=PROCEDURES[(n + k) % len(PROCEDURES)],
                charge=Decimal("145.00") + k,
                units=Decimal(1),
                place_of_service="10" if telehealth else "11",
                modifiers=("95",) if telehealth else (),
                diagnosis_pointers=(1,),
                source=Source("day.csv", n + k + 2),
            )
            for k in range(1 + n % 4)
        )
        claims.append(
            Claim(
                claim_id=f"C{n:07d}",
                line_of_business=lob,
                payer_id="04293" if n % 97 == 0 else "87726",
                subscriber=Subscriber(
                    "M0000001",
                    "DOE",
                    "JANE",
                    date(BIRTH_YEARS.get(lob, 1985), 6, 1),
                    "F",
                    Address("5 ELM ST", "SALEM", "MA", "01970"),
                ),
                billing=BILLING,
                diagnoses=DIAGNOSES[4] if n % 50 == 25 else DIAGNOSES[n % 4],
                lines=lines,
                rendering=RENDERING,
                rendering_license=RenderingLicense.SUPERVISED if supervised else RenderingLicense.INDEPENDENT,
                supervising=SUPERVISING if supervised else None,
                frequency=Frequency.ORIGINAL,
                source=Source("day.csv", n + 2),
            )
        )
    # a few corrected claims, so the correction-window rules do work too
    for n in range(0, count, 200):
        claims[n] = replace(claims[n], frequency=Frequency.REPLACEMENT, original_claim_number=f"R{n}")
    return claims


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--target", type=float, default=20_000.0, help="claims per second")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best counts (the machine is shared)")
    args = parser.parse_args()

    claims = day_of_claims(args.claims)
    remits = {
        claim.original_claim_number: date(2026, 1, 2) for claim in claims if claim.original_claim_number
    }
    ctx = CheckContext(today=TODAY, settings=RuleSettings(), original_remit_date=remits.get)
    icd10cm_billable()  # load the code table outside the timing, as a long-running process would

    # CPU time of this process: on a 2-core machine shared with other work, wall time
    # measures the neighbours; wall time is printed beside it.
    timings, walls = [], []
    for _ in range(max(1, args.repeat)):
        started, wall_started = time.process_time(), time.perf_counter()
        results = check_claims(claims, ctx)
        timings.append(time.process_time() - started)
        walls.append(time.perf_counter() - wall_started)
    elapsed = min(timings)

    rate = len(claims) / elapsed
    flagged = sum(1 for findings in results.values() if findings)
    findings = sum(len(findings) for findings in results.values())
    verdict = "ok" if rate >= args.target else "MISSED"
    print(
        f"{len(claims):,} claims x {len(RULES)} rules, best of {len(timings)} runs "
        f"(CPU {', '.join(f'{t:.2f}' for t in timings)} s; wall {', '.join(f'{t:.2f}' for t in walls)} s): "
        f"{rate:,.0f} claims per CPU-second "
        f"(target {args.target:,.0f}: {verdict}); {flagged:,} claims flagged, {findings:,} findings"
    )
    return 0 if rate >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
