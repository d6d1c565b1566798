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

from domain.acks import ClaimStatusReport, Envelope
from domain.claim import OPTUM_BH_PAYER_ID, OPTUM_BH_PAYER_NAME, Source

ZERO = Decimal("0")
CENT = Decimal("0.01")

STORED_LENGTHS: dict[str, int] = {
    "patient_control_number": 38,  # CLP01
    "status": 2,  # CLP02
    "payer_claim_number": 50,  # CLP07
    "trace_number": 50,  # TRN02
    "payer_key": 15,  # TRN03, REF*2U, N1*PR N104 (XV): the payer a trace number is unique for
    "payer_name": 60,  # N1*PR N102
    "payment_method": 3,  # BPR04
    "line_id": 50,  # REF*6R
    "adjustment_group": 2,  # CAS01
    "adjustment_reason": 5,  # CAS02, 05, ...
    "adjustment_quantity": 15,  # CAS04, 07, ..., kept as written
}
"""The longest text of each field the ledger keeps (``ledger/models.py``; a test holds the two
equal): the readers refuse longer values, so that SQLite (which stores any length) never keeps
what PostgreSQL would refuse."""
MONEY_LIMIT = Decimal("10000000000")
"""The ledger keeps money as NUMERIC(12,2): whole cents, below ten billion either way."""


def storable_money(value: Decimal) -> bool:
    return -MONEY_LIMIT < value < MONEY_LIMIT and value == value.quantize(CENT)

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
    payer_id: str  # REF*2U, else the N1*PR N104 when N103 is XV
    payee_name: str  # N1*PE
    payee_npi: str  # N1*PE N104 when N103 is XX
    payee_tax_id: str = ""  # N1*PE N104 when N103 is FI, else REF*TJ
    production_date: date | None = None  # DTM*405
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    source: Source | None = field(default=None, compare=False)
    # who sent the money and to whom, as written (``OurPayer`` and the poster judge them); not part
    # of equality: the fields above say the same in the form a builder takes
    payer_qualifier: str = field(default="", compare=False)  # N1*PR N103: XV, PI, ...
    payer_identifier: str = field(default="", compare=False)  # N1*PR N104
    payer_reference: str = field(default="", compare=False)  # 1000A REF*2U
    payee_qualifier: str = field(default="", compare=False)  # N1*PE N103: XX (NPI), FI (TIN), XV
    payee_identifier: str = field(default="", compare=False)  # N1*PE N104

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


@dataclass(frozen=True, slots=True)
class OurPayer:
    """The payer whose remittances may touch our claims (``[payer]`` of bhclaims.toml).

    A remittance is from it when any of its own identifiers names it: the interchange
    sender (ISA06), the group sender (GS02), the 1000A N1*PR N104 or REF*2U (``ids``), or
    the TRN03 originating company id (``trace_ids``).  Anything else is another payer's
    (a MassHealth secondary ERA, another practice's clearinghouse mail) and is never posted.
    """

    name: str = OPTUM_BH_PAYER_NAME
    ids: frozenset[str] = frozenset({OPTUM_BH_PAYER_ID})
    trace_ids: frozenset[str] = frozenset()

    def pays(self, remittance: Remittance) -> bool:
        envelope = remittance.envelope
        named = (envelope.sender_id, envelope.group_sender, remittance.payer_identifier,
                 remittance.payer_reference)
        return any(value in self.ids for value in named if value) or (
            bool(remittance.trace_payer_id) and remittance.trace_payer_id in self.trace_ids)

    def refusal(self, remittance: Remittance) -> str | None:
        """Why ``remittance`` must not be posted as this payer's, in words; None when it is."""
        if self.pays(remittance):
            return None
        who = remittance.payer_name or remittance.payer_reference or remittance.payer_identifier or \
            remittance.trace_payer_id or remittance.envelope.sender_id or "an unnamed payer"
        return f"from another payer: {who} (not {self.name})"

    def claim_status_refusal(self, report: ClaimStatusReport) -> str | None:
        """Why a 277CA must not move our claims, in words; None when it may.

        A 277CA whose information source is a payer (2100A NM1*PR) must be ours — by that NM109 or
        by the interchange or group sender — or its REF*1K would become the payer claim number our
        corrections quote in REF*F8.  One spoken by the clearinghouse (NM1*AY) is its own receipt.
        """
        envelope = report.envelope
        if not report.payer_id or any(value in self.ids for value in
                                      (report.payer_id, envelope.sender_id, envelope.group_sender)):
            return None
        return f"a 277CA from another payer: {report.payer_name or report.payer_id} (not {self.name})"


def payee_label(remittance: Remittance) -> str:
    """The payee as the poster compares it (``paid_to``): "NPI 1234567893", "TIN 041234567"."""
    if remittance.payee_npi:
        return f"NPI {remittance.payee_npi}"
    if remittance.payee_tax_id:
        return f"TIN {remittance.payee_tax_id}"
    return "no NPI or TIN"


def paid_to(remittance: Remittance, npi: str | None, tax_id: str | None) -> bool:
    """Whether the payee is this billing provider: by NPI when N1*PE names one (XX), else by TIN
    (N1*PE FI, or REF*TJ); a remittance that names neither is paid to nobody we know."""
    if remittance.payee_npi:
        return remittance.payee_npi == npi
    return bool(remittance.payee_tax_id) and remittance.payee_tax_id == tax_id
