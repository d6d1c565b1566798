"""Time the 837P builder and pyx12 validation on synthetic claims.

    .venv/bin/python -m benchmarks.build837 --claims 100000

Building is timed on all ``--claims`` claims in one interchange (one ST per 5000
claims).  pyx12 is much slower than the builder, so it validates files of
``--chunk`` claims until ``--validate-claims`` claims have been checked, and the
rate for the whole batch is extrapolated from those (the output says so).
Exits 1 when building is slower than the target (10,000 claims/s) or when pyx12
finds anything in a built file.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from domain.claim import Claim, Frequency, LineOfBusiness, Relationship
from edi.x837p import BuildSettings, ControlNumbers, Receiver, Submitter, build_837p, transaction_count
from tests.claim_factory import CHILD, RENDERING_CLINICIAN, SUBSCRIBER, SUPERVISOR, make_claim, make_line
from validators.x12_syntax import validate_x12

BUILD_TARGET_CLAIMS_PER_SECOND = 10_000

SUBMITTER = Submitter(
    id="BENCH01", name="Bench Billing", contact_name="Bench Contact", contact_phone="6175550199"
)
RECEIVER = Receiver(id="CLEARHOUSE", name="Example Clearinghouse")
PROCEDURES = ("90837", "90834", "90832", "90791", "96130", "H0031")
LINES_OF_BUSINESS = tuple(LineOfBusiness)
SURNAMES = ("RIVERA", "NGUYEN", "O'BRIEN", "MUÑOZ", "SMITH", "KOWALSKI", "LEE", "DUBOIS")


def synthetic_claims(count: int) -> list[Claim]:
    """A varied, valid batch: 1-3 lines, some children, telehealth, supervision, corrections."""
    claims = []
    start = date(2025, 1, 6)
    for n in range(count):
        n_lines = 1 + n % 3
        lines = tuple(
            make_line(
                f"L{k + 1}",
                service_date=start + timedelta(days=(n + k) % 60),
                procedure_code=PROCEDURES[(n + k) % len(PROCEDURES)],
                charge=Decimal(100 + (n * 7 + k) % 150) + Decimal("0.50") * (k % 2),
                place_of_service="10" if n % 5 == 0 else "11",
                modifiers=("95",) if n % 5 == 0 else (),
            )
            for k in range(n_lines)
        )
        subscriber = replace(SUBSCRIBER, member_id=f"M{n % 50_000:08d}", last=SURNAMES[n % len(SURNAMES)])
        changes: dict[str, object] = {
            "line_of_business": LINES_OF_BUSINESS[n % len(LINES_OF_BUSINESS)],
            "subscriber": subscriber,
            "lines": lines,
            "diagnoses": ("F331", "F411")[: 1 + n % 2],
        }
        if n % 4 == 1:
            changes["relationship"] = Relationship.CHILD
            changes["patient"] = CHILD
        if n % 3 == 0:
            changes["rendering"] = RENDERING_CLINICIAN
        if n % 10 == 7:
            changes["supervising"] = SUPERVISOR
        if n % 25 == 3:
            changes["frequency"] = Frequency.REPLACEMENT
            changes["original_claim_number"] = f"ORIG{n:010d}"
        if n % 6 == 2:
            changes["prior_auth"] = f"PA{n:08d}"
        claims.append(make_claim(f"B{n:09d}", **changes))
    return claims


def build(claims: list[Claim], settings: BuildSettings, interchange: int = 1) -> str:
    return build_837p(
        claims,
        submitter=SUBMITTER,
        receiver=RECEIVER,
        control=ControlNumbers(interchange=interchange, group=interchange),
        settings=settings,
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument(
        "--validate-claims", type=int, default=2_000, help="claims to run through pyx12 (0: skip)"
    )
    parser.add_argument("--chunk", type=int, default=500, help="claims per file given to pyx12")
    args = parser.parse_args(argv)

    settings = BuildSettings(created=datetime(2025, 3, 10, 9, 30))
    started = time.perf_counter()
    claims = synthetic_claims(args.claims)
    generated = time.perf_counter() - started
    print(f"generated {args.claims} claims in {generated:.2f}s (not timed below)")

    started = time.perf_counter()
    text = build(claims, settings)
    build_seconds = time.perf_counter() - started
    build_rate = args.claims / build_seconds
    print(
        f"build:    {args.claims} claims, {transaction_count(args.claims, settings)} ST, "
        f"{len(text) / 1e6:.1f} MB in {build_seconds:.2f}s = {build_rate:,.0f} claims/s"
    )
    del text

    failed = False
    n_validate = min(args.validate_claims, args.claims)
    if n_validate > 0:
        checked, findings, validate_seconds = 0, 0, 0.0
        for number, start in enumerate(range(0, n_validate, args.chunk), start=1):
            chunk_text = build(claims[start : start + min(args.chunk, n_validate - start)], settings, number)
            started = time.perf_counter()
            found = validate_x12(chunk_text)
            validate_seconds += time.perf_counter() - started
            checked += min(args.chunk, n_validate - start)
            findings += len(found)
            for finding in found[:5]:
                print(f"  pyx12: {finding}")
        validate_rate = checked / validate_seconds
        extrapolated = ""
        if checked < args.claims:
            extrapolated = (
                f"; EXTRAPOLATED to {args.claims} claims: ~{args.claims / validate_rate:,.0f}s "
                f"(measured on {checked} claims in files of {args.chunk})"
            )
        print(
            f"validate: {checked} claims in {validate_seconds:.2f}s = {validate_rate:,.0f} claims/s{extrapolated}"
        )
        print(f"          pyx12 findings: {findings}")
        failed = findings > 0

    print(f"peak RSS: {peak_rss_mib():,.0f} MiB")
    verdict = "met" if build_rate >= BUILD_TARGET_CLAIMS_PER_SECOND else "MISSED"
    print(f"target:   build >= {BUILD_TARGET_CLAIMS_PER_SECOND:,} claims/s: {verdict}")
    return 1 if failed or build_rate < BUILD_TARGET_CLAIMS_PER_SECOND else 0


if __name__ == "__main__":
    sys.exit(main())
