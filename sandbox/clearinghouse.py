"""A stand-in clearinghouse and Optum BH payer: an 837P in; a 999, a 277CA and an 835 out.

``answer_837`` is a pure function of the 837 text, ``today`` and the control
numbers it may use, so every test and demo gets the same answer for the same file.
It reads only what adjudication needs (ISA/GS/ST envelopes, NM1*85 + REF*EI,
SBR01/SBR09, NM1*IL/QC, CLM01/02/05, REF*F8/G1, NM1*DQ, SV1, DTP*472, REF*6R)
straight from ``edi.x12`` segments; it does not use the full 837 reader.

Acknowledgment
  - ISA unreadable, or the interchange structure broken (no IEA, IEA/ISA control
    or group count mismatch, segment outside an envelope) → a TA1 *R* with the
    matching note code (022, 023, 001, 021, 024) and no 999.
  - A broken group or set envelope (SE count, ST/SE or GS/GE mismatch, duplicate
    ST02) → a 999 rejecting the whole group (AK9 R), nothing adjudicated.
  - Not an 837 (ST01), or an element adjudication needs is missing or not a
    number/date → that set is rejected (IK5 R, IK3/IK4 naming the segment);
    other sets go on (AK9 P).  All sets clean → AK9 A.
  - The 999 uses ``first_control_number`` for ISA13/GS06, the 835 the next one,
    the 277CA the one after (``first_control_number + 2``).

Claim acknowledgment (277CA, 005010X214), per claim of an accepted set
  - Rejected, and left out of the 835 (the claim never reached the payer):
    * A7:562:85 when the billing provider's NPI (NM1*85 NM109) is not 10 digits
      with a valid check digit (Luhn with the 80840 prefix);
    * A3:187 when any line's date of service (DTP*472) is after ``today``.
    Both rejections are listed in STC order when both apply.
  - Otherwise accepted: A2:20, with REF*1K = the CLP07 the 835 carries.
  - One 277CA per interchange: 2200B TRN02 is the BHT03 of the (first) 837 set,
    one 2000C loop per billing provider.  No 277CA when no set was accepted.

Adjudication, per claim of an accepted set (CLP01 = CLM01, CLP03 = CLM02)
  - Allowed = 80% of each line's charge, rounded half-up to the cent; the rest is
    CO-45.
  - Patient responsibility only when SBR09 is commercial or Medicaid (CI, BL, HM,
    MC, 12-15, 17); never for SBR09 16 (MA/SCO/One Care: $0 cost share), MA, MB.
    Which one is a stable hash of CLM01 (sha256 mod 4): 0 none, 1 PR-3 copay $20
    on the first paid line, 2 PR-2 coinsurance 20% of each line's allowed,
    3 PR-1 deductible $50 spread over the lines; each capped at what is allowed.
  - Psychological/neuropsychological testing (96130-96139) without REF*G1 at claim
    or line level → the line is denied CO-197 for its whole charge.
  - SBR09 16/MA/MB with a supervising provider (NM1*DQ) → every line denied
    CO-185 (Medicare does not permit supervisory billing).
  - CLM02 different from the sum of SV102, or frequency 7/8 without REF*F8 → the
    claim is denied at claim level: CO-16 for CLM02, no service lines.
  - CLP02: 22 for a void (frequency 8), 4 when nothing is paid and nothing is
    owed by the patient, else SBR01 P/S/T → 1/2/3.
  - A void (8) is the claim's own adjudication negated (a reversal): CLP07 is the
    REF*F8 it voids.  A replacement (7) is adjudicated as a new claim with a new
    CLP07; the sandbox sends no separate reversal of the original.
  - CLP07 = ``payer_claim_prefix`` + 10 digits of sha256(CLM01 + frequency).
  - CLP06 is SBR09 mapped to the 835 list (CI/BL → 12; others as they are).
  - REF*6R line ids are copied to the 835 lines, DTP*472 to DTM*472 (or 150/151).

Payment: one ST per billing provider NPI, paid by check (BPR04 CHK) dated
``today``; a payee with nothing to pay gets BPR01 H / NON; a payee whose net is
negative (voids only) gets BPR02 0 and a PLB FB (forward balance) for the debt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from domain.acks import ClaimStatus, ElementError, Envelope, SegmentError, StatusCode
from domain.npi import npi_is_valid
from domain.remittance import ZERO, Adjustment, ClaimPayment, ProviderAdjustment, Remittance, ServicePayment
from edi.build277ca import (
    CLAIM_ACK_VERSION,
    ClaimAckParties,
    PatientClaimAck,
    ProviderClaimAcks,
    build_277ca,
)
from edi.build835 import REMIT_VERSION, build_835
from edi.build999 import acknowledge_group, build_999, reply_envelope
from edi.engine import EnvelopeError, TransactionReader, run
from edi.tokenizer import SegmentSource
from edi.x12 import Segment, X12ParseError, parse_date
from edi.x835 import DECIMAL_PATTERN

CENT = Decimal("0.01")
ALLOWED_RATE = Decimal("0.80")
COPAY = Decimal("20.00")
COINSURANCE_RATE = Decimal("0.20")
DEDUCTIBLE = Decimal("50.00")
PATIENT_PAYS_FILING = frozenset({"CI", "BL", "HM", "MC", "12", "13", "14", "15", "17"})
MEDICARE_FILING = frozenset({"16", "MA", "MB"})
CLP06_FOR_SBR09 = {"CI": "12", "BL": "12"}
TESTING_CODES = range(96130, 96140)
PAYER_NAME = "OPTUM BEHAVIORAL HEALTH"
PAYER_ID = "87726"
PAYER_TRACE_ID = "1999987726"  # TRN03: "1" + the sandbox payer's made-up EIN


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    claim_id: str  # CLM01
    outcome: str  # paid, denied, reversed, rejected (999), rejected_277ca
    paid: Decimal | None = None
    payer_claim_number: str | None = None


@dataclass(frozen=True, slots=True)
class SandboxAnswer:
    ack_999: str | None
    remit_835: str | None
    outcomes: tuple[ClaimOutcome, ...]
    ta1: str | None = None
    claim_ack_277: str | None = None


# --- the part of an 837 adjudication needs --------------------------------------------------


@dataclass(slots=True)
class _Line:
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal | None
    position: int  # SV1's position in the set, for a 999 IK3
    service_start: date | None = None
    service_end: date | None = None
    line_id: str | None = None
    has_auth: bool = False


@dataclass(slots=True)
class _Claim:
    claim_id: str
    charge: Decimal
    place_of_service: str
    frequency: str
    payer_responsibility: str  # SBR01
    filing: str  # SBR09
    patient_last: str
    patient_first: str
    member_id: str
    original_number: str | None = None
    has_auth: bool = False
    supervised: bool = False
    lines: list[_Line] = field(default_factory=list)


@dataclass(slots=True)
class _Set:
    st: Segment
    payee_name: str = ""
    payee_npi: str = ""
    payee_tax_id: str = ""
    reference: str = ""  # BHT03
    submitter_name: str = ""  # NM1*41 NM103
    claims: list[_Claim] = field(default_factory=list)
    errors: list[SegmentError] = field(default_factory=list)


class _BadElement(Exception):
    def __init__(self, seg: Segment, position: int, code: str):
        self.seg, self.position, self.code = seg, position, code


def _decimal(seg: Segment, position: int) -> Decimal:
    value = seg.get(position)
    if not value:
        raise _BadElement(seg, position, "1")
    if not DECIMAL_PATTERN.fullmatch(value) or len(value) > 18:
        raise _BadElement(seg, position, "6")
    return Decimal(value)


def _dates(seg: Segment) -> tuple[date, date]:
    value = seg.get(3)
    try:
        if seg.get(2) == "RD8":
            start, _, end = value.partition("-")
            return parse_date(start), parse_date(end)
        one = parse_date(value)
        return one, one
    except X12ParseError:
        raise _BadElement(seg, 3, "8") from None


def _in_set(read: Callable[[_SetReader, _Set, Segment], None]) -> Callable[[_SetReader, list[str], int], None]:
    """A handler for a segment of the open 837 set; a bad element is the set's 999 error, and a set
    with an error reads no further."""

    def handler(self: _SetReader, elements: list[str], number: int) -> None:
        claim_set = self.current
        if claim_set is None or claim_set.errors:
            return
        seg = Segment(tuple(elements), number)
        try:
            read(self, claim_set, seg)
        except _BadElement as bad:
            position = bad.seg.index - claim_set.st.index + 1
            claim_set.errors.append(
                SegmentError(bad.seg.id, position, "", "8", (ElementError(str(bad.position), "", bad.code),))
            )

    return handler


class _SetReader(TransactionReader):
    """The part of each 837P set adjudication needs, taken by loop from the engine; sets by group."""

    TRANSACTIONS = frozenset({"837", "835", "999", "997", "277", "270", "271", "276", "278", "820", "834"})
    HANDLERS = {
        "HEADER/BHT": "bht", "1000A/NM1": "submitter",
        "2000A/HL": "hl", "2000B/HL": "hl", "2000C/HL": "hl",
        "2010AA/NM1": "payee", "2010AA/REF": "payee_tax_id",
        "2000B/SBR": "subscriber", "2010BA/NM1": "member", "2010CA/NM1": "patient",
        "2300/CLM": "clm", "2300/REF": "claim_ref", "2310D/NM1": "supervisor", "2420D/NM1": "supervisor",
        "2400/SV1": "sv1", "2400/DTP": "service_dates", "2400/REF": "line_ref",
    }

    def __init__(self) -> None:
        self.groups: list[tuple[Envelope, list[_Set]]] = []
        self.interchange: Envelope | None = None
        self.current: _Set | None = None
        self.sbr = ("P", "")
        self.names = ("", "", "")  # last, first, member id
        self.claim: _Claim | None = None
        self.line: _Line | None = None

    def interchange_ack(self, envelope: Envelope, ta1: list[str], number: int) -> None:
        self.interchange = self.interchange or envelope

    def begin_set(self, envelope: Envelope, st: list[str], number: int) -> None:
        self.interchange = self.interchange or envelope
        if not self.groups or self.groups[-1][0] != envelope:
            self.groups.append((envelope, []))
        self.current = _Set(Segment(tuple(st), number))
        self.sbr, self.names, self.claim, self.line = ("P", ""), ("", "", ""), None, None
        if _get(st, 1) != "837":
            self.current.errors.append(SegmentError("ST", 1, "", "8", (ElementError("1", "143", "7"),)))

    def end_set(self, se: list[str], number: int) -> None:
        claim_set = self.current
        assert claim_set is not None
        undated = [line for claim in claim_set.claims for line in claim.lines if line.service_start is None]
        if undated and not claim_set.errors:  # DTP*472 is required in loop 2400
            claim_set.errors.append(SegmentError("SV1", undated[0].position, "2400", "3"))
        self.groups[-1][1].append(claim_set)
        self.current = None

    @_in_set
    def bht(self, claim_set: _Set, seg: Segment) -> None:
        claim_set.reference = seg.get(3)

    @_in_set
    def submitter(self, claim_set: _Set, seg: Segment) -> None:
        claim_set.submitter_name = seg.get(3)

    @_in_set
    def hl(self, claim_set: _Set, seg: Segment) -> None:
        self.claim, self.line = None, None

    @_in_set
    def payee(self, claim_set: _Set, seg: Segment) -> None:
        if seg.get(1) == "85":
            claim_set.payee_name, claim_set.payee_npi = seg.get(3), seg.get(9)

    @_in_set
    def payee_tax_id(self, claim_set: _Set, seg: Segment) -> None:
        if seg.get(1) == "EI":
            claim_set.payee_tax_id = seg.get(2)

    @_in_set
    def subscriber(self, claim_set: _Set, seg: Segment) -> None:
        self.sbr = (seg.get(1), seg.get(9))

    @_in_set
    def member(self, claim_set: _Set, seg: Segment) -> None:
        if seg.get(1) == "IL":
            self.names = (seg.get(3), seg.get(4), seg.get(9))

    @_in_set
    def patient(self, claim_set: _Set, seg: Segment) -> None:
        if seg.get(1) == "QC":
            self.names = (seg.get(3), seg.get(4), self.names[2])

    @_in_set
    def clm(self, claim_set: _Set, seg: Segment) -> None:
        if not seg.get(1):
            raise _BadElement(seg, 1, "1")
        facility = [*seg.get(5).split(self.separators.component), "", "", ""]
        last, first, member = self.names
        self.claim = _Claim(
            seg.get(1), _decimal(seg, 2), facility[0], facility[2] or "1", self.sbr[0], self.sbr[1], last, first, member
        )
        self.line = None
        claim_set.claims.append(self.claim)

    @_in_set
    def claim_ref(self, claim_set: _Set, seg: Segment) -> None:
        if self.claim is None:
            return
        if seg.get(1) == "F8":
            self.claim.original_number = seg.get(2)
        elif seg.get(1) == "G1":
            self.claim.has_auth = True

    @_in_set
    def supervisor(self, claim_set: _Set, seg: Segment) -> None:
        if self.claim is not None and seg.get(1) == "DQ":
            self.claim.supervised = True

    @_in_set
    def sv1(self, claim_set: _Set, seg: Segment) -> None:
        if self.claim is None:
            return
        parts = seg.get(1).split(self.separators.component)
        if len(parts) < 2 or not parts[1]:
            raise _BadElement(seg, 1, "1")
        units = _decimal(seg, 4) if seg.get(4) else None
        position = seg.index - claim_set.st.index + 1
        self.line = _Line(parts[0], parts[1], tuple(p for p in parts[2:6] if p), _decimal(seg, 2), units, position)
        self.claim.lines.append(self.line)

    @_in_set
    def service_dates(self, claim_set: _Set, seg: Segment) -> None:
        if self.line is not None and seg.get(1) == "472":
            self.line.service_start, self.line.service_end = _dates(seg)

    @_in_set
    def line_ref(self, claim_set: _Set, seg: Segment) -> None:
        if self.line is None:
            return
        if seg.get(1) == "6R":
            self.line.line_id = seg.get(2)
        elif seg.get(1) == "G1":
            self.line.has_auth = True


def _get(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


# --- adjudication -----------------------------------------------------------------------


def _stable_number(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def payer_claim_number(claim_id: str, frequency: str, prefix: str) -> str:
    return f"{prefix}{_stable_number(claim_id + '/' + frequency) % 10**10:010d}"


def _is_testing(line: _Line) -> bool:
    return line.code.isdigit() and int(line.code) in TESTING_CODES


def _line_payment(line: _Line, adjustments: list[Adjustment], allowed: Decimal | None) -> ServicePayment:
    single_day = line.service_start == line.service_end
    paid = line.charge - sum((a.amount for a in adjustments), ZERO)
    return ServicePayment(
        procedure_qualifier=line.qualifier,
        procedure_code=line.code,
        modifiers=line.modifiers,
        charge=line.charge,
        paid=paid,
        units=line.units,
        line_id=line.line_id,
        service_date=line.service_start if single_day else None,
        service_start=None if single_day else line.service_start,
        service_end=None if single_day else line.service_end,
        adjustments=tuple(adjustments),
        allowed=allowed,
    )


def _patient_share(claim: _Claim, allowed: list[Decimal]) -> list[Adjustment | None]:
    if claim.filing not in PATIENT_PAYS_FILING:
        return [None] * len(allowed)
    kind = _stable_number(claim.claim_id) % 4
    shares: list[Adjustment | None] = []
    copay_left, deductible_left = COPAY, DEDUCTIBLE
    for amount in allowed:
        share, reason = ZERO, ""
        if kind == 1:
            share, copay_left = min(copay_left, amount), copay_left - min(copay_left, amount)
            reason = "3"
        elif kind == 2:
            share, reason = (amount * COINSURANCE_RATE).quantize(CENT, ROUND_HALF_UP), "2"
        elif kind == 3:
            share, deductible_left = (
                min(deductible_left, amount),
                deductible_left - min(deductible_left, amount),
            )
            reason = "1"
        shares.append(Adjustment("PR", reason, share) if share > ZERO else None)
    return shares


def adjudicate(claim: _Claim, *, today: date, prefix: str) -> ClaimPayment:
    """One claim's 2100 loop by the rules of the module docstring (before any void negation)."""
    number = payer_claim_number(claim.claim_id, claim.frequency, prefix)
    base = ClaimPayment(
        patient_control_number=claim.claim_id,
        status="4",
        charge=claim.charge,
        paid=ZERO,
        patient_responsibility=ZERO,
        filing_indicator=CLP06_FOR_SBR09.get(claim.filing, claim.filing or "ZZ"),
        payer_claim_number=number,
        facility_code=claim.place_of_service,
        frequency=claim.frequency,
        received=today,
        patient_last=claim.patient_last,
        patient_first=claim.patient_first,
        member_id=claim.member_id,
    )
    lines_total = sum((line.charge for line in claim.lines), ZERO)
    if lines_total != claim.charge or (claim.frequency in ("7", "8") and not claim.original_number):
        return replace(base, adjustments=(Adjustment("CO", "16", claim.charge),))
    denied_all = claim.supervised and claim.filing in MEDICARE_FILING
    allowed = [
        ZERO if denied_all or (_is_testing(line) and not (claim.has_auth or line.has_auth))
        else (line.charge * ALLOWED_RATE).quantize(CENT, ROUND_HALF_UP)
        for line in claim.lines
    ]  # fmt: skip
    shares = _patient_share(claim, allowed)
    payments = []
    for line, line_allowed, share in zip(claim.lines, allowed, shares, strict=True):
        if line_allowed == ZERO:
            reason = "185" if denied_all else "197"
            payments.append(_line_payment(line, [Adjustment("CO", reason, line.charge)], None))
            continue
        adjustments = (
            [Adjustment("CO", "45", line.charge - line_allowed)] if line.charge != line_allowed else []
        )
        if share is not None:
            adjustments.append(share)
        payments.append(_line_payment(line, adjustments, line_allowed))
    paid = sum((p.paid for p in payments), ZERO)
    patient = sum((s.amount for s in shares if s is not None), ZERO)
    status = {"S": "2", "T": "3"}.get(claim.payer_responsibility, "1")
    if paid == ZERO and patient == ZERO:
        status = "4"
    return replace(base, status=status, paid=paid, patient_responsibility=patient, lines=tuple(payments))


