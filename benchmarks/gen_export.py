"""Write an N-line canonical PM export of valid claims (1-4 lines each) for benchmarks.

    .venv/bin/python benchmarks/gen_export.py [--lines 100000] [--out /tmp/export.csv] [--seed 1]

Names and ids are invented; NPIs carry a valid Luhn check digit (80840 prefix).
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.claim import (  # noqa: E402
    Address,
    Claim,
    LineOfBusiness,
    Provider,
    RenderingLicense,
    ServiceLine,
    Subscriber,
)
from parsers.writer import write_csv_export  # noqa: E402

LAST = [
    "Marchetti",
    "Okafor",
    "Brannagh",
    "Nakamura",
    "Whitcombe",
    "Ferreira",
    "Lindqvist",
    "Costa",
    "Halloran",
]
FIRST = ["Lucia", "Daniel", "Aiko", "Tessa", "Harold", "Bridget", "Joaquim", "Margit", "Colin", "Siobhán"]
CODES = [
    ("90834", "140.00"),
    ("90837", "185.00"),
    ("90791", "225.00"),
    ("90847", "160.00"),
    ("90853", "65.00"),
]
DIAGNOSES = ["F321", "F411", "F4310", "F900", "F331", "F1020", "F4323"]  # billable ICD-10-CM


def npi_check_digit(base9: str) -> str:
    """Luhn check digit of an NPI, computed over the 80840 prefix + the 9-digit base."""
    total = 0
    for position, char in enumerate(reversed("80840" + base9)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def npi(base9: str) -> str:
    return base9 + npi_check_digit(base9)


def synthetic_claims(lines: int, seed: int) -> list[Claim]:
    rng = random.Random(seed)
    group = Provider(
        npi("164712358"),
        "HARBOR LIGHT BEHAVIORAL HEALTH",
        entity_type="2",
        taxonomy="261QM0801X",
        tax_id="043187265",
        address=Address("212 Harbor Street Suite 3", "Salem", "MA", "019703412"),
    )
    clinicians = [
        Provider(npi(f"1{n:08d}"), rng.choice(LAST), rng.choice(FIRST), taxonomy="1041C0700X")
        for n in range(20)
    ]
    claims: list[Claim] = []
    written = 0
    number = 0
    while written < lines:
        number += 1
        count = min(rng.randint(1, 4), lines - written)
        # within the 90-day commercial filing limit and not in the future on the benchmarks' 2026-12-01
        first_day = date(2026, 9, 5) + timedelta(days=rng.randrange(60))
        diagnoses = tuple(rng.sample(DIAGNOSES, rng.randint(1, 3)))
        service_lines = []
        for line_number in range(1, count + 1):
            code, charge = rng.choice(CODES)
            place = rng.choice(["11", "10"])  # office, or telehealth at home (modifier 95)
            service_lines.append(
                ServiceLine(
                    f"L{line_number}",
                    first_day + timedelta(days=7 * (line_number - 1)),
                    code,
                    Decimal(charge),
                    Decimal(1),
                    place,
                    modifiers=("95",) if place == "10" else (),
                    diagnosis_pointers=(1,),
                )
            )
        dob = date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
        subscriber = Subscriber(
            f"M{rng.randrange(10**9):09d}",
            rng.choice(LAST),
            rng.choice(FIRST),
            dob,
            rng.choice("MF"),
            Address(f"{rng.randint(1, 400)} Lantern Way", "Salem", "MA", "01970"),
        )
        claims.append(
            Claim(
                f"B-{number:08d}",
                LineOfBusiness.COMMERCIAL,
                "87726",
                subscriber,
                group,
                diagnoses,
                tuple(service_lines),
                rendering=rng.choice(clinicians),
                rendering_license=RenderingLicense.INDEPENDENT,
            )
        )
        written += count
    return claims


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bhclaims-bench-export.csv"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    claims = synthetic_claims(args.lines, args.seed)
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        write_csv_export(claims, out)
    print(f"wrote {args.out}: {len(claims)} claims, {args.lines} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
