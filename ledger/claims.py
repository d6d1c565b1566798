"""Claims in the ledger: storing a ``domain.Claim``, reading it back, moving its status.

Every status change goes through ``transition`` so that it lands in the
append-only event log with who, when, from and to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from hashlib import sha256
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Dialect, func, select, update
from sqlalchemy.orm import Session, object_session

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
from ledger.bulk import BulkWriter, rows_where_in
from ledger.models import Claim, ClaimEvent, Party
from ledger.models import ServiceLine as LineRow
from ledger.postings import prepare_claims_update
from ledger.totals import NOTHING_POSTED
from ledger.types import Money, utcnow


class ClaimState(Protocol):
    """A stored claim as a bulk caller knows it: its id and the status it moves from."""

    @property
    def id(self) -> int | None: ...

    @property
    def status(self) -> str: ...


def transition(session: Session, claims: Claim | Sequence[ClaimState], to_status: str, *, actor: str, event: str,
               detail: str | None | Sequence[str | None] = None,
               payer_claim_numbers: Sequence[str | None] | None = None,
               posted: Sequence[Sequence[Decimal] | None] | None = None) -> None:
    """Move one claim or many to ``to_status`` and append each one's audit row (also for a first status).

    Many claims: one UPDATE (ORM claims: one per few hundred ids) and one bulk insert of their
    events, so that bulk callers keep the one audited path; ``detail`` is then one text for all or one
    per claim.  They may be ORM claims (the session's objects follow) or ``ClaimState``s of a caller that
    reads claims without the ORM (posting: ``prepare_transition``), whose ``status`` is the one each moves from.
    """
    if isinstance(claims, Claim):
        if detail is not None and not isinstance(detail, str):
            raise TypeError("one claim takes one detail")
        _transition_one(session, claims, to_status, actor=actor, event=event, detail=detail)
        return
    rows = list(claims)
    if not any(isinstance(row, Claim) for row in rows):
        prepare_transition(BulkWriter(session), rows, to_status, actor=actor, event=event, detail=detail,
                           payer_claim_numbers=payer_claim_numbers, posted=posted)()
        return
    if payer_claim_numbers is not None or posted is not None:
        raise ValueError("payer claim numbers and posted money go one per claim, with claims read without the ORM")
    details = _details(detail, len(rows))
    stored = [(row, text) for row, text in zip(rows, details, strict=True) if row.id is not None]
    for row, text in zip(rows, details, strict=True):
        if row.id is None:
            assert isinstance(row, Claim), "a claim without an id is a new ORM claim"
            _transition_one(session, row, to_status, actor=actor, event=event, detail=text)
    if not stored:
        return
    now = utcnow()
    events = [(row.id, now, actor, event, row.status, to_status, text) for row, text in stored]  # statuses before
    ids = [row.id for row, _ in stored]
    for start in range(0, len(ids), _IDS_PER_UPDATE):  # the ORM UPDATE keeps the session's objects in step
        session.execute(update(Claim).where(Claim.id.in_(ids[start:start + _IDS_PER_UPDATE]))
                        .values(status=to_status, updated_at=now))
    BulkWriter(session).insert(ClaimEvent.__table__, _EVENT_COLUMNS, events)


def prepare_transition(writer: BulkWriter, claims: Sequence[ClaimState], to_status: str, *, actor: str, event: str,
                       detail: str | None | Sequence[str | None] = None,
                       payer_claim_numbers: Sequence[str | None] | None = None,
                       posted: Sequence[Sequence[Decimal] | None] | None = None) -> Callable[[], None]:
    """``transition`` of stored claims a bulk caller read without the ORM, written on ``writer``'s
    connection when the returned function is called — posting calls it on its writing thread
    (``WriteBehind``), so the statement's arrays and the events' rows are made now.  One per claim:
    ``payer_claim_numbers``, the payer claim number it gets with the move (None keeps its own);
    ``posted``, the money (``ledger.totals.TOTALS`` order) a posting adds to its kept totals (None:
    nothing).  Both are set in the same UPDATE (``ledger.postings.prepare_claims_update``), so that the
    row gets one new version."""
    rows = list(claims)
    details = _details(detail, len(rows))
    numbers = payer_claim_numbers if payer_claim_numbers is not None else [None] * len(rows)
    sums = posted if posted is not None else [None] * len(rows)
    if len(numbers) != len(rows) or len(sums) != len(rows):
        raise ValueError("payer claim numbers and posted money go one per claim")
    if any(row.id is None for row in rows):
        raise ValueError("a claim read without the ORM has an id")
    now = utcnow()
    money = writer.written(Claim.__table__.c.paid).__getitem__
    nothing = tuple(money(amount) for amount in NOTHING_POSTED)
    write_claims = prepare_claims_update(writer.connection, [
        (row.id, number, *(nothing if added is None else map(money, added)))
        for row, number, added in zip(rows, numbers, sums, strict=True)],
        move=(to_status, writer.written(Claim.__table__.c.updated_at)[now]))
    write_events = prepare_events(writer, [
        (row.id, now, actor, event, row.status, to_status, text) for row, text in zip(rows, details, strict=True)])

    def write() -> None:
        write_claims()
        write_events()

    return write


def prepare_events(writer: BulkWriter, events: Sequence[tuple[Any, ...]]) -> Callable[[], None]:
    """Audit rows of a bulk caller, ``(claim id, at, actor, event, from status, to status, detail)``, checked
    and made now, written on ``writer``'s connection when the returned function is called."""
    return writer.prepare_insert(ClaimEvent.__table__, _EVENT_COLUMNS, events)


def _details(detail: str | None | Sequence[str | None], count: int) -> list[str | None]:
    """One detail per claim: ``detail`` for all, or its own."""
    details = [detail] * count if detail is None or isinstance(detail, str) else list(detail)
    if len(details) != count:
        raise ValueError(f"{count} claims but {len(details)} details")
    return details


_IDS_PER_UPDATE = 900
_EVENT_COLUMNS = ("claim_pk", "at", "actor", "event", "from_status", "to_status", "detail")


def _transition_one(session: Session, claim: Claim, to_status: str, *, actor: str, event: str,
                    detail: str | None) -> None:
    from_status = claim.status if claim.id is not None else None
    claim.status = to_status
    if claim.id is None:
        session.flush()
    session.add(ClaimEvent(claim_pk=claim.id, actor=actor, event=event, from_status=from_status,
                           to_status=to_status, detail=detail))


def record_event(session: Session, claim: Claim, *, actor: str, event: str, detail: str | None = None) -> None:
    """An event that does not change the status (e.g. content updated, payment posted)."""
    session.add(ClaimEvent(claim_pk=claim.id, actor=actor, event=event, from_status=claim.status,
                           to_status=claim.status, detail=detail))


PartyKey = tuple[str, str]  # (role, fingerprint)
PartyRecord = tuple[PartyKey, dict[str, Any]]
PARTY_ROLES = ("billing", "subscriber", "patient", "rendering", "supervising", "pay_to", "service_facility")

def _iso_date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"a party field holds {type(value).__name__}, not text or a date")


