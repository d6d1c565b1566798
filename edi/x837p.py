"""Build an 837P (005010X222A1) interchange from ``Claim`` records.

One interchange (ISA/IEA) holds one functional group (GS/GE); the claims are cut
into transaction sets (ST/SE) of ``BuildSettings.claims_per_transaction``.  Inside
a transaction the hierarchy is

    2000A billing provider (HL 20)          one per run of claims sharing a billing provider
      2010AB pay-to address                 when it differs from the billing address
      2000B subscriber (HL 22)              one per claim
        2000C patient (HL 23)               only when the patient is not the subscriber
          2300 claim, 2310B/2310C/2310D, 2400 lines

so claims keep their input order and the reader gets them back in that order.

Data text (names, addresses) is written uppercase ASCII (``edi.text``); identifiers
are written as given.  A value that cannot be written (a separator after cleaning, a
5-digit billing ZIP, too many diagnoses...) raises ``ClaimNotWritable`` naming the
claim id and the field, never the value: names and member ids are PHI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType

from domain.claim import (
    DEFAULT_SUPERVISED_BILLING,
    SUPERVISION_MODIFIER,
    Address,
    Claim,
    LineOfBusiness,
    Provider,
    Relationship,
    RenderingLicense,
    ServiceFacility,
    ServiceLine,
    SupervisedBilling,
)
from domain.places import US_STATE_CODES
from edi.text import UnsafeText, to_x12_identifier, to_x12_text
from edi.x12 import format_amount, format_quantity

IMPLEMENTATION_CONVENTION = "005010X222A1"

DEFAULT_CLAIM_FILING_CODES: Mapping[LineOfBusiness, str] = MappingProxyType(
    {
        LineOfBusiness.COMMERCIAL: "CI",
        LineOfBusiness.MEDICAID: "MC",
        LineOfBusiness.MEDICARE_ADVANTAGE: "16",
        LineOfBusiness.SCO: "16",
        LineOfBusiness.ONE_CARE: "16",
    }
)

# SBR04 (plan name) tells the two Massachusetts D-SNPs apart from plain Medicare
# Advantage, which share SBR09 "16"; the guide allows SBR04 when SBR03 is not sent.
PLAN_NAMES: Mapping[LineOfBusiness, str] = MappingProxyType(
    {LineOfBusiness.SCO: "SENIOR CARE OPTIONS", LineOfBusiness.ONE_CARE: "ONE CARE"}
)

# PAT01 individual relationship codes (2000C).
PATIENT_RELATIONSHIP_CODES: Mapping[Relationship, str] = MappingProxyType(
    {Relationship.SPOUSE: "01", Relationship.CHILD: "19", Relationship.OTHER: "G8"}
)

MAX_DIAGNOSES = 12  # HI01..HI12
MAX_POINTERS = 4  # SV107-1..4
MAX_MODIFIERS = 4  # SV101-3..6
MAX_LINES = 50  # 2400 repeats

_TERMINATOR = "~"


class ClaimNotWritable(ValueError):
    """A claim that cannot be written into a compliant 837P; names the claim, not PHI."""

    def __init__(self, claim_id: str, reason: str):
        super().__init__(f"claim {claim_id}: {reason}")
        self.claim_id = claim_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who sends the file: ISA06/GS02 and loop 1000A."""

    id: str
    name: str
    contact_name: str
    contact_phone: str
    id_qualifier: str = "ZZ"


@dataclass(frozen=True, slots=True)
class Receiver:
    """Who receives the file (the clearinghouse): ISA08/GS03 and loop 1000B."""

    id: str
    name: str
    id_qualifier: str = "ZZ"


@dataclass(frozen=True, slots=True)
class ControlNumbers:
    """ISA13 (written as 9 digits) and GS06; ST02 counts 0001.. within the group."""

    interchange: int
    group: int


@dataclass(frozen=True, slots=True)
class BuildSettings:
    created: datetime
    usage_indicator: str = "T"  # ISA15: T test, P production
    claim_filing_codes: Mapping[LineOfBusiness, str] = field(
        default_factory=lambda: DEFAULT_CLAIM_FILING_CODES
    )
    claims_per_transaction: int = 5000
    line_breaks: bool = True  # a newline after each segment terminator, for people reading the file
    supervised_billing: Mapping[LineOfBusiness, SupervisedBilling] = field(
        default_factory=lambda: DEFAULT_SUPERVISED_BILLING
    )


