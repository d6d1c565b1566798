"""Valid ``Claim`` objects for tests, with one keyword per thing a test wants to vary.

    make_claim()                                    a commercial 90837 office visit, patient = subscriber
    make_claim("C2", relationship=Relationship.CHILD)
    make_claim(lines=(make_line(procedure_code="90791"),), prior_auth="AUTH1")

Everything returned passes the 837P builder and is already in the form the 837P
reader gives back (uppercase ASCII names, ZIP+4 billing address, NPIs that pass
the Luhn check), so ``read(build(claim)) == claim`` up to ``source``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.claim import (
    Address,
    Claim,
    Frequency,
    LineOfBusiness,
    Patient,
    Provider,
    Relationship,
    RenderingLicense,
    ServiceFacility,
    ServiceLine,
    Subscriber,
)


def npi_check_digit(first_nine: str) -> str:
    """Luhn check digit of an NPI, computed with the 80840 prefix."""
    total = 24  # the constant contribution of the 80840 prefix
    for position, ch in enumerate(reversed(first_nine)):
        digit = int(ch)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def make_npi(first_nine: str) -> str:
    return first_nine + npi_check_digit(first_nine)


GROUP_NPI = make_npi("123456789")  # 1234567893
CLINICIAN_NPI = make_npi("198765432")
SUPERVISOR_NPI = make_npi("176543210")

BILLING_GROUP = Provider(
    npi=GROUP_NPI,
    last_or_org="RIVERBEND COUNSELING GROUP",
    entity_type="2",
    taxonomy="261QM0801X",
    tax_id="041234567",
    address=Address("100 MAIN ST STE 200", "BOSTON", "MA", "021081234"),
)
RENDERING_CLINICIAN = Provider(
    npi=CLINICIAN_NPI, last_or_org="NGUYEN", first="LINH", entity_type="1", taxonomy="101YM0800X"
)
SOLO_CLINICIAN = Provider(
    npi=make_npi("154321098"),
    last_or_org="LINH NGUYEN LICSW",  # the practice name of the export's billing_name column
    entity_type="1",
    taxonomy="1041C0700X",
    tax_id="041234568",
    address=Address("8 PARK ST", "SALEM", "MA", "019701234"),
)
"""A solo clinician billing under their own Type 1 NPI (the export names no first name for billing)."""
PAY_TO_LOCKBOX = Address("PO BOX 4410", "WORCESTER", "MA", "016154410")
SCHOOL_CLINIC = ServiceFacility(
    name="RIVERBEND SCHOOL CLINIC",
    address=Address("45 SCHOOL ST", "CAMBRIDGE", "MA", "021391234"),
    npi=make_npi("165432109"),
)
SUPERVISOR = Provider(npi=SUPERVISOR_NPI, last_or_org="OKAFOR", first="ADA", entity_type="1")
SUBSCRIBER = Subscriber(
    member_id="987654321",
    last="RIVERA",
    first="MARIA",
    dob=date(1980, 4, 12),
    sex="F",
    address=Address("12 ELM ST", "SOMERVILLE", "MA", "02144"),
)
CHILD = Patient(last="RIVERA", first="SOFIA", dob=date(2012, 9, 3), sex="F")


def make_line(line_id: str = "L1", **changes: Any) -> ServiceLine:
    line = ServiceLine(
        line_id=line_id,
        service_date=date(2025, 3, 3),
        procedure_code="90837",
        charge=Decimal("180.00"),
        units=Decimal("1"),
        place_of_service="11",
        diagnosis_pointers=(1,),
    )
    return replace(line, **changes)


def make_claim(claim_id: str = "CLM1001", **changes: Any) -> Claim:
    """A valid claim; ``changes`` are ``Claim`` fields to replace.

    ``relationship`` other than self brings the default child patient unless
    ``patient`` is given; ``supervising`` brings the supervised license.
    """
    if changes.get("relationship", Relationship.SELF) is not Relationship.SELF:
        changes.setdefault("patient", CHILD)
    if changes.get("supervising") is not None:
        changes.setdefault("rendering_license", RenderingLicense.SUPERVISED)
    claim = Claim(
        claim_id=claim_id,
        line_of_business=LineOfBusiness.COMMERCIAL,
        payer_id="87726",
        subscriber=SUBSCRIBER,
        billing=BILLING_GROUP,
        diagnoses=("F331",),
        lines=(make_line(),),
        frequency=Frequency.ORIGINAL,
    )
    return replace(claim, **changes)


def as_read_back(claim: Claim) -> Claim:
    """What ``read_837p(build_837p([claim]))`` gives, minus ``source``.

    The 837P cannot carry everything a ``Claim`` holds: the guide forbids the
    subscriber's DMG when the patient is someone else (read back as ``date.min``
    and "U"), a rendering provider equal to the billing one is not written, a
    supervising provider's taxonomy has no segment, the rendering license is
    implied by the presence of a supervising provider, and a pay-to address or
    service facility at the billing address is not written.  A supervised commercial
    claim is written under its supervisor (``claim_as_billed``, the default ``[supervision]``),
    and a solo clinician's Type 1 billing provider with the clinician's name.
    """
    from domain.claim import DEFAULT_SUPERVISED_BILLING
    from edi.read837 import MISSING_DATE  # local: keep this module importable without edi
    from edi.x837p import billing_as_written, claim_as_billed

    license_ = RenderingLicense.SUPERVISED if claim.supervising else RenderingLicense.INDEPENDENT
    claim = claim_as_billed(replace(claim, rendering_license=license_), DEFAULT_SUPERVISED_BILLING)
    claim = replace(claim, billing=billing_as_written(claim))
    subscriber = claim.subscriber
    if claim.relationship is not Relationship.SELF:
        subscriber = replace(subscriber, dob=MISSING_DATE, sex="U")
    rendering = claim.rendering
    if rendering is not None:
        rendering = (
            None if rendering.npi == claim.billing.npi else replace(rendering, tax_id=None, address=None)
        )
    supervising = claim.supervising and replace(claim.supervising, taxonomy=None, tax_id=None, address=None)
    pay_to = None if claim.pay_to == claim.billing.address else claim.pay_to
    facility = claim.service_facility
    if facility is not None and facility.address == claim.billing.address:
        facility = None
    return replace(
        claim,
        subscriber=subscriber,
        pay_to=pay_to,
        service_facility=facility,
        rendering=rendering,
        supervising=supervising,
        rendering_license=RenderingLicense.SUPERVISED if supervising else RenderingLicense.INDEPENDENT,
        diagnoses=tuple(code.replace(".", "") for code in claim.diagnoses),
        lines=tuple(replace(line, source=None) for line in claim.lines),
        source=None,
    )


def without_sources(claim: Claim) -> Claim:
    return replace(claim, source=None, lines=tuple(replace(line, source=None) for line in claim.lines))
