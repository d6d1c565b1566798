"""The claim as the practice bills it, independent of its source or of X12.

A ``Claim`` is built by a parser (CSV, XML, our own 837P reader) and is the one
object the rule pack and the 837P builder take.  Money is ``Decimal``, dates are
``datetime.date``; every record carries the ``Source`` it came from so a later
error can name the file and line.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from domain.records import fast_init

OPTUM_BH_PAYER_ID = "87726"
OPTUM_BH_PAYER_NAME = "OPTUM BEHAVIORAL HEALTH"


class LineOfBusiness(enum.StrEnum):
    """The plans Optum BH administers; drives SBR09 and the payer rules."""

    COMMERCIAL = "commercial"
    MEDICAID = "medicaid"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    SCO = "sco"
    ONE_CARE = "one_care"


NO_COST_SHARE_PLANS = frozenset({LineOfBusiness.SCO, LineOfBusiness.ONE_CARE})
"""Massachusetts D-SNPs whose members cannot be charged: patient responsibility must be $0."""


class SupervisedBilling(enum.StrEnum):
    """How a claim by a clinician who is not independently licensed goes to the payer.

    Set per line of business in ``[supervision]`` of bhclaims.toml; the defaults are
    ``DEFAULT_SUPERVISED_BILLING``.  The rule pack and the 837P builder read the same
    mapping, so what is checked is what is sent.
    """

    UNDER_SUPERVISOR = "supervisor"
    """Optum commercial (Massachusetts, since 2024-10): the licensed, contracted supervisor is
    the rendering provider (2310B) and the supervising provider (2310D), every line carries
    modifier U5; the supervisee's NPI is not sent (the ledger keeps who saw the patient)."""
    SUPERVISEE_RENDERS = "supervisee"
    """MassHealth: the supervisee's Type 1 NPI in 2310B (box 24J), the supervisor in 2310D (box 31)."""
    NOT_PERMITTED = "not_permitted"
    """Medicare: no supervisory billing; bill under a licensed clinician."""


SUPERVISION_MODIFIER = "U5"
"""The HCPCS modifier Optum commercial asks for on services of a supervised clinician."""


class Frequency(enum.StrEnum):
    """CLM05-3 claim frequency type code."""

    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


class Relationship(enum.StrEnum):
    """Patient's relationship to the subscriber (PM export vocabulary)."""

    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    OTHER = "other"


class RenderingLicense(enum.StrEnum):
    """Whether the rendering clinician is independently licensed."""

    INDEPENDENT = "independent"
    SUPERVISED = "supervised"


DEFAULT_SUPERVISED_BILLING: Mapping[LineOfBusiness, SupervisedBilling] = MappingProxyType(
    {
        LineOfBusiness.COMMERCIAL: SupervisedBilling.UNDER_SUPERVISOR,
        LineOfBusiness.MEDICAID: SupervisedBilling.SUPERVISEE_RENDERS,
        LineOfBusiness.MEDICARE_ADVANTAGE: SupervisedBilling.NOT_PERMITTED,
        LineOfBusiness.SCO: SupervisedBilling.NOT_PERMITTED,  # Medicare-like D-SNPs, settable
        LineOfBusiness.ONE_CARE: SupervisedBilling.NOT_PERMITTED,
    }
)
"""``[supervision]`` defaults (issue 15; payer-87726.md, Rendering, billing and supervising providers)."""


@fast_init
@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: a file and a 1-based line (or segment) number."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@fast_init
@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    zip: str  # 5 or 9 digits, no dash


@fast_init
@dataclass(frozen=True, slots=True)
class Subscriber:
    """The insured member (loop 2010BA)."""

    member_id: str
    last: str
    first: str
    dob: date
    sex: str  # M, F, U
    address: Address


@fast_init
@dataclass(frozen=True, slots=True)
class Patient:
    """The patient when not the subscriber (loop 2000C/2010CA)."""

    last: str
    first: str
    dob: date
    sex: str


@fast_init
@dataclass(frozen=True, slots=True)
class Provider:
    """A billing, rendering or supervising provider.

    ``entity_type`` is X12 NM102: "1" a person (``first`` set), "2" an organisation.
    """

    npi: str
    last_or_org: str
    first: str | None = None
    entity_type: str = "1"
    taxonomy: str | None = None
    tax_id: str | None = None
    address: Address | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ServiceFacility:
    """Where the service was rendered when not at the billing provider's address (loop 2310C)."""

    name: str
    address: Address  # ZIP+4: the guide asks for all nine digits in 2310C
    npi: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One billed service (loop 2400)."""

    line_id: str
    service_date: date
    procedure_code: str
    charge: Decimal
    units: Decimal
    place_of_service: str
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = (1,)
    source: Source | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Claim:
    """One professional claim (loop 2300) with everything the 837P needs."""

    claim_id: str
    line_of_business: LineOfBusiness
    payer_id: str
    subscriber: Subscriber
    billing: Provider
    diagnoses: tuple[str, ...]  # ICD-10-CM without the dot; first is principal
    lines: tuple[ServiceLine, ...]
    frequency: Frequency = Frequency.ORIGINAL
    original_claim_number: str | None = None
    payer_name: str = OPTUM_BH_PAYER_NAME
    relationship: Relationship = Relationship.SELF
    patient: Patient | None = None  # None when the patient is the subscriber
    rendering: Provider | None = None
    rendering_license: RenderingLicense = RenderingLicense.INDEPENDENT
    supervising: Provider | None = None
    prior_auth: str | None = None
    source: Source | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())
    pay_to: Address | None = None  # loop 2010AB, written only when it differs from the billing address
    service_facility: ServiceFacility | None = None  # loop 2310C, likewise

    @property
    def is_supervised(self) -> bool:
        """Rendered by a clinician who is not independently licensed (or naming a supervisor)."""
        return self.supervising is not None or self.rendering_license is RenderingLicense.SUPERVISED

    @property
    def total_charge(self) -> Decimal:
        """CLM02: the claim total is by definition the sum of its line charges."""
        return sum((line.charge for line in self.lines), Decimal("0"))

    @property
    def place_of_service(self) -> str:
        """CLM05-1: the first line's place of service."""
        return self.lines[0].place_of_service

    @property
    def first_service_date(self) -> date:
        return min(line.service_date for line in self.lines)

    @property
    def last_service_date(self) -> date:
        return max(line.service_date for line in self.lines)
