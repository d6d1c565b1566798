"""Properties: any valid claims build a pyx12-clean 837P that reads back to the same claims."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.claim import (
    Address,
    Claim,
    Frequency,
    LineOfBusiness,
    Patient,
    Provider,
    Relationship,
    ServiceFacility,
    ServiceLine,
    Subscriber,
)
from edi.read837 import read_837p
from edi.text import to_x12_text
from edi.x837p import BuildSettings, ClaimNotWritable, ControlNumbers, build_837p
from tests.claim_factory import as_read_back, make_claim, make_npi, without_sources
from tests.examples import scaled
from tests.regen_golden import RECEIVER, SUBMITTER
from validators.x12_syntax import validate_x12

UPPER_WORD = st.text(string.ascii_uppercase, min_size=1, max_size=12)
NAME = st.lists(UPPER_WORD, min_size=1, max_size=3).map(" ".join)
IDENTIFIER = st.text(string.ascii_uppercase + string.digits, min_size=2, max_size=15)
NPI = st.builds(
    lambda head, rest: make_npi(head + rest),
    st.sampled_from("12"),
    st.text(string.digits, min_size=8, max_size=8),
)
TAXONOMY = st.sampled_from(["101YM0800X", "103T00000X", "1041C0700X", "2084P0800X", "261QM0801X"])
DIAGNOSIS = st.sampled_from(
    ["F329", "F331", "F411", "F4310", "F900", "F840", "F1020", "Z630", "F6381", "F5000"]
)
PROCEDURE = st.sampled_from(["90791", "90832", "90834", "90837", "90847", "96130", "96131", "H0031", "99214"])
MODIFIER = st.sampled_from(["95", "GT", "HO", "HN", "AJ", "U5", "25", "59"])
PLACE = st.sampled_from(["02", "10", "11", "12", "53"])
DATE = st.dates(date(1930, 1, 1), date(2025, 12, 31))
MONEY = st.integers(0, 999_999).map(lambda cents: Decimal(cents) / 100)
UNITS = st.sampled_from([Decimal("1"), Decimal("2"), Decimal("4"), Decimal("0.5"), Decimal("1.5")])
STATE = st.sampled_from(["MA", "NH", "RI", "CT", "NY"])


def addresses(zip_digits: int) -> st.SearchStrategy[Address]:
    city = st.text(string.ascii_uppercase, min_size=2, max_size=20)
    return st.builds(
        Address, NAME, city, STATE, st.text(string.digits, min_size=zip_digits, max_size=zip_digits)
    )


def people(entity_type: str) -> st.SearchStrategy[Provider]:
    if entity_type == "2":
        return st.builds(Provider, npi=NPI, last_or_org=NAME, entity_type=st.just("2"))
    return st.builds(Provider, npi=NPI, last_or_org=UPPER_WORD, first=UPPER_WORD, entity_type=st.just("1"))


BILLING = st.one_of(people("2"), people("1")).flatmap(
    lambda p: st.builds(
        replace,
        st.just(p),
        taxonomy=TAXONOMY,
        tax_id=st.text(string.digits, min_size=9, max_size=9),
        address=addresses(9),
    )
)


@st.composite
def claims(draw: st.DrawFn, claim_id: str | None = None) -> Claim:
    diagnoses = tuple(draw(st.lists(DIAGNOSIS, min_size=1, max_size=12, unique=True)))
    n_lines = draw(st.integers(1, 4))
    lines = tuple(
        ServiceLine(
            line_id=f"L{number}",
            service_date=draw(st.dates(date(2024, 1, 1), date(2025, 12, 31))),
            procedure_code=draw(PROCEDURE),
            charge=draw(MONEY),
            units=draw(UNITS),
            place_of_service=draw(PLACE),
            modifiers=tuple(draw(st.lists(MODIFIER, max_size=4, unique=True))),
            diagnosis_pointers=tuple(
                draw(st.lists(st.integers(1, len(diagnoses)), min_size=1, max_size=4, unique=True))
            ),
        )
        for number in range(1, n_lines + 1)
    )
    relationship = draw(st.sampled_from(list(Relationship)))
    frequency = draw(st.sampled_from(list(Frequency)))
    billing = draw(BILLING)
    rendering = draw(st.none() | st.builds(replace, people("1"), taxonomy=st.none() | TAXONOMY))
    if rendering is not None and rendering.npi == billing.npi:
        rendering = None
    supervising = draw(st.none() | people("1"))
    lob = draw(st.sampled_from(list(LineOfBusiness)))
    if supervising is not None and lob is LineOfBusiness.COMMERCIAL:  # U5 is added: leave it room
        lines = tuple(replace(line, modifiers=line.modifiers[:3]) for line in lines)
    return as_read_back(
        Claim(
            claim_id=claim_id or draw(IDENTIFIER),
            line_of_business=lob,
            payer_id="87726",
            subscriber=Subscriber(
                member_id=draw(IDENTIFIER),
                last=draw(NAME),
                first=draw(UPPER_WORD),
                dob=draw(DATE),
                sex=draw(st.sampled_from("MFU")),
                address=draw(addresses(5) | addresses(9)),
            ),
            billing=billing,
            diagnoses=diagnoses,
            lines=lines,
            frequency=frequency,
            original_claim_number=None if frequency is Frequency.ORIGINAL else draw(IDENTIFIER),
            relationship=relationship,
            patient=None
            if relationship is Relationship.SELF
            else Patient(draw(NAME), draw(UPPER_WORD), draw(DATE), draw(st.sampled_from("MFU"))),
            rendering=rendering,
            supervising=supervising,
            prior_auth=draw(st.none() | IDENTIFIER),
            pay_to=draw(st.none() | addresses(5) | addresses(9) | st.just(billing.address)),
            service_facility=draw(st.none() | st.builds(ServiceFacility, NAME, addresses(9), st.none() | NPI)),
        )
    )


@st.composite
def claim_batches(draw: st.DrawFn, max_size: int) -> list[Claim]:
    size = draw(st.integers(1, max_size))
    return [draw(claims(claim_id=f"C{n}")) for n in range(size)]


def build(batch: list[Claim], per_transaction: int = 5000) -> str:
    return build_837p(
        batch,
        submitter=SUBMITTER,
        receiver=RECEIVER,
        control=ControlNumbers(interchange=1, group=1),
        settings=BuildSettings(created=datetime(2025, 6, 1, 12, 0), claims_per_transaction=per_transaction),
    )


@settings(max_examples=scaled(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim_batches(max_size=6), st.integers(1, 3))
def test_build_then_read_gives_back_the_same_claims(batch, per_transaction):
    read = read_837p(build(batch, per_transaction))
    assert [without_sources(claim) for claim in read.claims] == batch


@pytest.mark.slow
@settings(
    max_examples=scaled(12),  # each example runs pyx12 (about a second of CPU); 120 under thorough
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking through pyx12 takes minutes
)
@given(claim_batches(max_size=4), st.integers(1, 2))
def test_any_valid_claims_build_a_file_pyx12_finds_clean(batch, per_transaction):
    findings = validate_x12(build(batch, per_transaction))
    assert [str(finding) for finding in findings] == []


@settings(max_examples=scaled(100), deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_any_name_is_either_cleaned_to_x12_text_or_refused_naming_the_claim(last):
    claim = make_claim("PROP1", subscriber=replace(make_claim().subscriber, last=last))
    try:
        text = build([claim])
    except ClaimNotWritable as exc:
        # The message is one of two fixed texts: nothing of the (PHI) value leaks into it.
        assert str(exc) in (
            "claim PROP1: subscriber last name contains an X12 separator character (~ * : ^)",
            "claim PROP1: subscriber last name must be 1 to 60 characters after cleaning",
        )
        return
    cleaned = to_x12_text(last)
    assert text.isascii() and cleaned == cleaned.upper()
    assert read_837p(text).claims[0].subscriber.last == cleaned
