"""Claim and party fingerprints: one definition each, and the digests earlier releases stored."""

from __future__ import annotations

import typing
from datetime import UTC
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.claim import Claim
from ledger.content import content_hash, reference_text
from tests.claim_factory import make_claim
from tests.examples import scaled


def test_the_digest_is_the_sha256_of_the_reference_text() -> None:
    import hashlib

    claim = make_claim()
    assert content_hash(claim) == hashlib.sha256(reference_text(claim).encode()).hexdigest()


def test_party_fingerprints_keep_the_values_stored_by_earlier_releases() -> None:
    """Ingest finds a known party by its fingerprint: a change would store every party again."""
    from domain.claim import Relationship, RenderingLicense
    from ledger.claims import claim_party_records
    from tests.claim_factory import CHILD, PAY_TO_LOCKBOX, RENDERING_CLINICIAN, SCHOOL_CLINIC, SUPERVISOR

    claim = make_claim(patient=CHILD, relationship=Relationship.CHILD, rendering=RENDERING_CLINICIAN,
                       supervising=SUPERVISOR, rendering_license=RenderingLicense.SUPERVISED,
                       pay_to=PAY_TO_LOCKBOX, service_facility=SCHOOL_CLINIC)
    fingerprints = {role: None if record is None else record[0][1]
                    for role, record in claim_party_records(claim).items()}
    assert fingerprints == {
        "billing": "1889025434798f20b989ba10d94c4320cda6be3bf7a0115bae7150fc182c9762",
        "subscriber": "58bd17177104a8ee1d1aeebf4e0b2ed02a3e17b82eb18c3f7fa7db6838fc08c4",
        "patient": "ce42cecd197ffe08d2063b518a384d1144c22b176c28287430ad65a31314bdb2",
        "rendering": "6665f97c309cc6e730df86963a2ce502e03e96086e1da240732b7037886a65ec",
        "supervising": "264f4d7df25a0657727547621f6493bbd597a291014dbaa12f03f5d27cccfb25",
        "pay_to": "61d734cc54b7ee12de40ca720ef955d50625ba485af8f298a7ce8d8120d5330e",
        "service_facility": "0fd27cf2baa047979825b1ff07bbe76000f80cadbdff3a3291c09842f78c9b3f",
    }


_PARTY_TEXT = st.text() | st.none()


@settings(max_examples=scaled(300), deadline=None)
@given(st.dictionaries(st.text(min_size=1), _PARTY_TEXT | st.dates(), max_size=12))
def test_a_party_fingerprint_is_the_sha256_of_its_sorted_json(fields: dict[str, typing.Any]) -> None:
    import hashlib
    import json

    from ledger.claims import party_fingerprint

    reference = json.dumps({k: str(v) if v is not None and not isinstance(v, str) else v for k, v in fields.items()},
                           sort_keys=True)
    assert party_fingerprint(fields) == hashlib.sha256(reference.encode()).hexdigest()


def _variants() -> list[Claim]:
    """Claims that use every kind of content: parties, places, modifiers, amounts with and without cents."""
    from domain.claim import Relationship
    from tests.claim_factory import (
        CHILD,
        PAY_TO_LOCKBOX,
        RENDERING_CLINICIAN,
        SCHOOL_CLINIC,
        SUPERVISOR,
        make_line,
    )

    return [
        make_claim("FP1"),
        make_claim("FP2", lines=(make_line(charge=Decimal("180"), units=Decimal("1.5")),
                                 make_line("L2", charge=Decimal("99.90"), modifiers=("HO", "95"),
                                           diagnosis_pointers=(1, 2))),
                   diagnoses=("F331", "Z630")),
        make_claim("FP3", patient=CHILD, relationship=Relationship.CHILD, rendering=RENDERING_CLINICIAN,
                   supervising=SUPERVISOR, pay_to=PAY_TO_LOCKBOX, service_facility=SCHOOL_CLINIC,
                   prior_auth="PA12345"),
    ]


def test_the_reference_text_is_the_documented_canonical_json() -> None:
    """Sorted keys, no spaces, amounts as the 837 writes them, dates ISO, enums by value, no source."""
    import json

    from domain.claim import LineOfBusiness
    from tests.claim_factory import SUBSCRIBER

    text = reference_text(_variants()[1])
    decoded = json.loads(text)
    assert text == json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert [(line["charge"], line["units"]) for line in decoded["lines"]] == [("180", "1.5"), ("99.9", "1")]
    assert decoded["lines"][1]["modifiers"] == ["HO", "95"] and decoded["lines"][1]["diagnosis_pointers"] == [1, 2]
    assert decoded["lines"][0]["service_date"] == "2025-03-03"
    assert decoded["line_of_business"] == LineOfBusiness.COMMERCIAL.value
    assert decoded["subscriber"]["address"]["city"] == SUBSCRIBER.address.city
    assert decoded["patient"] is None
    assert "source" not in decoded and "extra" not in decoded and "source" not in decoded["lines"][0]


