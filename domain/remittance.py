"""What the payer paid: one 835 transaction set as immutable records.

The shape follows the 005010X221A1 loops: ``Remittance`` is the header (BPR, TRN,
1000A payer, 1000B payee) plus its claims (2100 ``ClaimPayment``) with their service
lines (2110 ``ServicePayment``) and the provider-level adjustments (PLB).
Money is ``Decimal`` exactly as written in the file; nothing is rounded here.

Patient names and member ids are ``repr=False``: a remittance that ends up in a
log line or a traceback shows amounts and control numbers only.  ``source`` does
not take part in equality, so a remittance read twice (renamed, re-enveloped)
compares equal to itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.acks import Envelope
from domain.claim import Source

ZERO = Decimal("0")

REVERSAL_STATUS = "22"
"""CLP02 22: reversal of a previous payment (amounts negated)."""
DENIED_STATUS = "4"


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triple: group (CO, PR, OI, PI, CR), reason (CARC), amount, quantity.

    A positive amount reduces payment; a negative one increases it.
    """

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ServicePayment:
    """Loop 2110: one service line as adjudicated."""

    procedure_qualifier: str  # SVC01-1: HC (CPT/HCPCS), AD, ER, ...
    procedure_code: str  # SVC01-2
    modifiers: tuple[str, ...]  # SVC01-3..6
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    units: Decimal | None = None  # SVC05; absent means one unit
    revenue_code: str = ""  # SVC04 (institutional)
    original_procedure: str = ""  # SVC06 as written, when the payer changed the code
    line_id: str | None = None  # REF*6R: our line item control number
    service_date: date | None = None  # DTM*472
    service_start: date | None = None  # DTM*150
    service_end: date | None = None  # DTM*151
    adjustments: tuple[Adjustment, ...] = ()
    remark_codes: tuple[str, ...] = ()  # LQ*HE
    allowed: Decimal | None = None  # AMT*B6
    references: tuple[tuple[str, str], ...] = ()  # other REF (qualifier, value)
    source: Source | None = field(default=None, compare=False)

    @property
    def adjusted(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """Loop 2100: one claim as adjudicated, keyed by our CLM01 (CLP01)."""

    patient_control_number: str  # CLP01
    status: str  # CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 22 reversal ...
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal | None  # CLP05
    filing_indicator: str  # CLP06: 12 PPO, 16 MA HMO, CI commercial, MC Medicaid ...
    payer_claim_number: str  # CLP07: what a corrected claim puts in REF*F8
    facility_code: str = ""  # CLP08
    frequency: str = ""  # CLP09
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    lines: tuple[ServicePayment, ...] = ()
    statement_start: date | None = None  # DTM*232
    statement_end: date | None = None  # DTM*233
    received: date | None = None  # DTM*050
    references: tuple[tuple[str, str], ...] = ()  # REF (F8, 1L, EA, ...)
    remark_codes: tuple[str, ...] = ()  # MOA / MIA remark codes
    amounts: tuple[tuple[str, Decimal], ...] = ()  # AMT (AU, D8, F5, ...)
    rendering_provider_id: str = ""  # NM1*82 NM109
    patient_last: str = field(default="", repr=False)  # NM1*QC
    patient_first: str = field(default="", repr=False)
    member_id: str = field(default="", repr=False)
    source: Source | None = field(default=None, compare=False)

    @property
    def is_reversal(self) -> bool:
        return self.status == REVERSAL_STATUS

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        """Claim-level then line-level CAS, as the claim balance counts them."""
        return self.adjustments + tuple(a for line in self.lines for a in line.adjustments)

    def reference(self, qualifier: str) -> str | None:
        return next((value for q, value in self.references if q == qualifier), None)


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB adjustment pair: money moved at the provider level, not for a claim.

    Positive reduces the payment (a recoupment, ``WO`` overpayment recovery, ``L6``
    interest is negative); ``FB`` forward balance carries a debt to a later check.
    """

    provider_id: str  # PLB01
    fiscal_period_end: date  # PLB02
    reason: str  # PLB03-1: WO, FB, L6, 72, J1, CV ...
    reference: str  # PLB03-2, often the payer claim number of the recovered claim
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Remittance:
    """One 835 transaction set (ST..SE): one payment (or non-payment) to one payee."""

    envelope: Envelope
    control_number: str  # ST02
    handling_code: str  # BPR01: I remittance with payment, H notification only, C payment + advice ...
    total_paid: Decimal  # BPR02
    credit_debit: str  # BPR03: C credit, D debit
    payment_method: str  # BPR04: ACH, CHK, BOP, FWT, NON
    payment_date: date | None  # BPR16 (missing or invalid in some real files)
    trace_number: str  # TRN02: check or EFT trace number
    trace_payer_id: str  # TRN03: "1" + payer EIN
    payer_name: str  # N1*PR
    payer_id: str  # REF*2U, else the N1*PR N104
    payee_name: str  # N1*PE
    payee_npi: str  # N1*PE N104 when N103 is XX
    payee_tax_id: str = ""  # N1*PE N104 when N103 is FI, else REF*TJ
    production_date: date | None = None  # DTM*405
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    source: Source | None = field(default=None, compare=False)

    @property
    def interchange_control_number(self) -> str:
        return self.envelope.interchange_control_number

    @property
    def identity(self) -> tuple[str, str]:
        """(TRN03, TRN02): a payment is unique per payer, not globally (reliability test 21)."""
        return (self.trace_payer_id, self.trace_number)

    @property
    def claims_paid(self) -> Decimal:
        return sum((c.paid for c in self.claims), ZERO)

    @property
    def provider_adjusted(self) -> Decimal:
        return sum((p.amount for p in self.provider_adjustments), ZERO)
