"""277CA (005010X214) reader on the X12 engine: which claims the payer took into adjudication.

The map's loops say where each segment is: 2000A payer (2100A NM1*PR), 2000B information
receiver (2200B TRN02 is the BHT03 of the 837 being acknowledged, STC the batch status),
2000C billing provider, 2000D patient (2100D NM1 member id).  Under a patient, each TRN
opens one claim (2200D): TRN02 is *our* patient control number (CLM01), REF*1K the payer's
claim control number, STC the status (A1/A2 accepted; A3/A6/A7/A8 rejected).  SVC opens a
line (2220D) whose REF*FJ is our line id.  The X212 277 (status response) is read with the
same map.  GE/IEA control mismatches are tolerated, as for the 999.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import ClassVar

from domain.acks import STORED_LENGTHS, ClaimStatus, ClaimStatusReport, Envelope, LineStatus, StatusCode
from domain.claim import Source
from edi.engine import TransactionReader, run
from edi.tokenizer import SegmentSource, X12Input, segment_source
from edi.x12 import X12ParseError, parse_date
from edi.x835 import DECIMAL_PATTERN, MAX_DECIMAL_LENGTH


def read_277ca(text: X12Input | SegmentSource, source: str = "<277CA>") -> tuple[ClaimStatusReport, ...]:
    """Every 277 transaction set in ``text``; raises ``X12ParseError`` if unreadable."""
    reader = ClaimAckReader()
    run(segment_source(text, source), reader)
    return tuple(reader.reports)


def _get(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


@dataclass(slots=True)
class _Line:
    procedure_code: str
    charge: Decimal | None
    line_id: str | None = None
    statuses: list[StatusCode] = field(default_factory=list)
    service_date: date | None = None


@dataclass(slots=True)
class _Claim:
    number: int
    patient_control_number: str
    member_id: str
    payer_claim_number: str | None = None
    clearinghouse_trace: str | None = None
    statuses: list[StatusCode] = field(default_factory=list)
    status_date: date | None = None
    total_charge: Decimal | None = None
    service_start: date | None = None
    service_end: date | None = None
    lines: list[_Line] = field(default_factory=list)


class ClaimAckReader(TransactionReader):
    TRANSACTIONS: ClassVar[frozenset[str]] = frozenset({"277"})
    check_trailer_numbers = False
    HANDLERS: ClassVar[dict[str, str]] = {
        "HEADER/BHT": "bht", "2100A/NM1": "payer", "2200B/TRN": "batch", "2200B/STC": "batch_status",
        "2000D/HL": "patient", "2100D/NM1": "member", "2200D/TRN": "open_claim", "2200D/STC": "claim_status",
        "2200D/REF": "claim_reference", "2200D/DTP": "claim_dates",
        "2220D/SVC": "line", "2220D/STC": "line_status", "2220D/REF": "line_reference", "2220D/DTP": "line_date",
    }

    def __init__(self) -> None:
        self.reports: list[ClaimStatusReport] = []

    def fail(self, number: int, message: str) -> X12ParseError:
        return X12ParseError(message, segment_index=number, source=self.source)

    def other_set(self, st: list[str], number: int) -> None:
        raise self.fail(number, "transaction set is not a 277")

    def begin_set(self, envelope: Envelope, st: list[str], number: int) -> None:
        self.envelope, self.control_number, self.st_number = envelope, _get(st, 2), number
        self.reference, self.payer_name, self.payer_id = "", "", ""
        self.created: date | None = None
        self.batch_reference: str | None = None
        self.batch_statuses: list[StatusCode] = []
        self.member_id = ""
        self.claims: list[_Claim] = []
        self.claim: _Claim | None = None

    # -- values -------------------------------------------------------------------------------

    def day(self, value: str, e: list[str], position: int, number: int) -> date:
        try:
            return parse_date(value)
        except X12ParseError:
            raise self.fail(number, f"{e[0]}: {e[0]}{position:02d} is not a valid CCYYMMDD date") from None

    def dates(self, e: list[str], number: int) -> tuple[date, date]:
        """DTP with D8 (one date) or RD8 (CCYYMMDD-CCYYMMDD)."""
        value = _get(e, 3)
        if _get(e, 2) == "RD8":
            start, _, end = value.partition("-")
            return self.day(start, e, 3, number), self.day(end, e, 3, number)
        when = self.day(value, e, 3, number)
        return when, when

    def amount(self, e: list[str], position: int, number: int) -> Decimal | None:
        value = _get(e, position)
        if not value:
            return None
        if len(value) > MAX_DECIMAL_LENGTH or not DECIMAL_PATTERN.fullmatch(value):
            raise self.fail(number, f"{e[0]}: {e[0]}{position:02d} is not a decimal amount")
        return Decimal(value)

    def statuses(self, e: list[str], number: int) -> list[StatusCode]:
        codes = []
        for position in (1, 10, 11):
            value = _get(e, position)
            if value:
                parts = value.split(self.separators.component) + ["", ""]
                if len(parts[0]) > STORED_LENGTHS["code"]:
                    raise self.fail(number, f"STC{position:02d}-1 is not a claim status category code")
                codes.append(StatusCode(parts[0], parts[1], parts[2]))
        if not codes:
            raise self.fail(number, "STC01 is required")
        return codes

    # -- segments ----------------------------------------------------------------------------

    def bht(self, e: list[str], number: int) -> None:
        self.reference = _get(e, 3)
        self.created = self.day(_get(e, 4), e, 4, number) if _get(e, 4) else None

    def payer(self, e: list[str], number: int) -> None:
        if _get(e, 1) == "PR":
            self.payer_name, self.payer_id = _get(e, 3), _get(e, 9)

    def batch(self, e: list[str], number: int) -> None:
        self.batch_reference = _get(e, 2)

    def batch_status(self, e: list[str], number: int) -> None:
        self.batch_statuses.extend(self.statuses(e, number))

    def patient(self, e: list[str], number: int) -> None:
        self.claim, self.member_id = None, ""

    def member(self, e: list[str], number: int) -> None:
        self.member_id = _get(e, 9)

    def open_claim(self, e: list[str], number: int) -> None:
        if not _get(e, 2):
            raise self.fail(number, "TRN: TRN02 is required")
        self.claim = _Claim(number, _get(e, 2), self.member_id)
        self.claims.append(self.claim)

    def claim_status(self, e: list[str], number: int) -> None:
        claim = self.claim
        if claim is None:
            return
        codes = self.statuses(e, number)
        if not claim.statuses:
            claim.status_date = self.day(_get(e, 2), e, 2, number) if _get(e, 2) else None
            claim.total_charge = self.amount(e, 4, number)
        claim.statuses.extend(codes)

    def claim_reference(self, e: list[str], number: int) -> None:
        if self.claim is None:
            return
        if _get(e, 1) == "1K":
            if len(_get(e, 2)) > STORED_LENGTHS["payer_claim_number"]:
                raise self.fail(number, f"REF02 (1K) is longer than the {STORED_LENGTHS['payer_claim_number']} "
                                "characters the ledger keeps")
            self.claim.payer_claim_number = _get(e, 2)
        elif _get(e, 1) == "D9":
            self.claim.clearinghouse_trace = _get(e, 2)

    def claim_dates(self, e: list[str], number: int) -> None:
        if self.claim is not None and _get(e, 1) == "472":
            self.claim.service_start, self.claim.service_end = self.dates(e, number)

    def line(self, e: list[str], number: int) -> None:
        if self.claim is None:
            return
        if not _get(e, 1):
            raise self.fail(number, "SVC: SVC01 is required")
        parts = _get(e, 1).split(self.separators.component)
        code = parts[1] if len(parts) > 1 else parts[0]
        self.claim.lines.append(_Line(code, self.amount(e, 2, number)))

    def line_status(self, e: list[str], number: int) -> None:
        if self.claim is not None and self.claim.lines:
            self.claim.lines[-1].statuses.extend(self.statuses(e, number))

    def line_reference(self, e: list[str], number: int) -> None:
        if self.claim is not None and self.claim.lines and _get(e, 1) == "FJ":
            self.claim.lines[-1].line_id = _get(e, 2)

    def line_date(self, e: list[str], number: int) -> None:
        if self.claim is not None and self.claim.lines and _get(e, 1) == "472":
            self.claim.lines[-1].service_date = self.dates(e, number)[0]

    def end_set(self, se: list[str], number: int) -> None:
        self.reports.append(ClaimStatusReport(
            envelope=self.envelope, control_number=self.control_number, reference=self.reference,
            created=self.created, payer_name=self.payer_name, payer_id=self.payer_id,
            batch_reference=self.batch_reference,
            batch_statuses=tuple(self.batch_statuses),
            claims=tuple(ClaimStatus(
                patient_control_number=c.patient_control_number, payer_claim_number=c.payer_claim_number,
                clearinghouse_trace=c.clearinghouse_trace, statuses=tuple(c.statuses), status_date=c.status_date,
                total_charge=c.total_charge, service_start=c.service_start, service_end=c.service_end,
                member_id=c.member_id,
                lines=tuple(LineStatus(line.line_id, line.procedure_code, line.charge, tuple(line.statuses),
                                       line.service_date) for line in c.lines),
                source=Source(self.source, c.number),
            ) for c in self.claims),
            source=Source(self.source, self.st_number),
        ))