def claim_as_billed(claim: Claim, supervised_billing: Mapping[LineOfBusiness, SupervisedBilling]) -> Claim:
    """The claim as the payer is to see it.

    Where the plan pays the licensed supervisor (``SupervisedBilling.UNDER_SUPERVISOR``,
    Optum commercial in Massachusetts since 2024-10), a supervised clinician's claim goes
    out under the supervisor: 2310B rendering and 2310D supervising are the supervisor, and
    every line carries modifier U5 (added when the export lacks it).  The ledger keeps the
    claim as exported, so who saw the patient is not lost.  Every other claim is unchanged.
    """
    supervisor = claim.supervising
    if supervisor is None or claim.rendering_license is not RenderingLicense.SUPERVISED:
        return claim
    if supervised_billing.get(claim.line_of_business) is not SupervisedBilling.UNDER_SUPERVISOR:
        return claim
    lines = tuple(
        line
        if SUPERVISION_MODIFIER in line.modifiers
        else replace(line, modifiers=(*line.modifiers, SUPERVISION_MODIFIER))
        for line in claim.lines
    )
    return replace(claim, rendering=supervisor, lines=lines)


def billing_as_written(claim: Claim) -> Provider:
    """Loop 2010AA's provider: a solo clinician billing under their own Type 1 NPI is a person.

    The PM export names a solo clinician's practice in ``billing_name``; when the billing NPI
    is the rendering clinician's, NM1*85*1 carries that clinician's last and first name.
    """
    billing = claim.billing
    rendering = claim.rendering
    if billing.entity_type != "1" or billing.first or rendering is None or rendering.npi != billing.npi:
        return billing
    return replace(billing, last_or_org=rendering.last_or_org, first=rendering.first)


def transaction_count(n_claims: int, settings: BuildSettings) -> int:
    """How many ST/SE transaction sets ``build_837p`` writes for ``n_claims`` claims."""
    return math.ceil(n_claims / settings.claims_per_transaction) if n_claims > 0 else 0


def build_837p(
    claims: Sequence[Claim],
    *,
    submitter: Submitter,
    receiver: Receiver,
    control: ControlNumbers,
    settings: BuildSettings,
) -> str:
    """Write ``claims`` as one 837P interchange; raises ``ClaimNotWritable`` for a bad claim."""
    if not claims:
        raise ValueError("an 837P interchange needs at least one claim")
    _check_envelope(submitter, receiver, control, settings)
    terminator = _TERMINATOR + ("\n" if settings.line_breaks else "")
    writer = _TransactionWriter(terminator, settings)
    created = settings.created
    date8, time4 = created.strftime("%Y%m%d"), created.strftime("%H%M")
    out = [
        "*".join(
            (
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                submitter.id_qualifier,
                submitter.id.ljust(15),
                receiver.id_qualifier,
                receiver.id.ljust(15),
                created.strftime("%y%m%d"),
                time4,
                "^",
                "00501",
                f"{control.interchange:09d}",
                "0",
                settings.usage_indicator,
                ":",
            )
        )
        + terminator,
        _segment(
            [
                "GS",
                "HC",
                submitter.id,
                receiver.id,
                date8,
                time4,
                str(control.group),
                "X",
                IMPLEMENTATION_CONVENTION,
            ],
            terminator,
        ),
    ]
    header = _header_segments(submitter, receiver, terminator)
    per = settings.claims_per_transaction
    n_transactions = transaction_count(len(claims), settings)
    for number in range(1, n_transactions + 1):
        st02 = f"{number:04d}"
        chunk = claims[(number - 1) * per : number * per]
        body = [
            f"ST*837*{st02}*{IMPLEMENTATION_CONVENTION}{terminator}",
            f"BHT*0019*00*{control.interchange:09d}{st02}*{date8}*{time4}*CH{terminator}",
            *header,
        ]
        writer.write_claims(chunk, body)
        out.extend(body)
        out.append(f"SE*{len(body) + 1}*{st02}{terminator}")
    out.append(f"GE*{n_transactions}*{control.group}{terminator}")
    out.append(f"IEA*1*{control.interchange:09d}{terminator}")
    return "".join(out)