def _negate(payment: ClaimPayment, original_number: str) -> ClaimPayment:
    """A reversal: every amount negated, CLP02 22, CLP07 the claim it reverses."""

    def flip(adjustments: tuple[Adjustment, ...]) -> tuple[Adjustment, ...]:
        return tuple(Adjustment(a.group, a.reason, -a.amount, a.quantity) for a in adjustments)

    lines = tuple(
        replace(
            line,
            charge=-line.charge,
            paid=-line.paid,
            adjustments=flip(line.adjustments),
            allowed=None if line.allowed is None else -line.allowed,
        )
        for line in payment.lines
    )
    return replace(
        payment,
        status="22",
        charge=-payment.charge,
        paid=-payment.paid,
        patient_responsibility=None
        if payment.patient_responsibility is None
        else -payment.patient_responsibility,
        payer_claim_number=original_number,
        adjustments=flip(payment.adjustments),
        lines=lines,
    )


def _outcome(payment: ClaimPayment) -> ClaimOutcome:
    kind = {"22": "reversed", "4": "denied"}.get(payment.status, "paid")
    return ClaimOutcome(payment.patient_control_number, kind, payment.paid, payment.payer_claim_number)


# --- answers ----------------------------------------------------------------------------------


def _ta1(envelope: Envelope | None, note: str, *, control_number: int, today: date) -> str:
    sender_q, sender, receiver_q, receiver, acknowledged, usage = (
        "ZZ",
        "SANDBOX",
        "ZZ",
        "UNKNOWN",
        "000000000",
        "P",
    )
    if envelope is not None:
        sender_q, sender = envelope.receiver_qualifier, envelope.receiver_id
        receiver_q, receiver = envelope.sender_qualifier, envelope.sender_id
        acknowledged, usage = envelope.interchange_control_number, envelope.usage
    isa = "*".join(
        ["ISA", "00", " " * 10, "00", " " * 10, sender_q.ljust(2), sender.ljust(15)[:15], receiver_q.ljust(2),
         receiver.ljust(15)[:15], today.strftime("%y%m%d"), "0000", "^", "00501", f"{control_number:09d}", "0", usage, ":"]
    )  # fmt: skip
    ta1 = f"TA1*{acknowledged.zfill(9)[:9]}*{today.strftime('%y%m%d')}*0000*R*{note}"
    return f"{isa}~\n{ta1}~\nIEA*0*{control_number:09d}~\n"