_PARTY_JSON = json.JSONEncoder(sort_keys=True, default=_iso_date).encode
"""``json.dumps(fields, sort_keys=True, default=_iso_date)``, its encoder made once instead of per party."""


def party_fingerprint(fields: dict[str, Any]) -> str:
    """The key that finds a party row again, stored in every ledger (tests pin known values).

    Canonical encoding (docs/fingerprints.md): the sha256 of the UTF-8 bytes of
    ``json.dumps(fields, sort_keys=True)`` with json's default separators (``", "``, ``": "``)
    and ASCII escaping; values are text or null, a date is written as its ISO text.
    """
    return sha256(_PARTY_JSON(fields).encode()).hexdigest()


def _party(role: str, fields: dict[str, Any]) -> PartyRecord:
    return (role, party_fingerprint(fields)), fields


def _address_fields(address: Address | None) -> dict[str, Any]:
    if address is None:
        return {"address1": None, "city": None, "state": None, "zip": None}
    return {"address1": address.line1, "city": address.city, "state": address.state, "zip": address.zip}


# An export names the same few providers, pay-to addresses and facilities on many claims; they are
# frozen records of text, so equal ones have equal fingerprints and are fingerprinted once per value.
@lru_cache(maxsize=4096)
def _provider_record(provider: Provider) -> PartyRecord:
    return _party("provider", {
        "npi": provider.npi, "entity_type": provider.entity_type, "last_or_org": provider.last_or_org,
        "first": provider.first, "taxonomy": provider.taxonomy, "tax_id": provider.tax_id,
        **_address_fields(provider.address),
    })


@lru_cache(maxsize=4096)
def _pay_to_record(address: Address) -> PartyRecord:
    return _party("pay_to", {"last_or_org": "", **_address_fields(address)})