def _check_envelope(
    submitter: Submitter, receiver: Receiver, control: ControlNumbers, settings: BuildSettings
) -> None:
    for label, value, shortest, longest in (
        ("submitter id", submitter.id, 2, 15),
        ("receiver id", receiver.id, 2, 15),
        ("submitter id qualifier", submitter.id_qualifier, 2, 2),
        ("receiver id qualifier", receiver.id_qualifier, 2, 2),
    ):
        if not shortest <= len(value) <= longest or to_x12_identifier(value, label) != value:
            raise ValueError(
                f"{label} must be {shortest} to {longest} printable characters without separators"
            )
    if not (submitter.contact_phone.isdigit() and len(submitter.contact_phone) == 10):
        raise ValueError("submitter contact phone must be 10 digits")
    if not 1 <= control.interchange <= 999_999_999:
        raise ValueError("interchange control number must be 1..999999999")
    if not 1 <= control.group <= 999_999_999:
        raise ValueError("group control number must be 1..999999999")
    if settings.usage_indicator not in ("T", "P"):
        raise ValueError("usage indicator must be T or P")
    if settings.claims_per_transaction < 1:
        raise ValueError("claims_per_transaction must be at least 1")
    missing = set(LineOfBusiness) - set(settings.claim_filing_codes)
    if missing:
        raise ValueError(f"no claim filing code (SBR09) for {sorted(missing)}")


def _header_segments(submitter: Submitter, receiver: Receiver, terminator: str) -> list[str]:
    """Loops 1000A (submitter, with its EDI contact) and 1000B (receiver)."""
    return [
        _segment(
            [
                "NM1",
                "41",
                "2",
                _text(submitter.name, "submitter name", longest=60),
                "",
                "",
                "",
                "",
                "46",
                submitter.id,
            ],
            terminator,
        ),
        _segment(
            [
                "PER",
                "IC",
                _text(submitter.contact_name, "submitter contact", longest=60),
                "TE",
                submitter.contact_phone,
            ],
            terminator,
        ),
        _segment(
            [
                "NM1",
                "40",
                "2",
                _text(receiver.name, "receiver name", longest=60),
                "",
                "",
                "",
                "",
                "46",
                receiver.id,
            ],
            terminator,
        ),
    ]


def _segment(elements: list[str], terminator: str) -> str:
    """Join elements, dropping trailing empty ones; values were cleaned and checked before."""
    end = len(elements)
    while end > 1 and not elements[end - 1]:
        end -= 1
    return "*".join(elements[:end]) + terminator