def answer_837(
    text: str, *, today: date, first_control_number: int, payer_claim_prefix: str = "SB"
) -> SandboxAnswer:
    """The clearinghouse's 999 and the payer's 835 (or a TA1) for one 837P interchange."""
    try:
        SegmentSource(text)
    except X12ParseError:
        return SandboxAnswer(
            None, None, (), _ta1(None, "022", control_number=first_control_number, today=today)
        )
    try:
        return _answer(text, today, first_control_number, payer_claim_prefix)
    except ValueError:  # a value echoed back (ST02, GS06) holds one of our separators
        return SandboxAnswer(
            None, None, (), _ta1(None, "024", control_number=first_control_number, today=today)
        )


def _answer(
    text: str, today: date, first_control_number: int, payer_claim_prefix: str
) -> SandboxAnswer:
    created = datetime.combine(today, time(12, 0))

    reader = _SetReader()
    try:
        run(SegmentSource(text, source="<837>"), reader)
    except EnvelopeError as error:
        interchange, groups = reader.interchange, reader.groups
        if error.level == "interchange" or interchange is None or not groups:
            return SandboxAnswer(
                None,
                None,
                (),
                _ta1(interchange, error.code, control_number=first_control_number, today=today),
            )
        envelope, sets = groups[-1]
        seen = [(s.st.get(1), s.st.get(2), s.st.get(3)) for s in sets]
        if error.level == "set" and reader.current is not None:
            seen.append((reader.current.st.get(1), reader.current.st.get(2), reader.current.st.get(3)))
        ack = acknowledge_group(
            envelope,
            seen,
            control_number=first_control_number,
            rejected={n: () for _, n, _ in seen},
            group_reasons=(error.code,),
        )
        return SandboxAnswer(build_999(ack, created=created), None, ())
    except X12ParseError:
        return SandboxAnswer(
            None, None, (), _ta1(reader.interchange, "024", control_number=first_control_number, today=today)
        )
    interchange, groups = reader.interchange, reader.groups
    if len(groups) != 1 or groups[0][0].functional_id != "HC":
        # One 999 answers one group of claims; the sandbox takes one per file, as our outbox sends.
        return SandboxAnswer(
            None, None, (), _ta1(interchange, "024", control_number=first_control_number, today=today)
        )
    envelope, sets = groups[0]
    rejected = {s.st.get(2): tuple(s.errors) for s in sets if s.errors}
    ack = acknowledge_group(
        envelope,
        [(s.st.get(1), s.st.get(2), s.st.get(3)) for s in sets],
        control_number=first_control_number,
        rejected=rejected,
    )
    outcomes = [ClaimOutcome(c.claim_id, "rejected") for s in sets if s.errors for c in s.claims]
    by_payee: dict[str, tuple[_Set, list[ClaimPayment]]] = {}
    acknowledged: dict[str, tuple[_Set, list[PatientClaimAck]]] = {}
    for claim_set in sets:
        if claim_set.errors:
            continue
        for claim in claim_set.claims:
            status = claim_status(claim_set, claim, today=today, prefix=payer_claim_prefix)
            acknowledged.setdefault(claim_set.payee_npi, (claim_set, []))[1].append(
                PatientClaimAck(claim.patient_last, claim.patient_first, claim.member_id, status)
            )
            if status.rejected:
                outcomes.append(ClaimOutcome(claim.claim_id, "rejected_277ca"))
                continue
            payment = adjudicate(claim, today=today, prefix=payer_claim_prefix)
            if claim.frequency == "8" and claim.original_number and payment.status != "4":
                payment = _negate(payment, claim.original_number)
            by_payee.setdefault(claim_set.payee_npi, (claim_set, []))[1].append(payment)
            outcomes.append(_outcome(payment))
    remit = None
    if by_payee:
        remit_control = first_control_number + 1
        remit_envelope = reply_envelope(
            envelope, control_number=remit_control, functional_id="HP", version=REMIT_VERSION
        )
        remittances = [
            _remittance(
                remit_envelope,
                number,
                claim_set,
                payments,
                today,
                f"{payer_claim_prefix}{remit_control:09d}{number:02d}",
            )
            for number, (claim_set, payments) in enumerate(by_payee.values(), start=1)
        ]
        remit = build_835(remittances, created=created)
    claim_ack = None
    if acknowledged:
        claim_ack = _claim_ack(envelope, acknowledged, first_control_number + 2, created)
    return SandboxAnswer(build_999(ack, created=created), remit, tuple(outcomes), claim_ack_277=claim_ack)