@lru_cache(maxsize=4096)
def _facility_record(facility: ServiceFacility) -> PartyRecord:
    return _party("facility", {"npi": facility.npi, "last_or_org": facility.name, **_address_fields(facility.address)})


def _subscriber_record(sub: Subscriber) -> PartyRecord:
    return _party("subscriber", {"member_id": sub.member_id, "last_or_org": sub.last, "first": sub.first,
                                 "dob": sub.dob, "sex": sub.sex, **_address_fields(sub.address)})


def _patient_record(patient: Patient) -> PartyRecord:
    return _party("patient", {"last_or_org": patient.last, "first": patient.first, "dob": patient.dob,
                              "sex": patient.sex})


def claim_party_records(claim: DomainClaim) -> dict[str, PartyRecord | None]:
    """The party rows a claim refers to, keyed by its role on the claim."""
    rendering, supervising, pay_to, facility, patient = (
        claim.rendering, claim.supervising, claim.pay_to, claim.service_facility, claim.patient)
    return {
        "billing": _provider_record(claim.billing),
        "subscriber": _subscriber_record(claim.subscriber),
        "patient": None if patient is None else _patient_record(patient),
        "rendering": None if rendering is None else _provider_record(rendering),
        "supervising": None if supervising is None else _provider_record(supervising),
        "pay_to": None if pay_to is None else _pay_to_record(pay_to),
        "service_facility": None if facility is None else _facility_record(facility),
    }


_PARTY_FIELDS = tuple(c.name for c in Party.__table__.columns if c.name not in ("id", "role", "fingerprint"))
_PARTY_COLUMNS = ("id", "role", "fingerprint", *_PARTY_FIELDS)
_PARTIES = Party.__tablename__


class PartyCache:
    """Finds or creates party rows in bulk; remembers them for the length of one unit of work."""

    def __init__(self, session: Session):
        self.session = session
        self._ids: dict[PartyKey, int] = {}

    def resolve(self, records: Iterable[PartyRecord | None]) -> None:
        """Make sure every record has a row: one query for the unknown ones, one insert for the new."""
        wanted = {key: fields for key, fields in (r for r in records if r is not None) if key not in self._ids}
        if not wanted:
            return
        self._read_ids(sorted(wanted))
        # in fingerprint order: the unique index takes sorted keys page by page
        missing = sorted(key for key in wanted if key not in self._ids)
        if missing:
            # keys handed out first: one insert, no reading back (see ledger.bulk)
            writer = BulkWriter(self.session)
            ids = writer.allocate_ids(Party.__table__, len(missing))
            rows = []
            for pid, key in zip(ids, missing, strict=True):
                fields = wanted[key]
                rows.append((pid, *key, *[fields.get(name) for name in _PARTY_FIELDS]))
                self._ids[key] = pid
            writer.insert(Party.__table__, _PARTY_COLUMNS, rows)

    def _read_ids(self, keys: list[PartyKey]) -> None:
        # By role and fingerprint, the unique index's order: a search per key, where a
        # fingerprint alone would make each query scan every party in the ledger.
        by_role: dict[str, list[str]] = {}
        for role, fingerprint in keys:
            by_role.setdefault(role, []).append(fingerprint)
        connection = self.session.connection()
        for role, fingerprints in by_role.items():
            for pid, fp in rows_where_in(connection, f"SELECT id, fingerprint FROM {_PARTIES} WHERE role = {{mark}} "
                                         "AND fingerprint IN ({marks})", fingerprints, leading=(role,)):
                self._ids[(role, fp)] = pid

    def ids_of(self, records: dict[str, PartyRecord | None]) -> dict[str, int | None]:
        """Party ids by role (``PARTY_ROLES`` order) for records already resolved."""
        ids = self._ids
        return {role: None if (record := records[role]) is None else ids[record[0]] for role in PARTY_ROLES}

    def ids_for(self, claim: DomainClaim) -> dict[str, int | None]:
        """Party ids by role for a claim, its parties found or stored first."""
        records = claim_party_records(claim)
        self.resolve(records.values())
        return self.ids_of(records)


