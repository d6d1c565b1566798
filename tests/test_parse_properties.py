"""Round trips: claims → canonical CSV (or XML) → parse gives the same claims, stably."""

from __future__ import annotations

import string
import tempfile
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.claim import (
    Address,
    Claim,
    Frequency,
    LineOfBusiness,
    Patient,
    Provider,
    Relationship,
    RenderingLicense,
    ServiceLine,
    Subscriber,
)
from parsers.export import parse_export
from parsers.writer import csv_export_text, xml_export_bytes
from tests.examples import scaled

TODAY = date(2026, 11, 1)
SETTINGS = settings(max_examples=scaled(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Names may hold commas, quotes and non-ASCII letters (RFC 4180 quoting, 837 transliteration
# happens later); never X12 separators, control characters or a formula start.
NAME_ALPHABET = string.ascii_letters + "éøñüßÅçÑ' ,\".-"


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(NAME_ALPHABET, min_size=1, max_size=max_size).filter(
        lambda s: s == s.strip() and s[0] not in "=+-@"
    )


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=n, max_size=n)


ALNUM = string.ascii_uppercase + string.digits
names_60, names_35 = _text(60), _text(35)
npis = _digits(10)
taxonomies = st.builds(lambda a, b: a + b + "X", _digits(3), st.text(ALNUM, min_size=6, max_size=6))
dates_of_birth = st.dates(date(1920, 1, 1), date(2026, 10, 31))
sexes = st.sampled_from("MFU")
addresses = st.builds(
    Address,
    _text(55),
    _text(30),
    st.text(string.ascii_uppercase, min_size=2, max_size=2),
    st.one_of(_digits(5), _digits(9)),
)
diagnosis_codes = st.builds(
    lambda a, b, c, rest: a + b + c + rest,
    st.sampled_from("FZ"),
    st.sampled_from(string.digits),
    st.sampled_from(ALNUM),
    st.text(ALNUM, max_size=4),
)


@st.composite
def service_lines(draw, number: int, diagnosis_count: int) -> ServiceLine:
    pointers = draw(st.lists(st.integers(1, diagnosis_count), min_size=1, max_size=4, unique=True))
    return ServiceLine(
        line_id=f"L{number}",
        service_date=draw(st.dates(date(2026, 1, 1), TODAY)),
        procedure_code=draw(
            st.one_of(_digits(5), st.builds(str.__add__, st.sampled_from("HGT"), _digits(4)))
        ),
        charge=Decimal(draw(st.integers(0, 10**7))).scaleb(-2),
        units=Decimal(draw(st.integers(1, 9999))).scaleb(-draw(st.integers(0, 1))),
        place_of_service=draw(_digits(2)),
        modifiers=tuple(draw(st.lists(st.text(ALNUM, min_size=2, max_size=2), max_size=4))),
        diagnosis_pointers=tuple(pointers),
    )


@st.composite
def claims(draw, claim_id: str) -> Claim:
    diagnoses = tuple(draw(st.lists(diagnosis_codes, min_size=1, max_size=12, unique=True)))
    line_count = draw(st.integers(1, 4))
    lines = tuple(draw(service_lines(n, len(diagnoses))) for n in range(1, line_count + 1))
    relationship = draw(st.sampled_from(Relationship))
    patient = None
    if relationship is not Relationship.SELF:
        patient = Patient(draw(names_60), draw(names_35), draw(dates_of_birth), draw(sexes))
    rendering = draw(st.none() | st.builds(Provider, npis, names_60, names_35, st.just("1"), taxonomies))
    license_ = RenderingLicense.INDEPENDENT
    supervising = None
    if rendering is not None and draw(st.booleans()):
        license_ = RenderingLicense.SUPERVISED
        supervising = Provider(draw(npis), draw(names_60), draw(names_35))
    billing_npi = draw(npis.filter(lambda n: rendering is None or n != rendering.npi))
    frequency = draw(st.sampled_from(Frequency))
    return Claim(
        claim_id=claim_id,
        line_of_business=draw(st.sampled_from(LineOfBusiness)),
        payer_id=draw(st.sampled_from(["87726", "04293"])),
        subscriber=Subscriber(
            draw(st.text(ALNUM, min_size=1, max_size=20)),
            draw(names_60),
            draw(names_35),
            draw(dates_of_birth),
            draw(sexes),
            draw(addresses),
        ),
        billing=Provider(
            billing_npi,
            draw(names_60),
            entity_type="2",
            taxonomy=draw(taxonomies),
            tax_id=draw(_digits(9)),
            address=replace(draw(addresses), zip=draw(_digits(9))),
        ),
        diagnoses=diagnoses,
        lines=lines,
        frequency=frequency,
        original_claim_number=draw(st.text(ALNUM, min_size=1, max_size=20))
        if frequency != Frequency.ORIGINAL
        else None,
        relationship=relationship,
        patient=patient,
        rendering=rendering,
        rendering_license=license_,
        supervising=supervising,
        prior_auth=draw(st.none() | st.text(ALNUM, min_size=1, max_size=15)),
    )


claim_batches = st.integers(1, 4).flatmap(lambda n: st.tuples(*(claims(f"C-{i}") for i in range(n))))


def without_sources(items):
    return [
        replace(c, source=None, lines=tuple(replace(line, source=None) for line in c.lines)) for c in items
    ]


def _parse(data: str | bytes, suffix: str):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"export{suffix}"
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8", newline="")
        else:
            path.write_bytes(data)
        return parse_export(path, today=TODAY)


@SETTINGS
@given(claim_batches)
def test_csv_round_trip_is_stable(batch) -> None:
    first_text = csv_export_text(batch)
    first = _parse(first_text, ".csv")
    assert first.errors == (), [str(e) for e in first.errors]
    assert without_sources(first.claims) == list(batch)
    second_text = csv_export_text(first.claims)
    assert second_text == first_text
    assert without_sources(_parse(second_text, ".csv").claims) == without_sources(first.claims)


@SETTINGS
@given(claim_batches)
def test_xml_and_csv_give_equal_claims(batch) -> None:
    from_csv = _parse(csv_export_text(batch), ".csv")
    from_xml = _parse(xml_export_bytes(batch), ".xml")
    assert from_xml.errors == (), [str(e) for e in from_xml.errors]
    assert without_sources(from_xml.claims) == without_sources(from_csv.claims)