def claim_status(claim_set: _Set, claim: _Claim, *, today: date, prefix: str) -> ClaimStatus:
    """The 277CA verdict on one claim, by the rules of the module docstring."""
    codes = []
    if not npi_is_valid(claim_set.payee_npi):
        codes.append(StatusCode("A7", "562", "85"))
    starts = [line.service_start for line in claim.lines if line.service_start is not None]
    ends = [line.service_end or line.service_start for line in claim.lines if line.service_start is not None]
    if any(end is not None and end > today for end in ends):
        codes.append(StatusCode("A3", "187"))
    number = None
    if not codes:
        codes.append(StatusCode("A2", "20"))
        number = (
            claim.original_number
            if claim.frequency == "8" and claim.original_number
            else payer_claim_number(claim.claim_id, claim.frequency, prefix)
        )
    return ClaimStatus(
        patient_control_number=claim.claim_id,
        payer_claim_number=number,
        clearinghouse_trace=None,
        statuses=tuple(codes),
        status_date=today,
        total_charge=claim.charge,
        service_start=min(starts) if starts else None,
        service_end=max(e for e in ends if e is not None) if starts else None,
    )


def _claim_ack(
    received: Envelope,
    acknowledged: dict[str, tuple[_Set, list[PatientClaimAck]]],
    control_number: int,
    created: datetime,
) -> str:
    sets = [claim_set for claim_set, _ in acknowledged.values()]
    envelope = reply_envelope(
        received, control_number=control_number, functional_id="HN", version=CLAIM_ACK_VERSION
    )
    parties = ClaimAckParties(
        payer_name=PAYER_NAME,
        payer_id=PAYER_ID,
        receiver_name=sets[0].submitter_name or received.group_sender,
        receiver_id=received.group_sender,
    )
    providers = [
        ProviderClaimAcks(claim_set.payee_name, claim_set.payee_npi, tuple(claims))
        for claim_set, claims in acknowledged.values()
    ]
    return build_277ca(
        envelope,
        parties,
        providers,
        control_number="0001",
        reference=f"{control_number:09d}",
        batch_reference=sets[0].reference or received.group_control_number,
        payer_trace=f"SB{control_number:09d}",
        created=created,
    )


def _remittance(
    envelope: Envelope, number: int, claim_set: _Set, payments: list[ClaimPayment], today: date, trace: str
) -> Remittance:
    net = sum((p.paid for p in payments), ZERO)
    plb: tuple[ProviderAdjustment, ...] = ()
    if net < ZERO:
        plb = (ProviderAdjustment(claim_set.payee_npi, date(today.year, 12, 31), "FB", trace, net),)
    total = max(net, ZERO)
    return Remittance(
        envelope=envelope,
        control_number=f"{number:04d}",
        handling_code="I" if total > ZERO else "H",
        total_paid=total,
        credit_debit="C",
        payment_method="CHK" if total > ZERO else "NON",
        payment_date=today,
        trace_number=trace,
        trace_payer_id=PAYER_TRACE_ID,
        payer_name=PAYER_NAME,
        payer_id=PAYER_ID,
        payee_name=claim_set.payee_name,
        payee_npi=claim_set.payee_npi,
        payee_tax_id=claim_set.payee_tax_id,
        production_date=today,
        claims=tuple(payments),
        provider_adjustments=plb,
    )