def claim_columns(claim: DomainClaim) -> dict[str, Any]:
    """The claims-table columns of a domain claim but its party links, content hash, revision and status.

    The codes are StrEnum members: ``str(member)`` is their value, without the Python-level
    property ``.value`` is (a quarter of this function's time at ingest)."""
    source = claim.source
    return {
        "claim_id": claim.claim_id,
        "frequency": str(claim.frequency),
        "original_claim_number": claim.original_claim_number,
        "line_of_business": str(claim.line_of_business),
        "payer_id": claim.payer_id,
        "payer_name": claim.payer_name,
        "relationship_code": str(claim.relationship),
        "rendering_license": str(claim.rendering_license),
        "prior_auth": claim.prior_auth,
        "diagnoses": ",".join(claim.diagnoses),
        "billed": claim.total_charge,
        "first_service_date": claim.first_service_date,
        "source_file": source.file if source else None,
        "source_line": source.line if source else None,
    }


def party_links(party_ids: dict[str, int | None]) -> dict[str, int | None]:
    """The claims-table columns that name a claim's parties."""
    return {f"{role}_id": party_ids[role] for role in PARTY_ROLES}


def claim_values(claim: DomainClaim, party_ids: dict[str, int | None], digest: str) -> dict[str, Any]:
    """The claims-table columns for a domain claim (revision, status and links are the caller's)."""
    return {**claim_columns(claim), **party_links(party_ids), "content_hash": digest}


# service_lines columns but its key and claim link, in the order ``line_rows`` gives them
LINE_COLUMNS = ("position", "line_id", "service_date", "procedure_code", "modifiers", "units", "charge",
                "place_of_service", "diagnosis_pointers", "source_line")


def line_rows(claim: DomainClaim) -> list[tuple[Any, ...]]:
    """The service_lines rows of a claim in ``LINE_COLUMNS`` order, in billing order."""
    return [
        (position, line.line_id, line.service_date, line.procedure_code, ":".join(line.modifiers), str(line.units),
         line.charge, line.place_of_service, ",".join(map(str, line.diagnosis_pointers)),
         line.source.line if line.source else None)
        for position, line in enumerate(claim.lines, start=1)
    ]


def fill_claim_row(row: Claim, claim: DomainClaim, parties: PartyCache, digest: str) -> None:
    """Copy a domain claim's content onto a (new or not yet sent) claim row."""
    replace_claim_content(row, claim_values(claim, parties.ids_for(claim), digest), line_rows(claim))


def replace_claim_content(row: Claim, values: dict[str, Any], lines: list[tuple[Any, ...]]) -> None:
    """Set a claim row's columns and replace its lines (rows in ``LINE_COLUMNS`` order)."""
    for key, value in values.items():
        setattr(row, key, value)
    session = object_session(row)
    if row.id is not None and row.lines:
        # old lines must be gone before new ones with the same line ids are inserted
        row.lines.clear()
        if session is not None:
            session.flush()
    row.lines = [LineRow(**dict(zip(LINE_COLUMNS, line, strict=True))) for line in lines]


def _address(party: Any) -> Address | None:
    if party.address1 is None:
        return None
    return Address(line1=party.address1, city=party.city or "", state=party.state or "", zip=party.zip or "")


def _provider(party: Any) -> Provider | None:
    """A provider from a party row (or None)."""
    if party is None:
        return None
    return Provider(npi=party.npi or "", last_or_org=party.last_or_org, first=party.first,
                    entity_type=party.entity_type or "1", taxonomy=party.taxonomy, tax_id=party.tax_id,
                    address=_address(party))


def load_domain_claim(session: Session, row: Claim) -> DomainClaim:
    """Rebuild the immutable claim the 837P builder and the rules take."""
    return load_domain_claims(session, [row])[0]


_LINE_FIELDS = (LineRow.claim_pk, LineRow.line_id, LineRow.service_date, LineRow.procedure_code, LineRow.charge,
                LineRow.units, LineRow.place_of_service, LineRow.modifiers, LineRow.diagnosis_pointers)
LOAD_CHUNK = 500  # claims per query, under SQLite's lowest limit of bound values (999)


# the claims columns a domain claim is rebuilt from, for a caller that reads them without ORM objects
CLAIM_FIELDS = (Claim.id, Claim.claim_id, Claim.status, Claim.billed, Claim.line_of_business, Claim.payer_id,
                Claim.payer_name, Claim.frequency, Claim.original_claim_number, Claim.relationship_code,
                Claim.rendering_license, Claim.prior_auth, Claim.diagnoses, Claim.billing_id, Claim.subscriber_id,
                Claim.patient_id, Claim.rendering_id, Claim.supervising_id, Claim.pay_to_id,
                Claim.service_facility_id)