@dataclass(slots=True)
class _TransactionWriter:
    """Writes the 2000A..2400 loops of one transaction set.

    What many claims of a file share is written once and remembered by value: 2000A blocks, a
    provider's NM1, the payer's NM1, the SBR, a subscriber's N3/N4 and a DMG (a member's claims of the month, a
    family's members), a claim's HI (a patient's diagnoses), and a service line's SV1, DTP and REF*6R (a practice bills a few codes, amounts and
    dates, and numbers its lines L1, L2 ...).  Only what was written without an
    error is remembered, so a bad value is refused with its own message every time."""

    terminator: str
    settings: BuildSettings
    _billing_blocks: dict[Provider, list[str]] = field(default_factory=dict)
    _names: dict[tuple[str, Provider], str] = field(default_factory=dict)
    _payers: dict[tuple[str, str], str] = field(default_factory=dict)
    _services: dict[tuple[object, ...], str] = field(default_factory=dict)
    _dates: dict[date, str] = field(default_factory=dict)
    _line_ids: dict[str, str] = field(default_factory=dict)
    _addresses: dict[Address, list[str]] = field(default_factory=dict)
    _demographics: dict[tuple[date, str], str] = field(default_factory=dict)
    _diagnoses: dict[tuple[str, ...], str] = field(default_factory=dict)
    _sbrs: dict[tuple[bool, str, str], str] = field(default_factory=dict)

    def write_claims(self, claims: Sequence[Claim], out: list[str]) -> None:
        hl = 0
        billing_hl = 0
        current: tuple[Provider, Address | None] | None = None
        supervised_billing = self.settings.supervised_billing
        for claim in claims:
            claim_id = claim.claim_id
            try:
                if claim.supervising is not None:
                    claim = claim_as_billed(claim, supervised_billing)
                billing = claim.billing if claim.billing.entity_type == "2" else billing_as_written(claim)
                # The pay-to address belongs to loop 2000A: a claim paid elsewhere opens its own.
                billing_loop = (billing, _pay_to(claim))
                if billing_loop != current:
                    hl += 1
                    billing_hl = hl
                    current = billing_loop
                    out.append(f"HL*{hl}**20*1{self.terminator}")
                    out.extend(self._billing_block(billing))
                    if billing_loop[1] is not None:
                        out.extend(_pay_to_block(billing, billing_loop[1], self.terminator))
                hl += 1
                hl = self._claim(claim, hl, billing_hl, out)
            except UnsafeText as exc:
                raise ClaimNotWritable(claim_id, str(exc)) from None
            except ClaimNotWritable:
                raise
            except ValueError as exc:  # from format_amount and friends
                raise ClaimNotWritable(claim_id, str(exc)) from None

    def _billing_block(self, billing: Provider) -> list[str]:
        """Loop 2000A PRV and loop 2010AA (name, address with ZIP+4, EIN)."""
        block = self._billing_blocks.get(billing)
        if block is not None:
            return block
        t = self.terminator
        if billing.address is None:
            raise ValueError("billing provider has no address (2010AA N3/N4 is required)")
        if not (len(billing.address.zip) == 9 and billing.address.zip.isdigit()):
            raise ValueError("billing provider ZIP must be 9 digits (ZIP+4) in 5010")
        if not billing.tax_id or not (len(billing.tax_id) == 9 and billing.tax_id.isdigit()):
            raise ValueError("billing provider tax id (REF*EI) must be 9 digits")
        block = []
        if billing.taxonomy:
            block.append(f"PRV*BI*PXC*{_taxonomy(billing.taxonomy, 'billing taxonomy')}{t}")
        block.append(_name_segment("85", billing, "billing provider", t))
        block.extend(_address_segments(billing.address, "billing provider", t))
        block.append(f"REF*EI*{billing.tax_id}{t}")
        self._billing_blocks[billing] = block
        return block

    def _claim(self, claim: Claim, hl: int, billing_hl: int, out: list[str]) -> int:
        """Loops 2000B/2010BA/2010BB, 2000C/2010CA and 2300 for one claim; returns the last HL used."""
        t = self.terminator
        claim_id = _identifier(claim.claim_id, "claim id", longest=20)
        subscriber = claim.subscriber
        is_self = claim.relationship is Relationship.SELF
        if is_self and claim.patient is not None:
            raise ValueError("a patient is given but the relationship to the subscriber is self")
        if not is_self and claim.patient is None:
            raise ValueError(f"relationship is {claim.relationship} but no patient is given")
        filing_code = self.settings.claim_filing_codes[claim.line_of_business]
        plan_name = PLAN_NAMES.get(claim.line_of_business, "")

        subscriber_hl = hl
        out.append(f"HL*{hl}*{billing_hl}*22*{0 if is_self else 1}{t}")
        sbr = self._sbrs.get((is_self, plan_name, filing_code))
        if sbr is None:
            sbr = self._sbrs[(is_self, plan_name, filing_code)] = _segment(
                ["SBR", "P", "18" if is_self else "", "", plan_name, "", "", "", "", filing_code], t)
        out.append(sbr)
        last = _text(subscriber.last, "subscriber last name", longest=60)
        first = _text(subscriber.first, "subscriber first name", shortest=0, longest=35)
        member = _identifier(subscriber.member_id, "subscriber member id", shortest=2, longest=80)
        out.append(f"NM1*IL*1*{last}*{first}****MI*{member}{t}")  # NM109 is never empty: nothing trailing to drop
        if is_self:
            # 2010BA N3/N4/DMG: "required when the patient is the subscriber; if not required, do not send".
            out.extend(self._address(subscriber.address))
            out.append(self._dmg(subscriber.dob, subscriber.sex, "subscriber"))
        payer = self._payers.get((claim.payer_name, claim.payer_id))
        if payer is None:
            payer = self._payers[(claim.payer_name, claim.payer_id)] = _segment(
                [
                    "NM1",
                    "PR",
                    "2",
                    _text(claim.payer_name, "payer name", longest=60),
                    "",
                    "",
                    "",
                    "",
                    "PI",
                    _identifier(claim.payer_id, "payer id", shortest=2, longest=80),
                ],
                t,
            )
        out.append(payer)
        if not is_self:
            patient = claim.patient
            assert patient is not None
            hl += 1
            out.append(f"HL*{hl}*{subscriber_hl}*23*0{t}")
            out.append(f"PAT*{PATIENT_RELATIONSHIP_CODES[claim.relationship]}{t}")
            out.append(
                _segment(
                    [
                        "NM1",
                        "QC",
                        "1",
                        _text(patient.last, "patient last name", longest=60),
                        _text(patient.first, "patient first name", shortest=0, longest=35),
                    ],
                    t,
                )
            )
            # 2010CA N3/N4 are required; the PM export has no patient address, so the
            # patient is taken to live at the subscriber's address.
            out.extend(self._address(subscriber.address))
            out.append(self._dmg(patient.dob, patient.sex, "patient"))
        self._claim_loop(claim, claim_id, out)
        return hl

    def _claim_loop(self, claim: Claim, claim_id: str, out: list[str]) -> None:
        """Loop 2300 with 2310B rendering, 2310D supervising and the 2400 service lines."""
        t = self.terminator
        lines = claim.lines
        if not lines:
            raise ValueError("claim has no service lines")
        if len(lines) > MAX_LINES:
            raise ValueError(f"claim has {len(lines)} service lines, an 837P claim holds at most {MAX_LINES}")
        place = _code(lines[0].place_of_service, "place of service", 2)
        out.append(
            f"CLM*{claim_id}*{format_amount(claim.total_charge)}***{place}:B:{claim.frequency.value}*Y*A*Y*Y{t}"
        )
        if claim.prior_auth:
            out.append(f"REF*G1*{_identifier(claim.prior_auth, 'prior authorization', longest=50)}{t}")
        if claim.frequency.value != "1":
            if not claim.original_claim_number:
                raise ValueError(
                    f"frequency {claim.frequency.value} needs the original claim number (REF*F8)"
                )
            out.append(
                f"REF*F8*{_identifier(claim.original_claim_number, 'original claim number', longest=50)}{t}"
            )
        diagnoses = self._diagnoses.get(claim.diagnoses)
        if diagnoses is None:
            diagnoses = self._diagnoses[claim.diagnoses] = _diagnoses(claim.diagnoses, t)
        out.append(diagnoses)
        billing = claim.billing
        rendering = claim.rendering
        if rendering is not None and rendering.npi != billing.npi:
            out.append(self._name("82", rendering, "rendering provider"))
            if rendering.taxonomy:
                out.append(f"PRV*PE*PXC*{_taxonomy(rendering.taxonomy, 'rendering taxonomy')}{t}")
        facility = _service_facility(claim)
        if facility is not None:
            out.extend(_facility_block(facility, t))
        if claim.supervising is not None:
            out.append(self._name("DQ", claim.supervising, "supervising provider"))
        n_diagnoses = len(claim.diagnoses)
        for number, line in enumerate(lines, start=1):
            self._service_line(number, line, place, n_diagnoses, out)

    def _dmg(self, dob: date, sex: str, label: str) -> str:
        """DMG of loop 2010BA or 2010CA."""
        found = self._demographics.get((dob, sex))
        if found is None:
            found = self._demographics[(dob, sex)] = _demographics(_date8(dob), sex, label, self.terminator)
        return found

    def _address(self, address: Address) -> list[str]:
        """A subscriber's N3/N4 (loops 2010BA and 2010CA)."""
        found = self._addresses.get(address)
        if found is None:
            found = self._addresses[address] = _address_segments(address, "subscriber", self.terminator)
        return found

    def _name(self, entity: str, provider: Provider, label: str) -> str:
        key = (entity, provider)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = _name_segment(entity, provider, label, self.terminator)
        return found

    def _service_line(self, number: int, line: ServiceLine, claim_place: str, n_diagnoses: int, out: list[str]) -> None:
        """Loop 2400: LX, SV1, DTP*472, REF*6R."""
        t = self.terminator
        key = (line.procedure_code, line.modifiers, line.charge, line.units, line.place_of_service, claim_place,
               line.diagnosis_pointers, n_diagnoses)
        service = self._services.get(key)
        if service is None:
            service = self._services[key] = _service(line, claim_place, n_diagnoses, t)
        day = self._dates.get(line.service_date)
        if day is None:
            day = self._dates[line.service_date] = f"DTP*472*D8*{_date8(line.service_date)}{t}"
        reference = self._line_ids.get(line.line_id)
        if reference is None:
            reference = self._line_ids[line.line_id] = f"REF*6R*{_identifier(line.line_id, 'line id', longest=50)}{t}"
        out += (f"LX*{number}{t}", service, day, reference)


