"""The golden 837P cases, and a by-hand rewrite of ``fixtures/golden/*.837``.

    .venv/bin/python -m tests.regen_golden        # from the repo root

Tests import ``GOLDEN_CASES`` and compare the build byte for byte with the files,
so a change of the builder's output shows up as a failing test and a diff to
review; run this script only once the new output is the intended one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from domain.claim import Claim, Frequency, LineOfBusiness, Relationship, ServiceFacility
from edi.x837p import BuildSettings, ControlNumbers, Receiver, Submitter, build_837p
from tests.claim_factory import (
    BILLING_GROUP,
    PAY_TO_LOCKBOX,
    RENDERING_CLINICIAN,
    SCHOOL_CLINIC,
    SOLO_CLINICIAN,
    SUPERVISOR,
    make_claim,
    make_line,
)

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "golden"

SUBMITTER = Submitter(
    id="RIVERBEND01",
    name="Riverbend Counseling Group",
    contact_name="Dana Billing",
    contact_phone="6175550100",
)
RECEIVER = Receiver(id="CLEARHOUSE", name="Example Clearinghouse")
SETTINGS = BuildSettings(created=datetime(2025, 3, 10, 9, 30))

GOLDEN_CASES: dict[str, tuple[int, list[Claim]]] = {
    # name: (interchange control number, claims)
    "simple": (101, [make_claim("SIMPLE01")]),
    "patient_not_subscriber": (102, [make_claim("CHILD01", relationship=Relationship.CHILD)]),
    "supervised_medicaid": (
        103,
        [
            make_claim(
                "SUPV01",
                line_of_business=LineOfBusiness.MEDICAID,
                rendering=RENDERING_CLINICIAN,
                supervising=SUPERVISOR,
                lines=(make_line(procedure_code="90834", charge=Decimal("120.00"), modifiers=("HO",)),),
            )
        ],
    ),
    "telehealth": (
        104,
        [
            make_claim(
                "TELE01",
                rendering=RENDERING_CLINICIAN,
                lines=(
                    make_line("L1", place_of_service="10", modifiers=("95",)),
                    make_line(
                        "L2",
                        procedure_code="90785",
                        charge=Decimal("25.50"),
                        place_of_service="10",
                        modifiers=("95",),
                    ),
                ),
            )
        ],
    ),
    "prior_auth_testing": (
        105,
        [
            make_claim(
                "TEST01",
                prior_auth="PA2025000123",
                diagnoses=("F900", "F411"),
                lines=(
                    make_line(
                        "L1", procedure_code="96130", charge=Decimal("220.55"), diagnosis_pointers=(1, 2)
                    ),
                    make_line(
                        "L2",
                        procedure_code="96131",
                        charge=Decimal("180.00"),
                        units=Decimal("2"),
                        diagnosis_pointers=(1,),
                    ),
                ),
            )
        ],
    ),
    "replacement": (
        106,
        [make_claim("REPL01", frequency=Frequency.REPLACEMENT, original_claim_number="2025031000123")],
    ),
    "void": (
        107,
        [
            make_claim(
                "VOID01",
                frequency=Frequency.VOID,
                original_claim_number="2025031000456",
                lines=(make_line(service_date=date(2025, 2, 24)),),
            )
        ],
    ),
    # 2010AB and 2310C are written for the first claim; the second is paid and seen at the
    # billing address, so it opens a 2000A of its own without them.
    "facility_and_pay_to": (
        108,
        [
            make_claim(
                "FAC01",
                rendering=RENDERING_CLINICIAN,
                supervising=SUPERVISOR,
                pay_to=PAY_TO_LOCKBOX,
                service_facility=SCHOOL_CLINIC,
                lines=(make_line(place_of_service="03"),),
            ),
            make_claim(
                "FAC02",
                pay_to=BILLING_GROUP.address,
                service_facility=ServiceFacility("RIVERBEND MAIN OFFICE", BILLING_GROUP.address),
            ),
        ],
    ),
    # Optum commercial pays the licensed supervisor: 2310B and 2310D are the supervisor, every
    # line carries U5 (the first line had it already, the second gets it); the supervisee's NPI
    # is not in the file.
    "commercial_supervised": (
        109,
        [
            make_claim(
                "SUPV02",
                rendering=RENDERING_CLINICIAN,
                supervising=SUPERVISOR,
                lines=(
                    make_line("L1", procedure_code="90834", charge=Decimal("120.00"), modifiers=("HO", "U5")),
                    make_line("L2", procedure_code="90785", charge=Decimal("25.50"), modifiers=("HO",)),
                ),
            )
        ],
    ),
    # A solo clinician billing under their own Type 1 NPI: NM1*85*1 with the clinician's name,
    # no 2310B (the rendering provider is the billing provider).
    "solo_type1": (
        110,
        [
            make_claim(
                "SOLO01",
                billing=SOLO_CLINICIAN,
                rendering=replace(RENDERING_CLINICIAN, npi=SOLO_CLINICIAN.npi),
            )
        ],
    ),
}


def build_golden(name: str) -> str:
    interchange, claims = GOLDEN_CASES[name]
    return build_837p(
        claims,
        submitter=SUBMITTER,
        receiver=RECEIVER,
        control=ControlNumbers(interchange=interchange, group=interchange),
        settings=SETTINGS,
    )


def main() -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name in GOLDEN_CASES:
        path = GOLDEN_DIR / f"{name}.837"
        path.write_text(build_golden(name), encoding="ascii", newline="")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
