"""The content fingerprint of a claim: what would be billed, not where it was read.

Re-ingesting an export compares this fingerprint with the stored one, so it must
never change for the same content: it is the sha256 of ``reference_text`` — the
``repr`` of the claim's fields (source and lines left out) and of its lines' fields
(source left out), the two fields added later (pay-to, service facility) only when
set.  The repr of frozen dataclasses of strings, Decimals, dates and enums is
deterministic.  Claims stored since the first release carry it; tests pin known
digests.

Ingest fingerprints every claim of an export, and the generic dataclass ``repr``
(a recursion guard per object, an f-string per field) was a tenth of its time:
``content_text`` writes the same characters with one f-string per record, and
remembers the text of what an export repeats: providers, amounts, modifier and
pointer lists (per object, ``ledger.memo``), dates (per value).  Tests hold it to
``reference_text`` on generated claims; the field lists below are checked at import,
so a field added to a record cannot slip past it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from operator import attrgetter
from typing import Any

from domain.claim import (
    Address,
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
from domain.claim import Claim as DomainClaim
from ledger.memo import ByIdentity, ByValue

LATER_CONTENT = ("pay_to", "service_facility")  # fields added after claims were first stored
CLAIM_CONTENT = tuple(
    f.name for f in dataclasses.fields(DomainClaim) if f.name not in ("source", "lines", *LATER_CONTENT)
)
LINE_CONTENT = tuple(f.name for f in dataclasses.fields(ServiceLine) if f.name != "source")

_claim_content = attrgetter(*CLAIM_CONTENT)
_line_content = attrgetter(*LINE_CONTENT)
_later_content = attrgetter(*LATER_CONTENT)


def reference_text(claim: DomainClaim) -> str:
    """What the fingerprint is of, by its definition."""
    content: tuple[Any, ...] = (_claim_content(claim), tuple(map(_line_content, claim.lines)))
    optional = _later_content(claim)
    if optional != (None, None):
        # Counted only when set, so that the claims stored before these fields keep their hash.
        content = (*content, optional)
    return repr(content)


def content_hash(claim: DomainClaim) -> str:
    """A fingerprint of what would be billed; the source file and line do not count."""
    return hashlib.sha256(content_text(claim).encode()).hexdigest()


# --- content_text: reference_text, written directly -------------------------------------------

_WRITTEN_FIELDS = {
    DomainClaim: (*CLAIM_CONTENT, "source", "lines", *LATER_CONTENT),
    ServiceLine: (*LINE_CONTENT, "source"),
    Address: ("line1", "city", "state", "zip"),
    Subscriber: ("member_id", "last", "first", "dob", "sex", "address"),
    Patient: ("last", "first", "dob", "sex"),
    Provider: ("npi", "last_or_org", "first", "entity_type", "taxonomy", "tax_id", "address"),
    ServiceFacility: ("name", "address", "npi"),
}
for _record, _names in _WRITTEN_FIELDS.items():
    if {f.name for f in dataclasses.fields(_record) if f.repr} != set(_names):
        raise ValueError(f"ledger.content writes {_record.__name__} with other fields than it has")
if CLAIM_CONTENT != ("claim_id", "line_of_business", "payer_id", "subscriber", "billing", "diagnoses", "frequency",
                     "original_claim_number", "payer_name", "relationship", "patient", "rendering",
                     "rendering_license", "supervising", "prior_auth", "extra") or LINE_CONTENT != (
        "line_id", "service_date", "procedure_code", "charge", "units", "place_of_service", "modifiers",
        "diagnosis_pointers"):
    raise ValueError("ledger.content writes the claim's fields in another order than the dataclass has them")

# Enum members live as long as their class: by id, a lookup costs no call of ``Enum.__hash__``.
_ENUM_TEXT: dict[int, str] = {
    id(member): repr(member)
    for kind in (Frequency, LineOfBusiness, Relationship, RenderingLicense) for member in kind
}
_enum_text = _ENUM_TEXT.get

# A date's repr is the dearest part of a line's text.  The parser makes a new date object per row,
# but an export's service dates are few and its members' birth dates repeat: the text is remembered
# by value, for a ``date`` itself only (an instance of a subclass can equal a date, with another repr).
_date_text = ByValue(repr, limit=16384)

# The parser hands out one object per distinct amount, modifier list, pointer list and diagnosis
# list: their text is remembered per object, not per equal value, since Decimal('65.0') equals
# Decimal('65.00') and 1 equals Decimal(1), with other reprs.  Written inline as
# ``(_known_repr(id(x)) or _new_repr(x))[1]``: a call per value would cost what the repr does.
_shared_repr = ByIdentity(repr)
_known_repr = _shared_repr.entry
_new_repr = _shared_repr.remember


def _address(a: Address | None) -> str:
    if a is None:
        return "None"
    return f"Address(line1={a.line1!r}, city={a.city!r}, state={a.state!r}, zip={a.zip!r})"


def _subscriber(s: Subscriber) -> str:
    dob = s.dob
    return (f"Subscriber(member_id={s.member_id!r}, last={s.last!r}, first={s.first!r}, "
            f"dob={_date_text[dob] if type(dob) is date else repr(dob)}, "
            f"sex={s.sex!r}, address={_address(s.address)})")


def _patient(p: Patient | None) -> str:
    if p is None:
        return "None"
    dob = p.dob
    return (f"Patient(last={p.last!r}, first={p.first!r}, "
            f"dob={_date_text[dob] if type(dob) is date else repr(dob)}, sex={p.sex!r})")


def _provider_text(p: Provider) -> str:
    return (f"Provider(npi={p.npi!r}, last_or_org={p.last_or_org!r}, first={p.first!r}, "
            f"entity_type={p.entity_type!r}, taxonomy={p.taxonomy!r}, tax_id={p.tax_id!r}, "
            f"address={_address(p.address)})")


# Written inline as ``(_known_provider(id(p)) or _new_provider(p))[1]`` (see ``_shared_repr``).
_provider_texts = ByIdentity(_provider_text)
_known_provider = _provider_texts.entry
_new_provider = _provider_texts.remember


def _facility(f: ServiceFacility | None) -> str:
    if f is None:
        return "None"
    return f"ServiceFacility(name={f.name!r}, address={_address(f.address)}, npi={f.npi!r})"


def _line(line: ServiceLine) -> str:
    day, charge, units, modifiers, pointers = (
        line.service_date, line.charge, line.units, line.modifiers, line.diagnosis_pointers)
    return (f"({line.line_id!r}, {_date_text[day] if type(day) is date else repr(day)}, "
            f"{line.procedure_code!r}, {(_known_repr(id(charge)) or _new_repr(charge))[1]}, "
            f"{(_known_repr(id(units)) or _new_repr(units))[1]}, {line.place_of_service!r}, "
            f"{(_known_repr(id(modifiers)) or _new_repr(modifiers))[1]}, "
            f"{(_known_repr(id(pointers)) or _new_repr(pointers))[1]})")


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def content_text(claim: DomainClaim) -> str:
    """``reference_text(claim)``, the same characters, several times faster."""
    c = claim
    line_of_business, frequency, relationship, license_ = (
        c.line_of_business, c.frequency, c.relationship, c.rendering_license)
    billing, rendering, supervising, diagnoses = c.billing, c.rendering, c.supervising, c.diagnoses
    known, new = _known_provider, _new_provider
    fields = (f"({c.claim_id!r}, {_enum_text(id(line_of_business)) or repr(line_of_business)}, "
              f"{c.payer_id!r}, {_subscriber(c.subscriber)}, "
              f"{(known(id(billing)) or new(billing))[1]}, "
              f"{(_known_repr(id(diagnoses)) or _new_repr(diagnoses))[1]}, "
              f"{_enum_text(id(frequency)) or repr(frequency)}, {c.original_claim_number!r}, {c.payer_name!r}, "
              f"{_enum_text(id(relationship)) or repr(relationship)}, {_patient(c.patient)}, "
              f"{'None' if rendering is None else (known(id(rendering)) or new(rendering))[1]}, "
              f"{_enum_text(id(license_)) or repr(license_)}, "
              f"{'None' if supervising is None else (known(id(supervising)) or new(supervising))[1]}, "
              f"{c.prior_auth!r}, {c.extra!r})")
    lines = _tuple([_line(line) for line in c.lines])
    if c.pay_to is None and c.service_facility is None:
        return f"({fields}, {lines})"
    return f"({fields}, {lines}, ({_address(c.pay_to)}, {_facility(c.service_facility)}))"