def _pay_to(claim: Claim) -> Address | None:
    """The pay-to address to write, or None when payment goes to the billing address."""
    pay_to = claim.pay_to
    if pay_to is None or pay_to == claim.billing.address:
        return None
    return pay_to


def _service_facility(claim: Claim) -> ServiceFacility | None:
    """The service facility to write, or None when the service was at the billing address."""
    facility = claim.service_facility
    if facility is None or facility.address == claim.billing.address:
        return None
    return facility


def _pay_to_block(billing: Provider, address: Address, t: str) -> list[str]:
    """Loop 2010AB: NM1*87 carries only the entity type (NM103..NM109 are not used), then N3/N4."""
    entity_type = billing.entity_type if billing.entity_type in ("1", "2") else "2"
    _check_state(address, "pay-to")
    return [f"NM1*87*{entity_type}{t}", *_address_segments(address, "pay-to", t)]


def _facility_block(facility: ServiceFacility, t: str) -> list[str]:
    """Loop 2310C: NM1*77 (organisation, NPI when it has one), N3, N4 with ZIP+4."""
    name = _text(facility.name, "service facility name", longest=60)
    if not (len(facility.address.zip) == 9 and facility.address.zip.isdigit()):
        raise ValueError("service facility ZIP must be 9 digits (ZIP+4) in 5010")
    if facility.npi is None:
        nm1 = f"NM1*77*2*{name}{t}"
    elif len(facility.npi) == 10 and facility.npi.isdigit():
        nm1 = f"NM1*77*2*{name}*****XX*{facility.npi}{t}"
    else:
        raise ValueError("service facility NPI must be 10 digits")
    _check_state(facility.address, "service facility")
    return [nm1, *_address_segments(facility.address, "service facility", t)]


