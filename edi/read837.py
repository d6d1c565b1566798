"""Read 837P (005010X222) interchanges back into ``Claim`` records.

Used for our own files (round trip, resubmission, audit) and for 837Ps written by
others.  The reader is strict about the envelope — ISA/GS/ST/SE/GE/IEA must nest,
trailers must name their opener's control number, the transaction must be an
837P — and raises ``X12ParseError`` naming the segment position when they do not.
Inside a transaction it is lenient: the claim is taken from the loops it knows
(2000A/2010AA/2010AB, 2000B/2010BA/2010BB, 2000C/2010CA, 2300, 2310B, 2310C, 2310D,
2400) and everything else (COB loops 2320/2330, line-level providers...) is skipped.
What ``Claim`` cannot hold, or what the file lacks, is said in ``Claim.extra``:

    ("sbr09", code)                  a claim filing code not in ``claim_filing_codes``
    ("clm02", amount)                CLM02 differs from the sum of the line charges
    ("frequency", code)              CLM05-3 other than 1, 7, 8 (read as original)
    ("pat01", code)                  a PAT01 relationship other than 01, 19, G8 (read as other)
    ("diagnosis_code_set", "ICD-9-CM")   HI used BK/BF qualifiers
    ("sv101", raw) / ("sv107", raw)  a procedure or pointer composite that could not be read
                                     (e.g. written with another component separator than ISA16)

A date of birth the file does not carry is ``MISSING_DATE`` (``date.min``), a missing
sex "U": the guide forbids 2010BA DMG when the patient is not the subscriber, so
such claims always read back that way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import ClassVar

from domain.acks import Envelope
from domain.claim import (
    OPTUM_BH_PAYER_NAME,
    Address,
    Claim,
    Frequency,
    LineOfBusiness,
    Patient,
    Provider,
    Relationship,
    RenderingLicense,
    ServiceFacility,
    ServiceLine,
    Source,
    Subscriber,
)
from edi.engine import TransactionReader, run
from edi.tokenizer import SegmentSource
from edi.x12 import Segment, Separators, X12ParseError, parse_amount, parse_date
from edi.x837p import DEFAULT_CLAIM_FILING_CODES, PATIENT_RELATIONSHIP_CODES, PLAN_NAMES

MISSING_DATE = date.min

_RELATIONSHIPS = {code: relationship for relationship, code in PATIENT_RELATIONSHIP_CODES.items()}
_PLAN_LINES = {name: line for line, name in PLAN_NAMES.items()}
_DIAGNOSIS_QUALIFIERS = {"ABK": False, "ABF": False, "BK": True, "BF": True}  # value: ICD-9
_MEDICARE_CODES = {"16", "MA", "MB"}
_MEDICAID_CODES = {"MC"}


@dataclass(frozen=True, slots=True)
class Read837:
    """The claims of an 837P file and the envelope facts needed to acknowledge it."""

    claims: tuple[Claim, ...]
    sender_id: str  # ISA06, first interchange
    receiver_id: str  # ISA08
    interchange_control_number: str  # ISA13
    group_control_number: str  # GS06, first group
    transaction_set_control_numbers: tuple[str, ...]  # every ST02, in order
    usage_indicator: str  # ISA15: T or P
    interchange_control_numbers: tuple[str, ...] = ()  # every ISA13 when a file holds several
    group_control_numbers: tuple[str, ...] = ()  # every GS06


def read_837p(
    text: str,
    source: str = "<837>",
    *,
    claim_filing_codes: Mapping[LineOfBusiness, str] = DEFAULT_CLAIM_FILING_CODES,
) -> Read837:
    """Read every claim of an 837P interchange (or several concatenated ones)."""
    data = SegmentSource(text, source=source)
    reader = _Reader(source, data.separators, claim_filing_codes)
    run(data, reader)
    return reader.finish()


@dataclass(slots=True)
class _LineDraft:
    number: str
    source: Source
    procedure_code: str = ""
    modifiers: tuple[str, ...] = ()
    charge: Decimal = Decimal("0")
    units: Decimal = Decimal("0")
    place_of_service: str = ""
    pointers: tuple[int, ...] = ()
    service_date: date | None = None
    line_id: str = ""
    has_sv1: bool = False
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class _ClaimDraft:
    claim_id: str
    source: Source
    charge: Decimal
    place_of_service: str
    frequency_code: str
    prior_auth: str | None = None
    original_claim_number: str | None = None
    diagnoses: list[str] = field(default_factory=list)
    icd9: bool = False
    rendering: Provider | None = None
    supervising: Provider | None = None
    facility: dict[str, Segment] = field(default_factory=dict)  # 2310C NM1*77, N3, N4
    lines: list[_LineDraft] = field(default_factory=list)


class _Reader(TransactionReader):
    """Takes the segments the engine placed in the 837's loops (``HANDLERS``); envelope checked there."""

    TRANSACTIONS: ClassVar[frozenset[str]] = frozenset({"837"})
    check_set_count = False  # 837s written by others are read for their claims
    check_trailer_counts = False
    HANDLERS: ClassVar[dict[str, str]] = {
        "2000A/HL": "billing_hl", "2000A/PRV": "billing_taxonomy",
        "2010AA/NM1": "billing_name", "2010AA/N3": "billing_part", "2010AA/N4": "billing_part",
        "2010AA/REF": "billing_tax_id", "2010AB/N3": "pay_to_part", "2010AB/N4": "pay_to_part",
        "2000B/HL": "subscriber_hl", "2000B/SBR": "subscriber_part", "2010BA/NM1": "subscriber_name",
        "2010BA/N3": "subscriber_part", "2010BA/N4": "subscriber_part", "2010BA/DMG": "subscriber_part",
        "2010BB/NM1": "subscriber_name",
        "2000C/HL": "patient_hl", "2000C/PAT": "patient_part", "2010CA/NM1": "patient_part",
        "2010CA/N3": "patient_part", "2010CA/N4": "patient_part", "2010CA/DMG": "patient_part",
        "2300/CLM": "claim_start", "2300/REF": "claim_ref", "2300/HI": "claim_diagnoses",
        "2310B/NM1": "rendering_name", "2310B/PRV": "rendering_taxonomy",
        "2310C/NM1": "facility_part", "2310C/N3": "facility_part", "2310C/N4": "facility_part",
        "2310D/NM1": "supervising_name",
        "2400/LX": "line_start", "2400/SV1": "line_sv1", "2400/DTP": "line_date", "2400/REF": "line_ref",
    }

    def __init__(self, source: str, separators: Separators, claim_filing_codes: Mapping[LineOfBusiness, str]):
        self.source = source
        self.separators = separators
        self.claim_filing_codes = claim_filing_codes
        self.claims: list[Claim] = []
        self.envelopes: list[Envelope] = []
        self.st_numbers: list[str] = []
        self.billing: dict[str, object] = {}
        self.subscriber: dict[str, object] = {}
        self.patient: dict[str, object] | None = None
        self.claim: _ClaimDraft | None = None
        self.line: _LineDraft | None = None

    def fail(self, message: str, segment: Segment) -> X12ParseError:
        return X12ParseError(message, segment_index=segment.index, source=self.source)

    # -- envelope (checked by the engine) -----------------------------------------

    def other_set(self, st: list[str], number: int) -> None:
        kind = st[1] if len(st) > 1 else ""
        raise X12ParseError(f"not an 837P 005010X222 transaction ({kind})", segment_index=number, source=self.source)

    def begin_set(self, envelope: Envelope, st: list[str], number: int) -> None:
        segment = Segment(tuple(st), number)
        convention = segment.get(3) or envelope.version
        if not convention.startswith("005010X222"):
            raise self.fail(f"not an 837P 005010X222 transaction ({segment.get(1)} {convention})", segment)
        if not self.envelopes or envelope is not self.envelopes[-1]:
            self.envelopes.append(envelope)
        self.st_numbers.append(segment.get(2))
        self.billing, self.subscriber, self.patient = {}, {}, None

    def end_set(self, se: list[str], number: int) -> None:
        self.close_claim(Segment(tuple(se), number))

    def finish(self) -> Read837:
        if not self.envelopes:
            raise X12ParseError("no 837P transaction set in the file", source=self.source)
        first = self.envelopes[0]
        return Read837(
            claims=tuple(self.claims),
            sender_id=first.sender_id,
            receiver_id=first.receiver_id,
            interchange_control_number=first.interchange_control_number,
            group_control_number=first.group_control_number,
            transaction_set_control_numbers=tuple(self.st_numbers),
            usage_indicator=first.usage,
            interchange_control_numbers=tuple(
                e.interchange_control_number for i, e in enumerate(self.envelopes)
                if i == 0 or e.interchange_control_number != self.envelopes[i - 1].interchange_control_number),
            group_control_numbers=tuple(e.group_control_number for e in self.envelopes),
        )

    # -- 2000A/B/C: billing provider, subscriber, patient ----------------------------

    def billing_hl(self, elements: list[str], number: int) -> None:
        self.close_claim(Segment(tuple(elements), number))
        self.billing, self.subscriber, self.patient = {}, {}, None

    def billing_taxonomy(self, elements: list[str], number: int) -> None:
        segment = Segment(tuple(elements), number)
        if segment.get(1) == "BI":
            self.billing["taxonomy"] = segment.get(3) or None

    def billing_name(self, elements: list[str], number: int) -> None:
        if _get(elements, 1) == "85":  # a lenient read places any NM1 here by id alone
            self.billing["provider"] = Segment(tuple(elements), number)

    def billing_part(self, elements: list[str], number: int) -> None:
        self.billing[elements[0]] = Segment(tuple(elements), number)

    def billing_tax_id(self, elements: list[str], number: int) -> None:
        segment = Segment(tuple(elements), number)
        if segment.get(1) == "EI":
            self.billing["tax_id"] = segment.get(2)

    def pay_to_part(self, elements: list[str], number: int) -> None:
        self.billing[f"pay_to_{elements[0]}"] = Segment(tuple(elements), number)

    def subscriber_hl(self, elements: list[str], number: int) -> None:
        self.close_claim(Segment(tuple(elements), number))
        self.subscriber, self.patient = {}, None

    def subscriber_name(self, elements: list[str], number: int) -> None:
        segment = Segment(tuple(elements), number)
        self.subscriber[segment.get(1)] = segment

    def subscriber_part(self, elements: list[str], number: int) -> None:
        self.subscriber[elements[0]] = Segment(tuple(elements), number)

    def patient_hl(self, elements: list[str], number: int) -> None:
        self.close_claim(Segment(tuple(elements), number))
        self.patient = {}

    def patient_part(self, elements: list[str], number: int) -> None:
        if self.patient is not None and (elements[0] != "NM1" or _get(elements, 1) == "QC"):
            self.patient["QC" if elements[0] == "NM1" else elements[0]] = Segment(tuple(elements), number)

    # -- loop 2300 and below ---------------------------------------------------

    def claim_start(self, elements: list[str], number: int) -> None:
        segment = Segment(tuple(elements), number)
        self.close_claim(segment)
        if "provider" not in self.billing:
            raise self.fail("claim without a billing provider (loop 2010AA NM1*85)", segment)
        if "IL" not in self.subscriber:
            raise self.fail("claim without a subscriber (loop 2010BA NM1*IL)", segment)
        claim_id = segment.get(1)
        if not claim_id:
            raise self.fail("CLM01 patient control number is empty", segment)
        place = segment.components(5, self.separators)
        self.claim = _ClaimDraft(
            claim_id=claim_id,
            source=Source(self.source, segment.index),
            charge=parse_amount(segment.get(2) or "0"),
            place_of_service=place[0],
            frequency_code=place[2] if len(place) > 2 else "1",
        )

    def claim_ref(self, elements: list[str], number: int) -> None:
        claim = self.claim
        if claim is None or len(elements) < 3:
            return
        if elements[1] == "G1":
            claim.prior_auth = elements[2] or None
        elif elements[1] == "F8":
            claim.original_claim_number = elements[2] or None

    def claim_diagnoses(self, elements: list[str], number: int) -> None:
        if self.claim is not None:
            self.read_diagnoses(Segment(tuple(elements), number), self.claim)

    def rendering_name(self, elements: list[str], number: int) -> None:
        if self.claim is not None and _get(elements, 1) == "82":
            self.claim.rendering = self.provider(Segment(tuple(elements), number))

    def rendering_taxonomy(self, elements: list[str], number: int) -> None:
        claim = self.claim
        segment = Segment(tuple(elements), number)
        if claim is not None and claim.rendering and segment.get(1) == "PE":
            claim.rendering = _with_taxonomy(claim.rendering, segment.get(3) or None)

    def facility_part(self, elements: list[str], number: int) -> None:
        if self.claim is not None and (elements[0] != "NM1" or _get(elements, 1) == "77"):
            self.claim.facility[elements[0]] = Segment(tuple(elements), number)

    def supervising_name(self, elements: list[str], number: int) -> None:
        if self.claim is not None and _get(elements, 1) == "DQ":
            self.claim.supervising = self.provider(Segment(tuple(elements), number))

    def read_diagnoses(self, segment: Segment, claim: _ClaimDraft) -> None:
        for position in range(1, len(segment.elements)):
            parts = segment.components(position, self.separators)
            if len(parts) < 2 or parts[0] not in _DIAGNOSIS_QUALIFIERS or not parts[1]:
                continue
            claim.diagnoses.append(parts[1].replace(".", ""))
            claim.icd9 = claim.icd9 or _DIAGNOSIS_QUALIFIERS[parts[0]]

    # -- loop 2400 -------------------------------------------------------------

    def line_start(self, elements: list[str], number: int) -> None:
        if self.claim is not None:
            self.line = _LineDraft(number=_get(elements, 1), source=Source(self.source, number))
            self.claim.lines.append(self.line)

    def line_sv1(self, elements: list[str], number: int) -> None:
        line = self.line
        if line is None:
            return
        segment = Segment(tuple(elements), number)
        procedure = segment.components(1, self.separators)
        line.has_sv1 = True
        if len(procedure) < 2:
            line.notes.append(("sv101", segment.get(1)))
        line.procedure_code = procedure[1] if len(procedure) > 1 else ""
        line.modifiers = tuple(m for m in procedure[2:6] if m)
        line.charge = parse_amount(segment.get(2) or "0")
        line.units = parse_amount(segment.get(4) or "1")
        line.place_of_service = segment.get(5)
        pointers = _pointers(segment.components(7, self.separators))
        if pointers is None:
            line.notes.append(("sv107", segment.get(7)))
        line.pointers = pointers or ()

    def line_date(self, elements: list[str], number: int) -> None:
        line = self.line
        if line is None or _get(elements, 1) != "472":
            return
        value = _get(elements, 3)
        line.service_date = parse_date(value[:8] if _get(elements, 2) == "RD8" else value)

    def line_ref(self, elements: list[str], number: int) -> None:
        if self.line is not None and _get(elements, 1) == "6R":
            self.line.line_id = _get(elements, 2)

    def provider(self, segment: Segment) -> Provider:
        entity_type = segment.get(2) or "1"
        return Provider(
            npi=segment.get(9),
            last_or_org=segment.get(3),
            first=(segment.get(4) or None) if entity_type == "1" else None,
            entity_type=entity_type,
        )

    def close_claim(self, at: Segment) -> None:
        """Freeze the open claim (at the next CLM, HL or SE) into a ``Claim``."""
        draft = self.claim
        if draft is None:
            return
        self.claim, self.line = None, None
        extra: list[tuple[str, str]] = []
        lines = tuple(self.service_line(line, draft, at) for line in draft.lines)
        if not lines:
            raise X12ParseError(
                f"claim at segment {draft.source.line} has no service lines",
                segment_index=at.index,
                source=self.source,
            )
        line_of_business, relationship, subscriber, patient = self.people(extra)
        frequency = {"1": Frequency.ORIGINAL, "7": Frequency.REPLACEMENT, "8": Frequency.VOID}.get(
            draft.frequency_code
        )
        if frequency is None:
            extra.append(("frequency", draft.frequency_code))
            frequency = Frequency.ORIGINAL
        if sum((line.charge for line in lines), Decimal("0")) != draft.charge:
            extra.append(("clm02", str(draft.charge)))
        if draft.icd9:
            extra.append(("diagnosis_code_set", "ICD-9-CM"))
        for line in draft.lines:
            extra.extend(line.notes)
        payer = self.subscriber.get("PR")
        self.claims.append(
            Claim(
                claim_id=draft.claim_id,
                line_of_business=line_of_business,
                payer_id=payer.get(9) if isinstance(payer, Segment) else "",
                payer_name=(payer.get(3) or OPTUM_BH_PAYER_NAME)
                if isinstance(payer, Segment)
                else OPTUM_BH_PAYER_NAME,
                subscriber=subscriber,
                billing=self.billing_provider(),
                diagnoses=tuple(draft.diagnoses),
                lines=lines,
                frequency=frequency,
                original_claim_number=draft.original_claim_number,
                relationship=relationship,
                patient=patient,
                rendering=draft.rendering,
                rendering_license=RenderingLicense.SUPERVISED
                if draft.supervising
                else RenderingLicense.INDEPENDENT,
                supervising=draft.supervising,
                prior_auth=draft.prior_auth,
                source=draft.source,
                extra=tuple(extra),
                pay_to=_address(self.billing["pay_to_N3"], self.billing.get("pay_to_N4"))
                if "pay_to_N3" in self.billing
                else None,
                service_facility=_facility(draft.facility),
            )
        )

    def service_line(self, line: _LineDraft, claim: _ClaimDraft, at: Segment) -> ServiceLine:
        if not line.has_sv1:
            raise X12ParseError(
                f"service line at segment {line.source.line} has no SV1",
                segment_index=at.index,
                source=self.source,
            )
        if line.service_date is None:
            raise X12ParseError(
                f"service line at segment {line.source.line} has no service date (DTP*472)",
                segment_index=at.index,
                source=self.source,
            )
        return ServiceLine(
            line_id=line.line_id or line.number,
            service_date=line.service_date,
            procedure_code=line.procedure_code,
            charge=line.charge,
            units=line.units,
            place_of_service=line.place_of_service or claim.place_of_service,
            modifiers=line.modifiers,
            diagnosis_pointers=line.pointers or (1,),
            source=line.source,
        )

    def billing_provider(self) -> Provider:
        nm1 = self.billing["provider"]
        assert isinstance(nm1, Segment)
        base = self.provider(nm1)
        return Provider(
            npi=base.npi,
            last_or_org=base.last_or_org,
            first=base.first,
            entity_type=base.entity_type,
            taxonomy=self.billing.get("taxonomy"),  # type: ignore[arg-type]
            tax_id=self.billing.get("tax_id"),  # type: ignore[arg-type]
            address=_address(self.billing.get("N3"), self.billing.get("N4"))
            if "N3" in self.billing
            else None,
        )

    def people(
        self, extra: list[tuple[str, str]]
    ) -> tuple[LineOfBusiness, Relationship, Subscriber, Patient | None]:
        """Line of business (SBR09/SBR04), relationship, subscriber and patient of the open claim."""
        sbr = self.subscriber.get("SBR")
        filing_code = sbr.get(9) if isinstance(sbr, Segment) else ""
        plan_name = sbr.get(4) if isinstance(sbr, Segment) else ""
        line_of_business = self.line_of_business(filing_code, plan_name, extra)

        patient_loop = self.patient
        relationship = Relationship.SELF
        patient = None
        address_source: dict[str, object] = self.subscriber
        if patient_loop and "QC" in patient_loop:
            pat = patient_loop.get("PAT")
            code = pat.get(1) if isinstance(pat, Segment) else ""
            relationship = _RELATIONSHIPS.get(code, Relationship.OTHER)
            if code not in _RELATIONSHIPS:
                extra.append(("pat01", code))
            qc = patient_loop["QC"]
            assert isinstance(qc, Segment)
            dob, sex = _demographics(patient_loop.get("DMG"))
            patient = Patient(last=qc.get(3), first=qc.get(4), dob=dob, sex=sex)
            if "N3" not in self.subscriber:
                # Our builder writes the shared household address in 2010CA only (the
                # guide forbids 2010BA N3/N4 when the patient is not the subscriber).
                address_source = patient_loop
        il = self.subscriber["IL"]
        assert isinstance(il, Segment)
        dob, sex = _demographics(self.subscriber.get("DMG"))
        subscriber = Subscriber(
            member_id=il.get(9),
            last=il.get(3),
            first=il.get(4),
            dob=dob,
            sex=sex,
            address=_address(address_source.get("N3"), address_source.get("N4")),
        )
        return line_of_business, relationship, subscriber, patient

    def line_of_business(self, code: str, plan_name: str, extra: list[tuple[str, str]]) -> LineOfBusiness:
        by_plan = _PLAN_LINES.get(plan_name)
        if by_plan is not None and self.claim_filing_codes.get(by_plan) == code:
            return by_plan
        for line, known in self.claim_filing_codes.items():
            if known == code and line not in _PLAN_LINES:
                return line
        extra.append(("sbr09", code))
        if code in _MEDICARE_CODES:
            return LineOfBusiness.MEDICARE_ADVANTAGE
        if code in _MEDICAID_CODES:
            return LineOfBusiness.MEDICAID
        return LineOfBusiness.COMMERCIAL