@pytest.mark.parametrize(("amount", "written"), [
    ("100.00", "100"), ("100.50", "100.5"), ("12.25", "12.25"), ("0.00", "0"), ("-0", "0"), ("1E+2", "100"),
    ("-5.10", "-5.1"), ("0.5", "0.5"), ("1000000", "1000000"),
])
def test_an_amount_is_written_without_exponent_or_trailing_zeros(amount: str, written: str) -> None:
    import json

    from tests.claim_factory import make_line

    claim = make_claim(lines=(make_line(charge=Decimal(amount)),))
    assert json.loads(reference_text(claim))["lines"][0]["charge"] == written


def test_equal_amounts_give_equal_digests_and_any_billed_change_a_different_one() -> None:
    from dataclasses import replace

    from tests.claim_factory import SCHOOL_CLINIC, make_line

    claim = make_claim(lines=(make_line(charge=Decimal("180.00")),))
    assert content_hash(claim) == content_hash(make_claim(lines=(make_line(charge=Decimal("180")),)))
    from domain.claim import Source

    assert content_hash(claim) == content_hash(replace(claim, source=Source("other.csv", 9),
                                                       extra=(("sbr09", "CI"),)))
    changed = [replace(claim, lines=(make_line(charge=Decimal("180.01")),)), replace(claim, diagnoses=("F332",)),
               replace(claim, service_facility=SCHOOL_CLINIC), replace(claim, prior_auth="PA1"),
               replace(claim, lines=(make_line(modifiers=("HO",)),))]
    assert len({content_hash(c) for c in [claim, *changed]}) == 1 + len(changed)


def test_a_value_with_no_canonical_encoding_is_refused_not_reprd() -> None:
    from tests.claim_factory import make_line

    with pytest.raises(TypeError, match="float"):
        content_hash(make_claim(lines=(make_line(charge=180.0),)))
    with pytest.raises(TypeError, match="finite"):
        content_hash(make_claim(lines=(make_line(charge=Decimal("NaN")),)))


def test_the_ledger_rebuilds_the_digest_it_stored(ledger_url: str) -> None:
    """A claim read back from its rows has the fingerprint of the claim read from the export."""
    from sqlalchemy import select

    from ledger.claims import load_domain_claims
    from ledger.db import Ledger
    from ledger.ingest import ingest_claims
    from ledger.models import Claim as ClaimRow
    from tests.ledger_helpers import no_findings

    ledger = Ledger(ledger_url)
    claims = _variants()
    ingest_claims(ledger, claims, checker=no_findings, actor="t")
    with ledger.session() as session:
        rows = list(session.scalars(select(ClaimRow).order_by(ClaimRow.claim_id)))
        rebuilt = load_domain_claims(session, rows)
        assert [row.content_hash for row in rows] == [content_hash(c) for c in claims]
        assert [content_hash(c) for c in rebuilt] == [content_hash(c) for c in claims]
    ledger.dispose()


def test_claims_read_back_together_share_their_equal_records(ledger_url: str) -> None:
    """A build reads thousands of claims that name the same lines, subscribers and patients: each equal
    record is made once (a frozen record costs a call per field), and every claim still reads back whole."""
    from sqlalchemy import select

    from domain.claim import Relationship
    from ledger.claims import load_domain_claims
    from ledger.db import Ledger
    from ledger.ingest import ingest_claims
    from ledger.models import Claim as ClaimRow
    from tests.claim_factory import CHILD
    from tests.ledger_helpers import no_findings

    ledger = Ledger(ledger_url)
    claims = [make_claim("SH1"), make_claim("SH2"), make_claim("SH3", patient=CHILD, relationship=Relationship.CHILD),
              make_claim("SH4", patient=CHILD, relationship=Relationship.CHILD)]
    ingest_claims(ledger, claims, checker=no_findings, actor="t")
    with ledger.session() as session:
        first, second, third, fourth = load_domain_claims(
            session, list(session.scalars(select(ClaimRow).order_by(ClaimRow.claim_id))))
    ledger.dispose()
    assert [content_hash(c) for c in (first, second, third, fourth)] == [content_hash(c) for c in claims]
    assert first.lines[0] is second.lines[0] is third.lines[0]
    assert first.subscriber is second.subscriber
    assert third.patient is fourth.patient is not None


def test_migration_0008_stores_the_canonical_digest_of_every_claim(db_url: str) -> None:
    """Claims stored under the earlier definition get the digest the ingest now compares with."""
    import sqlalchemy as sa

    from ledger.db import Ledger, downgrade, upgrade
    from ledger.ingest import ingest_claims
    from tests.ledger_helpers import no_findings

    upgrade(db_url)
    ledger = Ledger(db_url)
    claims = _variants()
    ingest_claims(ledger, claims, checker=no_findings, actor="t")
    ledger.dispose()
    downgrade(db_url, "0007")
    ledger = Ledger(db_url)
    with ledger.session() as session:
        session.execute(sa.text("UPDATE claims SET content_hash = :old"), {"old": "0" * 64})
    ledger.dispose()
    upgrade(db_url)
    ledger = Ledger(db_url)
    with ledger.session() as session:
        stored = dict(session.execute(sa.text("SELECT claim_id, content_hash FROM claims")).all())
    assert stored == {c.claim_id: content_hash(c) for c in claims}
    report = ingest_claims(ledger, claims, checker=no_findings, actor="t")
    assert sorted(report.unchanged) == sorted(c.claim_id for c in claims)
    ledger.dispose()


