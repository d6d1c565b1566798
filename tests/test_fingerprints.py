"""Claim and party fingerprints: one definition each, and the digests earlier releases stored."""

from __future__ import annotations

import typing

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.content import content_hash, reference_text
from tests.claim_factory import make_claim


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