def load_domain_claims(session: Session, rows: Sequence[Any]) -> list[DomainClaim]:
    """``load_domain_claim`` for many rows, in their order: a batch's claims come back in a few queries
    per few hundred claims (their parties, their lines), not two per claim.  ``rows`` are ORM claims
    or rows of ``CLAIM_FIELDS``."""
    loaded: list[DomainClaim] = []
    kept = _Rebuilt()
    for start in range(0, len(rows), LOAD_CHUNK):
        loaded.extend(_load_chunk(session, rows[start:start + LOAD_CHUNK], kept))
    return loaded


class _Rebuilt:
    """The records one ``load_domain_claims`` has made, by what they were made from, so that each is built
    once: a frozen record costs a call per field to make, and a batch names the same service lines
    (code, date, charge …), addresses, subscribers and providers again and again.  Equal records are
    interchangeable (they compare and render by value)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[Any, ...], ServiceLine] = {}
        self.addresses: dict[tuple[Any, ...], Address | None] = {}
        self.providers: dict[int, Provider] = {}
        self.subscribers: dict[int, Subscriber] = {}
        self.patients: dict[int, Patient] = {}


class _PartyRow(NamedTuple):
    """The parties columns a domain claim is rebuilt from (their names are the query's)."""

    id: int
    npi: str | None
    member_id: str | None
    entity_type: str | None
    last_or_org: str
    first: str | None
    dob: Any  # the driver's form until converted
    sex: str | None
    taxonomy: str | None
    tax_id: str | None
    address1: str | None
    city: str | None
    state: str | None
    zip: str | None


_DOB = _PartyRow._fields.index("dob")
_PARTY_QUERY = f"SELECT {', '.join(_PartyRow._fields)} FROM {Party.__tablename__} WHERE id IN ({{marks}})"
_LINE_QUERY = (f"SELECT {', '.join(c.name for c in _LINE_FIELDS)} FROM {LineRow.__tablename__} "
               "WHERE claim_pk IN ({marks}) ORDER BY claim_pk, position")


def _load_chunk(session: Session, rows: Sequence[Any], kept: _Rebuilt) -> list[DomainClaim]:
    """``rows``: ORM claims or rows of ``CLAIM_FIELDS`` (a caller that needs no ORM objects).

    Parties and lines are read straight from the driver (``rows_where_in``), each distinct date
    and amount converted once: SQLAlchemy's rendering of the IN lists and its per-row conversions
    cost more than the rest of the rebuilding."""
    connection = session.connection()
    reader = BulkWriter(session)
    party_ids = sorted({i for row in rows for i in (
        row.billing_id, row.subscriber_id, row.patient_id, row.rendering_id, row.supervising_id, row.pay_to_id,
        row.service_facility_id) if i})
    dobs = reader.read(Party.dob)
    party: dict[int, _PartyRow] = {}
    for found in rows_where_in(connection, _PARTY_QUERY, party_ids):
        values = list(found)
        values[_DOB] = dobs[values[_DOB]]
        party[values[0]] = _PartyRow._make(values)
    lines: dict[int, list[ServiceLine]] = {row.id: [] for row in rows}
    dates = reader.read(LineRow.service_date)
    # Money is its own conversion on every backend (cents on SQLite, NUMERIC elsewhere), once per amount
    money = stored_amounts(connection.dialect)
    made = kept.lines
    for found in rows_where_in(connection, _LINE_QUERY, list(lines)):
        content = found[1:]
        line = made.get(content)
        if line is None:
            line_id, service_date, procedure_code, charge, units, place, modifiers, pointers = content
            # positional, in ServiceLine's field order (line_id, service_date, procedure_code, charge, units,
            # place_of_service, modifiers, diagnosis_pointers)
            line = made[content] = ServiceLine(line_id, dates[service_date], procedure_code, money(charge),
                                               _units(units), place, _modifiers(modifiers), _pointers(pointers))
        lines[found[0]].append(line)
    return [_domain_claim(row, party, tuple(lines[row.id]), kept) for row in rows]


def stored_amounts(dialect: Dialect) -> Callable[[Any], Decimal]:
    """Stored amounts (never NULL) as ``Decimal``s, each distinct one converted once."""
    money = Money()

    @lru_cache(maxsize=4096)
    def amount(stored: Any) -> Decimal:
        found = money.process_result_value(stored, dialect)
        assert found is not None
        return found

    return amount


# A ledger holds a few distinct unit counts, modifier lists and pointer lists: each is read once per value.
@lru_cache(maxsize=4096)
def _units(text: str) -> Decimal:
    return Decimal(text)


@lru_cache(maxsize=4096)
def _modifiers(text: str) -> tuple[str, ...]:
    return tuple(m for m in text.split(":") if m)


@lru_cache(maxsize=4096)
def _pointers(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(",") if p)


@lru_cache(maxsize=4096)
def _diagnoses(text: str) -> tuple[str, ...]:
    return tuple(d for d in text.split(",") if d)


_Code = TypeVar("_Code", bound=StrEnum)


def _members(kind: type[_Code]) -> dict[str, _Code]:
    """The codes of ``kind`` by stored value: a dict lookup per claim, not the enum's call machinery
    (``_domain_claim`` calls ``kind(value)`` only for a value that is none of them, to raise as the enum does)."""
    return {member.value: member for member in kind}


_LINES_OF_BUSINESS = _members(LineOfBusiness)
_FREQUENCIES = _members(Frequency)
_RELATIONSHIPS = _members(Relationship)
_RENDERING_LICENSES = _members(RenderingLicense)


def _domain_claim(row: Any, party: dict[int, _PartyRow], lines: tuple[ServiceLine, ...], kept: _Rebuilt) -> DomainClaim:
    pay_to = party[row.pay_to_id] if row.pay_to_id else None
    facility = party[row.service_facility_id] if row.service_facility_id else None
    billing = _kept_provider(kept, party, row.billing_id)
    assert billing is not None
    subscriber = kept.subscribers.get(row.subscriber_id)
    if subscriber is None:
        sub = party[row.subscriber_id]
        subscriber = kept.subscribers[row.subscriber_id] = Subscriber(
            member_id=sub.member_id or "", last=sub.last_or_org, first=sub.first or "", dob=sub.dob,
            sex=sub.sex or "U",  # type: ignore[arg-type]
            address=_kept_address(kept, sub) or Address("", "", "", ""))
    patient = kept.patients.get(row.patient_id) if row.patient_id else None
    if patient is None and row.patient_id and (patient_party := party.get(row.patient_id)) is not None:
        patient = kept.patients[row.patient_id] = Patient(
            last=patient_party.last_or_org, first=patient_party.first or "",
            dob=patient_party.dob, sex=patient_party.sex or "U")  # type: ignore[arg-type]
    return DomainClaim(
        claim_id=row.claim_id,
        line_of_business=_LINES_OF_BUSINESS.get(row.line_of_business) or LineOfBusiness(row.line_of_business),
        payer_id=row.payer_id,
        payer_name=row.payer_name,
        subscriber=subscriber,
        billing=billing,
        diagnoses=_diagnoses(row.diagnoses),
        lines=lines,
        frequency=_FREQUENCIES.get(row.frequency) or Frequency(row.frequency),
        original_claim_number=row.original_claim_number,
        relationship=_RELATIONSHIPS.get(row.relationship_code) or Relationship(row.relationship_code),
        patient=patient,
        rendering=_kept_provider(kept, party, row.rendering_id),
        rendering_license=_RENDERING_LICENSES.get(row.rendering_license) or RenderingLicense(row.rendering_license),
        supervising=_kept_provider(kept, party, row.supervising_id),
        prior_auth=row.prior_auth,
        pay_to=None if pay_to is None else _kept_address(kept, pay_to),
        service_facility=None if facility is None else ServiceFacility(
            name=facility.last_or_org, address=_kept_address(kept, facility) or Address("", "", "", ""),
            npi=facility.npi),
    )


def _kept_provider(kept: _Rebuilt, party: dict[int, _PartyRow], party_id: int | None) -> Provider | None:
    """One object per provider party: the 837P builder remembers what it worked out for a provider by identity."""
    if not party_id:
        return None
    found = kept.providers.get(party_id)
    if found is None:
        found = kept.providers[party_id] = _provider(party[party_id])  # type: ignore[assignment]
    return found


def _kept_address(kept: _Rebuilt, party: _PartyRow) -> Address | None:
    key = (party.address1, party.city, party.state, party.zip)
    try:
        return kept.addresses[key]
    except KeyError:
        found = kept.addresses[key] = _address(party)
        return found


def current_revision(session: Session, claim_id: str) -> Claim | None:
    latest = select(func.max(Claim.revision)).where(Claim.claim_id == claim_id).scalar_subquery()
    return session.scalar(select(Claim).where(Claim.claim_id == claim_id, Claim.revision == latest))
