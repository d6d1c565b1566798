"""277CA (005010X214) writer: the claim acknowledgment the sandbox payer sends back.

One transaction set, the HL hierarchy ``edi.x277ca`` reads:

- 2000A/2100A/2200A  HL 20, NM1*PR the payer, TRN*1 its trace, DTP*050 received, DTP*009 processed
- 2000B/2100B/2200B  HL 21, NM1*41 the information receiver (the submitter), TRN*2 the
  BHT03 of the 837 acknowledged, STC batch status, QTY/AMT accepted and rejected counts/totals
- 2000C/2100C/2200C  HL 19 per billing provider, NM1*85, TRN*1 a provider trace, STC A1:19
- 2000D/2100D/2200D  HL PT per claim, NM1*QC the patient, TRN*2 our CLM01, STC each status,
  REF*1K the payer's claim number (accepted claims), REF*D9 the clearinghouse trace, DTP*472

Pure: records in, text out; ``read_277ca(build_277ca(...))`` gives the statuses back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from domain.acks import ClaimStatus, Envelope, StatusCode
from edi.build999 import interchange_text
from edi.x12 import DEFAULT_SEPARATORS, Separators

CLAIM_ACK_VERSION = "005010X214"
Elements = list[str]


@dataclass(frozen=True, slots=True)
class PatientClaimAck:
    """One 2000D loop: the patient's name and one claim's statuses."""

    last: str
    first: str
    member_id: str
    status: ClaimStatus


@dataclass(frozen=True, slots=True)
class ProviderClaimAcks:
    """One 2000C loop: a billing provider and the claims acknowledged for it."""

    name: str
    npi: str
    claims: tuple[PatientClaimAck, ...]


@dataclass(frozen=True, slots=True)
class ClaimAckParties:
    """Who is speaking to whom inside the 277CA (loops 2100A and 2100B)."""

    payer_name: str
    payer_id: str  # NM109 with NM108 PI
    receiver_name: str  # the submitter of the 837
    receiver_id: str  # NM109 with NM108 46 (ETIN)


def _money(value: Decimal) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _stc(codes: Sequence[StatusCode], when: date, charge: Decimal | None, component: str) -> Elements:
    def composite(code: StatusCode) -> str:
        return component.join(p for p in (code.category, code.status, code.entity) if p)

    first, rest = codes[0], list(codes[1:3])
    elements = ["STC", composite(first), when.strftime("%Y%m%d"), "WQ", _money(charge or Decimal("0"))]
    if rest:
        elements += ["", "", "", "", ""] + [composite(c) for c in rest]
    return elements


def _dtp_service(claim: ClaimStatus) -> Elements | None:
    if claim.service_start is None:
        return None
    end = claim.service_end or claim.service_start
    if end == claim.service_start:
        return ["DTP", "472", "D8", claim.service_start.strftime("%Y%m%d")]
    return ["DTP", "472", "RD8", f"{claim.service_start:%Y%m%d}-{end:%Y%m%d}"]


def build_277ca(
    envelope: Envelope,
    parties: ClaimAckParties,
    providers: Sequence[ProviderClaimAcks],
    *,
    control_number: str,
    reference: str,
    batch_reference: str,
    payer_trace: str,
    created: datetime,
    separators: Separators = DEFAULT_SEPARATORS,
) -> str:
    """The 277CA interchange acknowledging the claims of one received 837 (``batch_reference`` = its BHT03)."""
    if envelope.functional_id != "HN" or envelope.version != CLAIM_ACK_VERSION:
        raise ValueError("a 277CA envelope needs GS01 HN and GS08 " + CLAIM_ACK_VERSION)
    if not providers or not all(p.claims for p in providers):
        raise ValueError("a 277CA acknowledges at least one claim per billing provider")
    today = created.date()
    day = today.strftime("%Y%m%d")
    component = separators.component
    claims = [c for p in providers for c in p.claims]
    accepted = [c.status for c in claims if not c.status.rejected]
    rejected = [c.status for c in claims if c.status.rejected]

    def total(group: list[ClaimStatus]) -> Decimal:
        return sum((c.total_charge or Decimal("0") for c in group), Decimal("0"))

    body: list[Elements] = [
        ["ST", "277", control_number, CLAIM_ACK_VERSION],
        ["BHT", "0085", "08", reference, day, created.strftime("%H%M"), "TH"],
        ["HL", "1", "", "20", "1"],
        ["NM1", "PR", "2", parties.payer_name, "", "", "", "", "PI", parties.payer_id],
        ["TRN", "1", payer_trace],
        ["DTP", "050", "D8", day],
        ["DTP", "009", "D8", day],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "41", "2", parties.receiver_name, "", "", "", "", "46", parties.receiver_id],
        ["TRN", "2", batch_reference],
        _stc([StatusCode("A1", "19")], today, total(accepted + rejected), component),
    ]
    if accepted:
        body.append(["QTY", "90", str(len(accepted))])
    if rejected:
        body.append(["QTY", "AA", str(len(rejected))])
    if accepted:
        body.append(["AMT", "YU", _money(total(accepted))])
    if rejected:
        body.append(["AMT", "YY", _money(total(rejected))])
    hl = 2
    for number, provider in enumerate(providers, start=1):
        hl += 1
        provider_hl = hl
        body += [
            ["HL", str(provider_hl), "2", "19", "1"],
            ["NM1", "85", "2", provider.name, "", "", "", "", "XX", provider.npi],
            ["TRN", "1", f"{batch_reference}{number:04d}"[-50:]],
            ["STC", f"A1{component}19", "", "WQ", _money(total([c.status for c in provider.claims]))],
        ]
        for patient in provider.claims:
            hl += 1
            claim = patient.status
            if not claim.statuses:
                raise ValueError(f"claim {claim.patient_control_number}: a 277CA claim needs a status")
            body += [
                ["HL", str(hl), str(provider_hl), "PT"],
                ["NM1", "QC", "1", patient.last, patient.first, "", "", "", "MI", patient.member_id],
                ["TRN", "2", claim.patient_control_number],
                _stc(claim.statuses, claim.status_date or today, claim.total_charge, component),
            ]
            if claim.payer_claim_number:
                body.append(["REF", "1K", claim.payer_claim_number])
            if claim.clearinghouse_trace:
                body.append(["REF", "D9", claim.clearinghouse_trace])
            service = _dtp_service(claim)
            if service is not None:
                body.append(service)
    return interchange_text(envelope, [body], created=created, separators=separators)
