"""Loops 2010AB (pay-to address) and 2310C (service facility location) in the 837P."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.claim import Address, LineOfBusiness, ServiceFacility
from edi.read837 import read_837p
from edi.x837p import ClaimNotWritable, ControlNumbers, build_837p
from tests.claim_factory import (
    BILLING_GROUP,
    PAY_TO_LOCKBOX,
    SCHOOL_CLINIC,
    as_read_back,
    make_claim,
    without_sources,
)
from tests.regen_golden import GOLDEN_CASES, GOLDEN_DIR, RECEIVER, SETTINGS, SUBMITTER, build_golden
from validators.x12_syntax import validate_x12


def build(*claims):
    return build_837p(
        list(claims),
        submitter=SUBMITTER,
        receiver=RECEIVER,
        control=ControlNumbers(interchange=9, group=9),
        settings=SETTINGS,
    )


def segments(text: str) -> list[str]:
    return [segment.strip() for segment in text.split("~") if segment.strip()]


def test_golden_facility_and_pay_to_is_reproduced_byte_for_byte_and_pyx12_clean():
    expected = (GOLDEN_DIR / "facility_and_pay_to.837").read_bytes()
    assert build_golden("facility_and_pay_to").encode("ascii") == expected
    assert validate_x12(expected.decode("ascii")) == []


def test_golden_facility_and_pay_to_reads_back_to_its_claims():
    _, claims = GOLDEN_CASES["facility_and_pay_to"]
    read = read_837p((GOLDEN_DIR / "facility_and_pay_to.837").read_text())
    assert [without_sources(claim) for claim in read.claims] == [as_read_back(claim) for claim in claims]
    assert read.claims[0].pay_to == PAY_TO_LOCKBOX
    assert read.claims[0].service_facility == SCHOOL_CLINIC
    assert read.claims[1].pay_to is None and read.claims[1].service_facility is None


def test_pay_to_follows_the_billing_provider_in_2000a():
    text = build(make_claim("P1", pay_to=PAY_TO_LOCKBOX))
    found = segments(text)
    at = found.index("REF*EI*041234567")
    assert found[at + 1 : at + 4] == ["NM1*87*2", "N3*PO BOX 4410", "N4*WORCESTER*MA*016154410"]
    assert validate_x12(text) == []


def test_pay_to_equal_to_the_billing_address_is_not_written():
    text = build(make_claim("P1", pay_to=BILLING_GROUP.address))
    assert "NM1*87" not in text
    assert read_837p(text).claims[0].pay_to is None


def test_claims_paid_to_different_addresses_get_their_own_2000a():
    text = build(make_claim("P1", pay_to=PAY_TO_LOCKBOX), make_claim("P2"), make_claim("P3"))
    found = segments(text)
    assert [s for s in found if s.startswith("HL*")] == [
        "HL*1**20*1",
        "HL*2*1*22*0",
        "HL*3**20*1",
        "HL*4*3*22*0",
        "HL*5*3*22*0",
    ]
    assert [claim.pay_to for claim in read_837p(text).claims] == [PAY_TO_LOCKBOX, None, None]
    assert validate_x12(text) == []


def test_service_facility_sits_between_rendering_and_supervising():
    from tests.claim_factory import RENDERING_CLINICIAN, SUPERVISOR

    text = build(
        make_claim(
            "F1",
            line_of_business=LineOfBusiness.MEDICAID,  # the supervisee renders: 2310B, then 2310C, then 2310D
            rendering=RENDERING_CLINICIAN,
            supervising=SUPERVISOR,
            service_facility=SCHOOL_CLINIC,
        )
    )
    found = segments(text)
    at = found.index(f"NM1*77*2*RIVERBEND SCHOOL CLINIC*****XX*{SCHOOL_CLINIC.npi}")
    assert found[at - 1].startswith("PRV*PE")
    assert found[at + 1 : at + 4] == [
        "N3*45 SCHOOL ST",
        "N4*CAMBRIDGE*MA*021391234",
        f"NM1*DQ*1*OKAFOR*ADA****XX*{SUPERVISOR.npi}",
    ]
    assert validate_x12(text) == []


def test_service_facility_without_npi_is_written_by_name_only():
    facility = replace(SCHOOL_CLINIC, npi=None)
    text = build(make_claim("F1", service_facility=facility))
    assert "NM1*77*2*RIVERBEND SCHOOL CLINIC~" in text
    assert validate_x12(text) == []
    assert read_837p(text).claims[0].service_facility == facility


def test_service_facility_at_the_billing_address_is_not_written():
    text = build(make_claim("F1", service_facility=ServiceFacility("MAIN OFFICE", BILLING_GROUP.address)))
    assert "NM1*77" not in text
    assert read_837p(text).claims[0].service_facility is None


@pytest.mark.parametrize(
    ("facility", "reason"),
    [
        (replace(SCHOOL_CLINIC, address=Address("45 SCHOOL ST", "CAMBRIDGE", "MA", "02139")), r"ZIP\+4"),
        (replace(SCHOOL_CLINIC, npi="165432109"), "NPI must be 10 digits"),
        (replace(SCHOOL_CLINIC, name="CLINIC*ONE"), "service facility name"),
    ],
)
def test_unwritable_service_facility_is_refused_naming_the_claim(facility, reason):
    with pytest.raises(ClaimNotWritable, match=reason) as caught:
        build(make_claim("F9", service_facility=facility))
    assert caught.value.claim_id == "F9"


def test_unwritable_pay_to_is_refused_naming_the_claim():
    with pytest.raises(ClaimNotWritable, match="pay-to ZIP") as caught:
        build(make_claim("P9", pay_to=Address("PO BOX 1", "WORCESTER", "MA", "0161")))
    assert caught.value.claim_id == "P9"


# -- through the ledger: ingest -> load -> build keeps 2010AB and 2310C ---------------


@pytest.fixture
def ledger(ledger_url):
    from ledger.db import Ledger

    ledger = Ledger(ledger_url)
    yield ledger
    ledger.dispose()


def test_ingested_claim_keeps_pay_to_and_facility_for_the_837p(ledger):
    from sqlalchemy import select

    from ledger.claims import load_domain_claim
    from ledger.ingest import ingest_claims
    from ledger.models import Claim as ClaimRow
    from tests.claim_factory import RENDERING_CLINICIAN

    claims = [
        make_claim(
            "LED1", rendering=RENDERING_CLINICIAN, pay_to=PAY_TO_LOCKBOX, service_facility=SCHOOL_CLINIC
        ),
        make_claim("LED2", service_facility=replace(SCHOOL_CLINIC, npi=None)),
        make_claim("LED3"),
    ]
    report = ingest_claims(ledger, claims, checker=lambda _claim: [], actor="tester")
    assert report.added == ["LED1", "LED2", "LED3"]
    with ledger.session() as session:
        rows = session.scalars(select(ClaimRow).order_by(ClaimRow.claim_id)).all()
        loaded = [load_domain_claim(session, row) for row in rows]
    assert [without_sources(claim) for claim in loaded] == claims
    assert build(*loaded) == build(*claims)
    again = ingest_claims(ledger, claims, checker=lambda _claim: [], actor="tester")
    assert again.unchanged == ["LED1", "LED2", "LED3"]


def test_pay_to_and_facility_are_part_of_the_content_hash():
    from ledger.content import content_hash

    claim = make_claim("HASH1")
    assert content_hash(replace(claim, pay_to=PAY_TO_LOCKBOX)) != content_hash(claim)
    assert content_hash(replace(claim, service_facility=SCHOOL_CLINIC)) != content_hash(claim)


def test_a_state_pyx12_would_refuse_holds_the_claim_instead_of_spoiling_the_file():
    with pytest.raises(ClaimNotWritable, match="pay-to state") as caught:
        build(make_claim("P8", pay_to=Address("PO BOX 1", "WORCESTER", "XX", "01615")))
    assert caught.value.claim_id == "P8"
    facility = replace(SCHOOL_CLINIC, address=replace(SCHOOL_CLINIC.address, state="ZZ"))
    with pytest.raises(ClaimNotWritable, match="service facility state"):
        build(make_claim("F8", service_facility=facility))