def _by_definition(value: typing.Any) -> typing.Any:
    """The module docstring's rules as a tree for ``json.dumps``: what the compiled writers must equal."""
    import dataclasses
    import enum
    from datetime import date

    if isinstance(value, enum.Enum):
        return _by_definition(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        text = format(value, "f")
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text in ("-0", "") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_by_definition(item) for item in value]
    assert dataclasses.is_dataclass(value)
    return {f.name: _by_definition(getattr(value, f.name)) for f in dataclasses.fields(value)
            if f.name not in ("source", "extra")}


class _Text(str):
    """A str subclass: not the declared ``str``, so it takes the general path."""


_ANY_TEXT = st.text() | st.text().map(_Text)
_ODD_VALUES = st.none() | _ANY_TEXT | st.integers() | st.booleans() | st.dates() | \
    st.decimals(allow_nan=False, allow_infinity=False, places=3) | st.tuples(_ANY_TEXT, st.integers())


@settings(max_examples=scaled(200), deadline=None)
@given(texts=st.lists(_ANY_TEXT, min_size=6, max_size=6), odd=st.lists(_ODD_VALUES, min_size=6, max_size=6),
       claim_number=st.sampled_from(range(3)))
def test_the_compiled_writers_write_what_the_definition_says(texts: list[str], odd: list[typing.Any],
                                                             claim_number: int) -> None:
    """Each field tried as its declared type first is only an order of tests: any text (quotes,
    backslashes, control and non-ASCII characters, a str subclass) and values of other types than
    declared (None, numbers, booleans, dates, tuples) are written as the dict tree's ``json.dumps``."""
    import json
    from dataclasses import replace

    from domain.claim import Address

    claim = _variants()[claim_number]
    line = replace(claim.lines[0], line_id=texts[0], procedure_code=odd[0], units=odd[1], modifiers=(texts[1], odd[2]))
    subscriber = replace(claim.subscriber, last=texts[2], dob=odd[3],
                         address=Address(texts[3], odd[4], texts[4], texts[5]))
    claim = replace(claim, lines=(line, *claim.lines[1:]), subscriber=subscriber, prior_auth=odd[5],
                    payer_name=texts[0])
    expected = json.dumps(_by_definition(claim), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert reference_text(claim) == expected


@settings(max_examples=scaled(200), deadline=None)
@given(amounts=st.lists(st.decimals(min_value=Decimal("-1E+12"), max_value=Decimal("1E+12"), allow_nan=False,
                                    allow_infinity=False), min_size=1, max_size=8),
       exponent=st.integers(-4, 3))
def test_remembered_amounts_are_written_as_a_fresh_write_writes_them(amounts: list[Decimal], exponent: int) -> None:
    """Equal amounts in other exponents (``100``, ``100.00``, ``1E+2``) share the memo's text, which
    must be the one the definition gives each of them."""
    from ledger import content

    for amount in amounts:
        for value in (amount, amount.scaleb(exponent).scaleb(-exponent), amount.quantize(Decimal("0.0001")), -amount):
            assert content._amount_text(value) == '"' + content._amount(value) + '"'


def test_a_remembered_date_is_never_written_for_an_equal_datetime() -> None:
    """A date's text is remembered; an aware datetime equals every other naming its instant, so its
    text must not be (``2025-03-03T12:00:00+00:00`` is not ``2025-03-03T07:00:00-05:00``)."""
    from datetime import date, datetime, timedelta, timezone

    from ledger import content

    utc = datetime(2025, 3, 3, 12, tzinfo=UTC)
    eastern = utc.astimezone(timezone(timedelta(hours=-5)))
    assert content._date_text(date(2025, 3, 3)) == '"2025-03-03"' == content._date_text(date(2025, 3, 3))
    assert content._date_text(utc) == '"2025-03-03T12:00:00+00:00"'
    assert content._date_text(eastern) == '"2025-03-03T07:00:00-05:00"'
    assert content._date_text(datetime(2025, 3, 3)) == '"2025-03-03T00:00:00"'


def test_the_memos_stop_growing_at_their_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date, timedelta

    from ledger import content

    monkeypatch.setattr(content, "MEMO_LIMIT", 3)
    monkeypatch.setattr(content, "_AMOUNT_TEXTS", {})
    monkeypatch.setattr(content, "_DATE_TEXTS", {})
    for n in range(10):
        assert content._amount_text(Decimal(n) / 4) == '"' + content._amount(Decimal(n) / 4) + '"'
        assert content._date_text(date(2025, 1, 1) + timedelta(n)) == f'"{date(2025, 1, 1) + timedelta(n)}"'
    assert len(content._AMOUNT_TEXTS) == 3 and len(content._DATE_TEXTS) == 3
    with pytest.raises(TypeError, match="finite"):
        content._amount_text(Decimal("sNaN"))