def _check_state(address: Address, label: str) -> None:
    """pyx12 refuses an N402 that is not a USPS code; no rule checks these two addresses before."""
    if address.state not in US_STATE_CODES:
        raise ValueError(f"{label} state must be a USPS state code")


def _service(line: ServiceLine, claim_place: str, n_diagnoses: int, t: str) -> str:
    """SV1 of loop 2400 (its place of service only where it differs from the claim's)."""
    if len(line.modifiers) > MAX_MODIFIERS:
        raise ValueError(f"line {line.line_id}: more than {MAX_MODIFIERS} modifiers")
    procedure = ":".join(
        ["HC", _code(line.procedure_code, "procedure code", 5)]
        + [_modifier(modifier) for modifier in line.modifiers]
    )
    pointers = line.diagnosis_pointers
    if not pointers or len(pointers) > MAX_POINTERS or any(not 1 <= p <= n_diagnoses for p in pointers):
        raise ValueError(
            f"line {line.line_id}: diagnosis pointers must be 1 to 4 of the claim's {n_diagnoses} diagnoses"
        )
    if line.charge < 0:
        raise ValueError(f"line {line.line_id}: negative charge")
    if line.units <= 0:
        raise ValueError(f"line {line.line_id}: units must be positive")
    place = _code(line.place_of_service, "place of service", 2)
    return (f"SV1*{procedure}*{format_amount(line.charge)}*UN*{format_quantity(line.units)}*"
            f"{place if place != claim_place else ''}**{':'.join(str(p) for p in pointers)}{t}")


