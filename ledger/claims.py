"""Claims in the ledger: storing a ``domain.Claim``, reading it back, moving its status.

Every status change goes through ``transition`` so that it lands in the
append-only event log with who, when, from and to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.claim import (
    Address,
    Frequency,
    LineOfBusiness,
    Patient,
    Provider,
    Relationship,
    RenderingLicense,
    ServiceLine,
    Subscriber,
)
from domain.claim import Claim as DomainClaim
from ledger.models import Claim, ClaimEvent, Party, ServiceLine as LineRow


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | date):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "source"}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def content_hash(claim: DomainClaim) -> str:
    """A fingerprint of what would be billed; the source file and line do not count."""
    document = _jsonable(asdict(claim))
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def transition(session: Session, claim: Claim, to_status: str, *, actor: str, event: str, detail: str | None = None) -> None:
    """Move ``claim`` to ``to_status`` and append the audit row (also for a first status)."""
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


class PartyCache:
    """Finds or creates party rows; remembers them for the length of one unit of work."""

    def __init__(self, session: Session):
        self.session = session
        self._ids: dict[tuple[str, str], int] = {}

    def _get(self, role: str, fields: dict[str, Any]) -> int:
        fingerprint = hashlib.sha256(json.dumps(_jsonable(fields), sort_keys=True).encode()).hexdigest()
        key = (role, fingerprint)
        if key in self._ids:
            return self._ids[key]
        found = self.session.scalar(select(Party.id).where(Party.role == role, Party.fingerprint == fingerprint))
        if found is None:
            party = Party(role=role, fingerprint=fingerprint, **fields)
            self.session.add(party)
            self.session.flush()
            found = party.id
        self._ids[key] = found
        return found

    @staticmethod
    def _address(address: Address | None) -> dict[str, Any]:
        if address is None:
            return {"address1": None, "city": None, "state": None, "zip": None}
        return {"address1": address.line1, "city": address.city, "state": address.state, "zip": address.zip}

    def provider(self, provider: Provider | None) -> int | None:
        if provider is None:
            return None
        return self._get("provider", {
            "npi": provider.npi, "entity_type": provider.entity_type, "last_or_org": provider.last_or_org,
            "first": provider.first, "taxonomy": provider.taxonomy, "tax_id": provider.tax_id,
            **self._address(provider.address),
        })

    def subscriber(self, subscriber: Subscriber) -> int:
        return self._get("subscriber", {
            "member_id": subscriber.member_id, "last_or_org": subscriber.last, "first": subscriber.first,
            "dob": subscriber.dob, "sex": subscriber.sex, **self._address(subscriber.address),
        })

    def patient(self, patient: Patient | None) -> int | None:
        if patient is None:
            return None
        return self._get("patient", {"last_or_org": patient.last, "first": patient.first, "dob": patient.dob, "sex": patient.sex})


def fill_claim_row(row: Claim, claim: DomainClaim, parties: PartyCache, digest: str) -> None:
    """Copy a domain claim's content onto a (new or not yet sent) claim row."""
    row.claim_id = claim.claim_id
    row.frequency = claim.frequency.value
    row.original_claim_number = claim.original_claim_number
    row.line_of_business = claim.line_of_business.value
    row.payer_id = claim.payer_id
    row.payer_name = claim.payer_name
    row.relationship_code = claim.relationship.value
    row.rendering_license = claim.rendering_license.value
    row.prior_auth = claim.prior_auth
    row.diagnoses = ",".join(claim.diagnoses)
    row.billed = claim.total_charge
    row.first_service_date = claim.first_service_date
    row.billing_id = parties.provider(claim.billing)  # type: ignore[assignment]
    row.subscriber_id = parties.subscriber(claim.subscriber)
    row.patient_id = parties.patient(claim.patient)
    row.rendering_id = parties.provider(claim.rendering)
    row.supervising_id = parties.provider(claim.supervising)
    row.content_hash = digest
    row.source_file = claim.source.file if claim.source else None
    row.source_line = claim.source.line if claim.source else None
    if row.id is not None and row.lines:
        # old lines must be gone before new ones with the same line ids are inserted
        row.lines.clear()
        parties.session.flush()
    row.lines = [
        LineRow(
            position=position,
            line_id=line.line_id,
            service_date=line.service_date,
            procedure_code=line.procedure_code,
            modifiers=":".join(line.modifiers),
            units=str(line.units),
            charge=line.charge,
            place_of_service=line.place_of_service,
            diagnosis_pointers=",".join(str(p) for p in line.diagnosis_pointers),
            source_line=line.source.line if line.source else None,
        )
        for position, line in enumerate(claim.lines, start=1)
    ]


def _address(party: Party) -> Address | None:
    if party.address1 is None:
        return None
    return Address(line1=party.address1, city=party.city or "", state=party.state or "", zip=party.zip or "")


def _provider(party: Party | None) -> Provider | None:
    if party is None:
        return None
    return Provider(npi=party.npi or "", last_or_org=party.last_or_org, first=party.first,
                    entity_type=party.entity_type or "1", taxonomy=party.taxonomy, tax_id=party.tax_id,
                    address=_address(party))


def load_domain_claim(session: Session, row: Claim) -> DomainClaim:
    """Rebuild the immutable claim the 837P builder and the rules take."""
    party = {p.id: p for p in session.scalars(select(Party).where(Party.id.in_(
        [i for i in (row.billing_id, row.subscriber_id, row.patient_id, row.rendering_id, row.supervising_id) if i]
    )))}
    sub = party[row.subscriber_id]
    patient_party = party.get(row.patient_id) if row.patient_id else None
    billing = _provider(party[row.billing_id])
    assert billing is not None
    return DomainClaim(
        claim_id=row.claim_id,
        line_of_business=LineOfBusiness(row.line_of_business),
        payer_id=row.payer_id,
        payer_name=row.payer_name,
        subscriber=Subscriber(member_id=sub.member_id or "", last=sub.last_or_org, first=sub.first or "",
                              dob=sub.dob, sex=sub.sex or "U",  # type: ignore[arg-type]
                              address=_address(sub) or Address("", "", "", "")),
        billing=billing,
        diagnoses=tuple(d for d in row.diagnoses.split(",") if d),
        lines=tuple(
            ServiceLine(
                line_id=line.line_id,
                service_date=line.service_date,
                procedure_code=line.procedure_code,
                charge=line.charge,
                units=Decimal(line.units),
                place_of_service=line.place_of_service,
                modifiers=tuple(m for m in line.modifiers.split(":") if m),
                diagnosis_pointers=tuple(int(p) for p in line.diagnosis_pointers.split(",") if p),
            )
            for line in row.lines
        ),
        frequency=Frequency(row.frequency),
        original_claim_number=row.original_claim_number,
        relationship=Relationship(row.relationship_code),
        patient=None if patient_party is None else Patient(
            last=patient_party.last_or_org, first=patient_party.first or "",
            dob=patient_party.dob, sex=patient_party.sex or "U"),  # type: ignore[arg-type]
        rendering=_provider(party.get(row.rendering_id) if row.rendering_id else None),
        rendering_license=RenderingLicense(row.rendering_license),
        supervising=_provider(party.get(row.supervising_id) if row.supervising_id else None),
        prior_auth=row.prior_auth,
    )


def current_revision(session: Session, claim_id: str) -> Claim | None:
    latest = select(func.max(Claim.revision)).where(Claim.claim_id == claim_id).scalar_subquery()
    return session.scalar(select(Claim).where(Claim.claim_id == claim_id, Claim.revision == latest))