def _with_taxonomy(provider: Provider, taxonomy: str | None) -> Provider:
    return Provider(
        npi=provider.npi,
        last_or_org=provider.last_or_org,
        first=provider.first,
        entity_type=provider.entity_type,
        taxonomy=taxonomy,
        tax_id=provider.tax_id,
        address=provider.address,
    )


def _facility(loop: dict[str, Segment]) -> ServiceFacility | None:
    nm1 = loop.get("NM1")
    if nm1 is None:
        return None
    return ServiceFacility(
        name=nm1.get(3),
        address=_address(loop.get("N3"), loop.get("N4")),
        npi=(nm1.get(9) or None) if nm1.get(8) == "XX" else None,
    )


def _address(n3: object, n4: object) -> Address:
    line1 = " ".join(v for v in (n3.get(1), n3.get(2)) if v) if isinstance(n3, Segment) else ""
    if isinstance(n4, Segment):
        return Address(line1=line1, city=n4.get(1), state=n4.get(2), zip=n4.get(3))
    return Address(line1=line1, city="", state="", zip="")


def _pointers(components: tuple[str, ...]) -> tuple[int, ...] | None:
    """SV107 as integers; ``None`` when a pointer is not a whole number ("1.00" is read as 1)."""
    pointers = []
    for value in components:
        if not value:
            continue
        try:
            number = Decimal(value)
        except ArithmeticError:
            return None
        if not number.is_finite() or number != number.to_integral_value() or not 1 <= number <= 12:
            return None
        pointers.append(int(number))
    return tuple(pointers)


def _demographics(dmg: object) -> tuple[date, str]:
    if not isinstance(dmg, Segment):
        return MISSING_DATE, "U"
    value = dmg.get(2)
    return (parse_date(value) if value else MISSING_DATE), (dmg.get(3) or "U")


def _get(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""