def _diagnoses(diagnoses: tuple[str, ...], t: str) -> str:
    """HI: ABK principal diagnosis, then ABF other diagnoses, ICD-10-CM without the dot."""
    if not diagnoses:
        raise ValueError("claim has no diagnosis (HI ABK is required)")
    if len(diagnoses) > MAX_DIAGNOSES:
        raise ValueError(f"claim has {len(diagnoses)} diagnoses, HI holds at most {MAX_DIAGNOSES}")
    parts = []
    for position, code in enumerate(diagnoses):
        text = code.replace(".", "").strip().upper()
        if not (3 <= len(text) <= 7 and text.isalnum() and text.isascii()):
            raise ValueError(f"diagnosis {position + 1} is not an ICD-10-CM code")
        parts.append(("ABK:" if position == 0 else "ABF:") + text)
    return "HI*" + "*".join(parts) + t


def _name_segment(entity: str, provider: Provider, label: str, t: str) -> str:
    """NM1 for a provider identified by NPI (XX): person (1) or organisation (2)."""
    npi = provider.npi
    if not (len(npi) == 10 and npi.isdigit()):
        raise ValueError(f"{label} NPI must be 10 digits")
    last = _text(provider.last_or_org, f"{label} name", longest=60)
    if provider.entity_type == "2":
        return f"NM1*{entity}*2*{last}*****XX*{npi}{t}"
    if provider.entity_type != "1":
        raise ValueError(f"{label} entity type must be 1 (person) or 2 (organisation)")
    first = _text(provider.first or "", f"{label} first name", shortest=0, longest=35)
    return f"NM1*{entity}*1*{last}*{first}****XX*{npi}{t}"


def _address_segments(address: Address, label: str, t: str) -> list[str]:
    zip_code = address.zip
    if not (len(zip_code) in (5, 9) and zip_code.isdigit()):
        raise ValueError(f"{label} ZIP must be 5 or 9 digits")
    state = _text(address.state, f"{label} state", longest=2)
    if len(state) != 2 or not state.isalpha():
        raise ValueError(f"{label} state must be a 2-letter code")
    return [
        f"N3*{_text(address.line1, f'{label} address', longest=55)}{t}",
        f"N4*{_text(address.city, f'{label} city', shortest=2, longest=30)}*{state}*{zip_code}{t}",
    ]


def _date8(value: date) -> str:
    """CCYYMMDD; ``edi.x12.format_date`` without strftime, which dominated build time."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _demographics(dob: str, sex: str, label: str, t: str) -> str:
    if sex not in ("M", "F", "U"):
        raise ValueError(f"{label} sex must be M, F or U")
    return f"DMG*D8*{dob}*{sex}{t}"


def _text(value: str, label: str, *, shortest: int = 1, longest: int) -> str:
    """Cleaned data text within the element's X12 length (refused, never truncated)."""
    text = to_x12_text(value, label)
    if not shortest <= len(text) <= longest:
        raise ValueError(f"{label} must be {shortest} to {longest} characters after cleaning")
    return text


def _identifier(value: str, label: str, *, shortest: int = 1, longest: int = 50) -> str:
    text = to_x12_identifier(value, label)
    if not shortest <= len(text) <= longest:
        raise ValueError(f"{label} must be {shortest} to {longest} characters")
    return text


def _taxonomy(value: str, label: str) -> str:
    if not (len(value) == 10 and value.isalnum() and value.isascii()):
        raise ValueError(f"{label} must be a 10-character provider taxonomy code")
    return value


def _modifier(value: str) -> str:
    if not (len(value) == 2 and value.isalnum() and value.isascii()):
        raise ValueError("a procedure modifier must be 2 letters or digits")
    return value.upper()


def _code(value: str, label: str, longest: int) -> str:
    if not (value and len(value) <= longest and value.isalnum() and value.isascii()):
        raise ValueError(f"{label} must be 1 to {longest} letters or digits")
    return value.upper()
