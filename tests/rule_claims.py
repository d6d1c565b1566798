"""A small builder of valid Claims for the rule tests: ``clean_claim(**changes)``.

The clean claim is a commercial, self-pay-relationship psychotherapy claim that
every rule passes on ``TODAY``.  Tests derive failing claims with ``replace``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.claim import (
    Address,
    Claim,
    LineOfBusiness,
    Patient,
    Provider,
    RenderingLicense,
    ServiceLine,
    Source,
    Subscriber,
)
from validators.engine import check_claim
from validators.findings import CheckContext, Finding, OriginalClaim
from validators.settings import RuleSettings

TODAY = date(2026, 5, 1)
SERVICE_DATE = date(2026, 4, 14)

BILLING_NPI = "1234567893"  # CMS's published example NPI (valid check digit)
RENDERING_NPI = "1987654328"
SUPERVISING_NPI = "1456789019"

BILLING = Provider(
    npi=BILLING_NPI,
    last_or_org="CAPE ANN COUNSELING GROUP",
    entity_type="2",
    taxonomy="261QM0801X",
    tax_id="041234567",
    address=Address("12 MAIN ST", "GLOUCESTER", "MA", "019301234"),
)
RENDERING = Provider(npi=RENDERING_NPI, last_or_org="RIVERA", first="ANA", taxonomy="101YP2500X")
SUPERVISING = Provider(npi=SUPERVISING_NPI, last_or_org="OKAFOR", first="JAMES", taxonomy="103T00000X")
SUBSCRIBER = Subscriber(
    member_id="OPT12345678",
    last="DOE",
    first="JANE",
    dob=date(1980, 6, 15),
    sex="F",
    address=Address("5 ELM ST", "SALEM", "MA", "01970"),
)
SUPERVISED_MEDICAID: dict[str, Any] = {
    "line_of_business": LineOfBusiness.MEDICAID,
    "rendering_license": RenderingLicense.SUPERVISED,
    "supervising": SUPERVISING,
}
"""A MassHealth claim by a supervised clinician, as the payer takes it (supervisee renders)."""
CHILD = Patient(last="DOE", first="SAM", dob=date(2016, 3, 2), sex="M")


def line(line_id: str = "1", **changes: Any) -> ServiceLine:
    base = ServiceLine(
        line_id=line_id,
        service_date=SERVICE_DATE,
        procedure_code="90837",
        charge=Decimal("180.00"),
        units=Decimal("1"),
        place_of_service="11",
        modifiers=(),
        diagnosis_pointers=(1,),
        source=Source("fixtures/day.csv", 1 + int(line_id) if line_id.isdigit() else None),
    )
    return replace(base, **changes)


def clean_claim(**changes: Any) -> Claim:
    base = Claim(
        claim_id="C1001",
        line_of_business=LineOfBusiness.COMMERCIAL,
        payer_id="87726",
        subscriber=SUBSCRIBER,
        billing=BILLING,
        diagnoses=("F411", "F331"),
        lines=(line("1"),),
        rendering=RENDERING,
        source=Source("fixtures/day.csv", 2),
    )
    return replace(base, **changes)


def context(
    settings: RuleSettings | None = None,
    today: date = TODAY,
    remits: Mapping[str, date] | None = None,
    originals: Mapping[str, OriginalClaim] | None = None,
) -> CheckContext:
    """A context; ``remits`` (payer claim number -> PRA date) and ``originals`` (claim id ->
    what the ledger knows) stand in for the ledger's lookups, None for no ledger at all."""
    return CheckContext(
        today=today,
        settings=settings or RuleSettings(),
        original_remit_date=remits.get if remits is not None else None,
        original_claim=originals.get if originals is not None else None,
    )


def codes(findings: list[Finding]) -> set[str]:
    return {finding.code for finding in findings}


def findings_of(claim: Claim, ctx: CheckContext | None = None) -> list[Finding]:
    return check_claim(claim, ctx or context())
