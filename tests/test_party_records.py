"""A claim's party records are those of their definition: the fields as ``_address_fields`` merges
them and ``party_fingerprint`` of those fields, whatever the values and however a record is made."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.claim import Address, Frequency, LineOfBusiness, Patient, Subscriber
from ledger import claims
from ledger.claims import (
    PartyRecord,
    _address_fields,
    _facility_record,
    _patient_record,
    _pay_to_record,
    _provider_record,
    _subscriber_record,
    claim_party_records,
    party_fingerprint,
)
from tests.claim_factory import (
    BILLING_GROUP,
    CHILD,
    PAY_TO_LOCKBOX,
    RENDERING_CLINICIAN,
    SCHOOL_CLINIC,
    SUBSCRIBER,
    SUPERVISOR,
    make_claim,
)
from tests.examples import scaled


class Name(str):
    """Text of a subclass of str: written as its characters, as ``_json_value`` writes any str."""

    def __repr__(self) -> str:
        return f"Name({str(self)!r})"


class LocalDate(date):
    """A date whose ISO text needs escaping: only the generic writer may write it."""

    def isoformat(self) -> str:
        return f'"{super().isoformat()}é\\'


_TEXT = st.text(st.characters(blacklist_categories=())) | st.sampled_from(['"', "\\", "\x00\x1f", "é", "\ud800", "😀"])
_WORDS = _TEXT | _TEXT.map(Name)  # the values a parsed party holds: the fast text writes them
_ANY = _WORDS | st.none() | st.integers() | st.dates()  # and what only the definition may write
_DOB = st.dates() | st.datetimes() | st.dates().map(lambda d: LocalDate(d.year, d.month, d.day)) | st.none() | _TEXT


def _subscribers(value: st.SearchStrategy[Any], dob: st.SearchStrategy[Any]) -> st.SearchStrategy[Subscriber]:
    address = st.builds(Address, line1=value, city=value, state=value, zip=value)
    return st.builds(Subscriber, member_id=value, last=value, first=value, dob=dob, sex=value, address=address)


def _patients(value: st.SearchStrategy[Any], dob: st.SearchStrategy[Any]) -> st.SearchStrategy[Patient]:
    return st.builds(Patient, last=value, first=value, dob=dob, sex=value)


def _defined(role: str, fields: dict[str, Any]) -> PartyRecord | type[Exception]:
    """The record by definition, or the exception the definition raises for a value it cannot write."""
    try:
        return (role, party_fingerprint(fields)), fields
    except TypeError:
        return TypeError


def _made(make: Any, record: Any) -> PartyRecord | type[Exception] | None:
    try:
        return make(record)
    except TypeError:
        return TypeError


@settings(max_examples=scaled(300), deadline=None)
@given(_subscribers(_WORDS, st.dates()) | _subscribers(_ANY, _DOB) | _subscribers(_WORDS, _DOB)
       | _subscribers(_WORDS, st.dates()).map(lambda sub: dataclasses.replace(sub, address=None)))
def test_a_member_record_is_its_definition_for_any_values(sub: Subscriber) -> None:
    defined = _defined("subscriber", {"member_id": sub.member_id, "last_or_org": sub.last, "first": sub.first,
                                      "dob": sub.dob, "sex": sub.sex, **_address_fields(sub.address)})
    made = _made(_subscriber_record, sub)
    assert made == defined
    if made is not TypeError:
        assert list(made[1]) == list(defined[1])  # type: ignore[index]  # the same column order too


@settings(max_examples=scaled(300), deadline=None)
@given(_patients(_WORDS, st.dates()) | _patients(_ANY, _DOB) | _patients(_WORDS, _DOB))
def test_a_patient_record_is_its_definition_for_any_values(patient: Patient) -> None:
    defined = _defined("patient", {"last_or_org": patient.last, "first": patient.first, "dob": patient.dob,
                                   "sex": patient.sex})
    made = _made(_patient_record, patient)
    assert made == defined
    if made is not TypeError:
        assert list(made[1]) == list(defined[1])  # type: ignore[index]


def test_providers_remembered_per_value_give_their_own_records() -> None:
    """Equal providers that are other objects, and changed ones, each get their own record."""
    renamed = [dataclasses.replace(BILLING_GROUP, last_or_org=f"GROUP {n}") for n in range(5)]
    twins = [dataclasses.replace(BILLING_GROUP) for _ in range(3)]
    for _ in range(2):
        for billing in [*renamed, *twins, BILLING_GROUP]:
            for pay_to in (PAY_TO_LOCKBOX, dataclasses.replace(PAY_TO_LOCKBOX, city="SALEM")):
                claim = make_claim(billing=billing, rendering=RENDERING_CLINICIAN, supervising=SUPERVISOR,
                                   patient=CHILD, pay_to=pay_to, service_facility=SCHOOL_CLINIC)
                assert claim_party_records(claim) == {
                    "billing": _provider_record(billing),
                    "subscriber": _subscriber_record(SUBSCRIBER),
                    "patient": _patient_record(CHILD),
                    "rendering": _provider_record(RENDERING_CLINICIAN),
                    "supervising": _provider_record(SUPERVISOR),
                    "pay_to": _pay_to_record(pay_to),
                    "service_facility": _facility_record(SCHOOL_CLINIC),
                }
    assert len({claim_party_records(make_claim(billing=b))["billing"][0] for b in renamed}) == 5  # type: ignore[index]


def test_a_claim_without_optional_parties_has_none_for_them() -> None:
    records = claim_party_records(make_claim())
    assert {role for role, record in records.items() if record is None} == {
        "patient", "rendering", "supervising", "pay_to", "service_facility"}



@pytest.mark.parametrize("frequency", list(Frequency))
@pytest.mark.parametrize("line_of_business", list(LineOfBusiness))
def test_claim_columns_hold_each_codes_value_as_plain_text(frequency: Frequency,
                                                          line_of_business: LineOfBusiness) -> None:
    claim = dataclasses.replace(make_claim("COLS-1"), frequency=frequency, line_of_business=line_of_business,
                                original_claim_number=None if frequency is Frequency.ORIGINAL else "ORIG-1")
    columns = claims.claim_columns(claim)
    expected = {"frequency": frequency.value, "line_of_business": line_of_business.value,
                "relationship_code": claim.relationship.value, "rendering_license": claim.rendering_license.value}
    assert {name: columns[name] for name in expected} == expected
    assert all(type(columns[name]) is str for name in expected)
