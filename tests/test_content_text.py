"""The fast content text is the reference text, character for character, for any claim."""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime
from decimal import Decimal
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.claim import Address, Claim, Patient, Provider, ServiceFacility, ServiceLine, Source, Subscriber
from ledger import content
from ledger.content import content_hash, content_text, reference_text
from tests.claim_factory import BILLING_GROUP, CHILD, RENDERING_CLINICIAN, SUBSCRIBER, make_claim, make_line


def _every_field(record: type) -> st.SearchStrategy[typing.Any]:
    """Every field drawn from its type, defaults included (``st.builds`` would leave those out)."""
    hints = typing.get_type_hints(record)
    return st.builds(record, **{f.name: _strategy(hints[f.name]) for f in dataclasses.fields(record)})


def _strategy(hint: typing.Any) -> st.SearchStrategy[typing.Any]:
    records = {Address, Subscriber, Patient, Provider, ServiceFacility, Source}
    args = typing.get_args(hint)
    if hint in records:
        return _every_field(hint)
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)][0]
        return st.none() | _strategy(inner)
    if typing.get_origin(hint) is tuple and args and args[-1] is Ellipsis and args[0] is ServiceLine:
        return st.lists(_every_field(ServiceLine), min_size=1, max_size=4).map(tuple)
    return st.from_type(hint)


@settings(max_examples=300, deadline=None)
@given(_every_field(Claim))
def test_the_content_text_is_the_reference_text(claim: Claim) -> None:
    assert content_text(claim) == reference_text(claim)


def test_a_provider_shared_by_claims_is_written_once_and_still_right() -> None:
    claim = make_claim()
    first = content_text(claim)
    assert content.reference_text(claim) == first
    renamed = dataclasses.replace(claim, billing=dataclasses.replace(claim.billing, last_or_org="ELSEWHERE CLINIC"))
    assert content_text(renamed) == reference_text(renamed) != first
    assert content_text(claim) == first


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


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1), _PARTY_TEXT | st.dates(), max_size=12))
def test_a_party_fingerprint_is_the_sha256_of_its_sorted_json(fields: dict[str, typing.Any]) -> None:
    import hashlib
    import json

    from ledger.claims import party_fingerprint

    reference = json.dumps({k: str(v) if v is not None and not isinstance(v, str) else v for k, v in fields.items()},
                           sort_keys=True)
    assert party_fingerprint(fields) == hashlib.sha256(reference.encode()).hexdigest()


class LocalDate(date):
    """Equal to the date of the same day, with another repr."""


class Modifier(str):
    def __repr__(self) -> str:
        return f"Modifier({str(self)!r})"


def test_equal_values_with_other_reprs_each_keep_their_own_text() -> None:
    """Decimals, tuples and dates are remembered per object (per value for a date itself): a value
    equal to one already written, with another repr, is written as itself."""
    day = date(2026, 1, 2)
    variants = [
        dict(service_date=day, charge=Decimal("65.0"), units=Decimal("1"), modifiers=("95",), diagnosis_pointers=(1,)),
        dict(service_date=LocalDate(2026, 1, 2), charge=Decimal("65.00"), units=Decimal("1.0"),
             modifiers=(Modifier("95"),), diagnosis_pointers=(True,)),
        dict(service_date=datetime(2026, 1, 2), charge=Decimal("6.5E+1"), units=1, modifiers=("95",),
             diagnosis_pointers=(1.0,)),
    ]
    claims = [make_claim(lines=(make_line(**fields), make_line("L2", **fields)),
                         subscriber=dataclasses.replace(SUBSCRIBER, dob=fields["service_date"]),
                         patient=dataclasses.replace(CHILD, dob=fields["service_date"]),
                         diagnoses=("F331", Modifier("F332")) if n else ("F331", "F332"))
              for n, fields in enumerate(variants)]
    texts = [content_text(claim) for claim in [*claims, *reversed(claims), *claims]]
    assert texts == [reference_text(claim) for claim in [*claims, *reversed(claims), *claims]]
    assert len(set(texts)) == len(claims)


_AMOUNTS = st.decimals() | st.integers(0, 3)
_DAYS = st.dates() | st.dates().map(lambda d: LocalDate(d.year, d.month, d.day)) | st.datetimes()
_TUPLES = st.lists(st.integers(1, 3) | st.booleans(), max_size=3).map(tuple) | st.lists(
    st.sampled_from(["95", "HO"]) | st.sampled_from(["95", "HO"]).map(Modifier), max_size=2).map(tuple)


@settings(max_examples=150, deadline=None)
@given(st.lists(_AMOUNTS, min_size=1, max_size=4), st.lists(_DAYS, min_size=1, max_size=4),
       st.lists(_TUPLES, min_size=1, max_size=4), st.data())
def test_values_shared_by_lines_and_claims_are_written_right_past_the_memo_limits(
        amounts: list[typing.Any], days: list[date], tuples: list[tuple[typing.Any, ...]], data: st.DataObject) -> None:
    """The parser shares one object per distinct amount or list among lines and claims; the memos
    are bounded (here to two entries), so entries come and go while the objects live on."""
    pick = st.sampled_from
    with patch.object(content._shared_repr, "_limit", 2), patch.object(content._date_text, "_limit", 2), \
            patch.object(content._provider_texts, "_limit", 2):
        for n in range(4):
            lines = tuple(
                make_line(f"L{i}", service_date=data.draw(pick(days)), charge=data.draw(pick(amounts)),
                          units=data.draw(pick(amounts)), modifiers=data.draw(pick(tuples)),
                          diagnosis_pointers=data.draw(pick(tuples)))
                for i in range(data.draw(st.integers(1, 3))))
            claim = make_claim(f"C{n}", lines=lines, diagnoses=data.draw(pick(tuples)),
                               subscriber=dataclasses.replace(SUBSCRIBER, dob=data.draw(pick(days))),
                               billing=data.draw(pick([BILLING_GROUP, dataclasses.replace(BILLING_GROUP)])),
                               rendering=data.draw(pick([None, RENDERING_CLINICIAN])),
                               patient=data.draw(pick([None, dataclasses.replace(CHILD, dob=data.draw(pick(days)))])))
            assert content_text(claim) == reference_text(claim)
