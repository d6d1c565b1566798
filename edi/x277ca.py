"""277CA (005010X214) reader: which claims the payer took into adjudication.

The 277CA is a hierarchy of HL levels: 20 payer (2000A), 21 information receiver
(2000B: TRN02 is the BHT03 of the 837 being acknowledged, STC the batch status),
19 billing provider (2000C), PT patient (2000D).  Under a patient, each TRN*2
opens one claim (2200D): TRN02 is *our* patient control number (CLM01), REF*1K
the payer's claim control number, STC the status (A1/A2 accepted; A3/A6/A7/A8
rejected).  SVC opens a line (2220D) whose REF*FJ is our line id.

The X212 277 (status response) uses the same shape with HL 22 for the subscriber,
so its claims read the same way.  GE/IEA control mismatches are tolerated, as
for the 999.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.acks import STORED_LENGTHS, ClaimStatus, ClaimStatusReport, Envelope, LineStatus, StatusCode
from domain.claim import Source
from edi.sniff import walk_envelopes
from edi.x12 import Segment, Separators, X12ParseError, detect_separators, iter_segments
from edi.x835 import a_date, optional_amount, required

PATIENT_LEVELS = frozenset({"PT", "22", "23"})


def read_277ca(text: str, source: str = "<277CA>") -> tuple[ClaimStatusReport, ...]:
    """Every 277 transaction set in ``text``; raises ``X12ParseError`` if unreadable."""
    separators = detect_separators(text)
    reports: list[ClaimStatusReport] = []
    builder: _ReportBuilder | None = None
    for envelope, seg in walk_envelopes(
        iter_segments(text, separators), source=source, check_trailer_numbers=False
    ):
        if seg.id == "TA1":
            continue
        if seg.id == "ST":
            if seg.get(1) != "277":
                raise X12ParseError("transaction set is not a 277", segment_index=seg.index, source=source)
            builder = _ReportBuilder(envelope, seg, separators, source)
        elif builder is not None and seg.id == "SE":
            reports.append(builder.finish())
            builder = None
        elif builder is not None:
            builder.add(seg)
    return tuple(reports)


def _date_range(seg: Segment, source: str) -> tuple[date, date]:
    """DTP with D8 (one date) or RD8 (CCYYMMDD-CCYYMMDD)."""
    value = seg.get(3)
    if seg.get(2) == "RD8":
        start, _, end = value.partition("-")
        probe = Segment(("DTP", start, end), seg.index)
        return a_date(probe, 1, source), a_date(probe, 2, source)
    when = a_date(seg, 3, source)
    return when, when


@dataclass(slots=True)
class _LineBuilder:
    procedure_code: str
    charge: Decimal | None
    line_id: str | None = None
    statuses: list[StatusCode] = field(default_factory=list)
    service_date: date | None = None


@dataclass(slots=True)
class _ClaimBuilder:
    trn: Segment
    member_id: str
    payer_claim_number: str | None = None
    clearinghouse_trace: str | None = None
    statuses: list[StatusCode] = field(default_factory=list)
    status_date: date | None = None
    total_charge: Decimal | None = None
    service_start: date | None = None
    service_end: date | None = None
    lines: list[_LineBuilder] = field(default_factory=list)


class _ReportBuilder:
    def __init__(self, envelope: Envelope, st: Segment, separators: Separators, source: str):
        self.envelope, self.st, self.separators, self.source = envelope, st, separators, source
        self.level = ""
        self.reference = ""
        self.created: date | None = None
        self.payer_name = ""
        self.batch_reference: str | None = None
        self.batch_statuses: list[StatusCode] = []
        self.member_id = ""
        self.claims: list[_ClaimBuilder] = []
        self.claim: _ClaimBuilder | None = None

    def status(self, seg: Segment, position: int) -> StatusCode | None:
        value = seg.get(position)
        if not value:
            return None
        parts = value.split(self.separators.component) + ["", ""]
        if len(parts[0]) > STORED_LENGTHS["code"]:
            raise X12ParseError(f"STC{position:02d}-1 is not a claim status category code",
                                segment_index=seg.index, source=self.source)
        return StatusCode(parts[0], parts[1], parts[2])

    def add(self, seg: Segment) -> None:
        sid = seg.id
        if sid == "BHT":
            self.reference = seg.get(3)
            self.created = a_date(seg, 4, self.source) if seg.get(4) else None
        elif sid == "HL":
            self.level = required(seg, 3, self.source)
            self.claim = None
            self.member_id = ""
        elif sid == "NM1":
            if self.level == "20" and seg.get(1) == "PR":
                self.payer_name = seg.get(3)
            elif self.level in PATIENT_LEVELS:
                self.member_id = seg.get(9)
        elif sid == "TRN":
            if self.level == "21":
                self.batch_reference = seg.get(2)
            elif self.level in PATIENT_LEVELS:
                self.claim = _ClaimBuilder(seg, self.member_id)
                required(seg, 2, self.source)
                self.claims.append(self.claim)
        elif sid == "STC":
            self._stc(seg)
        elif sid == "REF" and self.claim is not None:
            qualifier, value = seg.get(1), seg.get(2)
            if self.claim.lines:
                if qualifier == "FJ":
                    self.claim.lines[-1].line_id = value
            elif qualifier == "1K":
                if len(value) > STORED_LENGTHS["payer_claim_number"]:
                    raise X12ParseError(f"REF02 (1K) is longer than the {STORED_LENGTHS['payer_claim_number']} "
                                        "characters the ledger keeps", segment_index=seg.index, source=self.source)
                self.claim.payer_claim_number = value
            elif qualifier == "D9":
                self.claim.clearinghouse_trace = value
        elif sid == "DTP" and self.claim is not None and seg.get(1) == "472":
            start, end = _date_range(seg, self.source)
            if self.claim.lines:
                self.claim.lines[-1].service_date = start
            else:
                self.claim.service_start, self.claim.service_end = start, end
        elif sid == "SVC" and self.claim is not None:
            parts = required(seg, 1, self.source).split(self.separators.component)
            code = parts[1] if len(parts) > 1 else parts[0]
            self.claim.lines.append(_LineBuilder(code, optional_amount(seg, 2, self.source)))

    def _stc(self, seg: Segment) -> None:
        codes = [
            c for c in (self.status(seg, 1), self.status(seg, 10), self.status(seg, 11)) if c is not None
        ]
        if not codes:
            raise X12ParseError("STC01 is required", segment_index=seg.index, source=self.source)
        claim = self.claim
        if self.level == "21":
            self.batch_statuses.extend(codes)
        elif claim is not None and claim.lines:
            claim.lines[-1].statuses.extend(codes)
        elif claim is not None:
            if not claim.statuses:
                claim.status_date = a_date(seg, 2, self.source) if seg.get(2) else None
                claim.total_charge = optional_amount(seg, 4, self.source)
            claim.statuses.extend(codes)

    def finish(self) -> ClaimStatusReport:
        return ClaimStatusReport(
            envelope=self.envelope,
            control_number=self.st.get(2),
            reference=self.reference,
            created=self.created,
            payer_name=self.payer_name,
            batch_reference=self.batch_reference,
            batch_statuses=tuple(self.batch_statuses),
            claims=tuple(
                ClaimStatus(
                    patient_control_number=c.trn.get(2),
                    payer_claim_number=c.payer_claim_number,
                    clearinghouse_trace=c.clearinghouse_trace,
                    statuses=tuple(c.statuses),
                    status_date=c.status_date,
                    total_charge=c.total_charge,
                    service_start=c.service_start,
                    service_end=c.service_end,
                    member_id=c.member_id,
                    lines=tuple(
                        LineStatus(
                            line.line_id,
                            line.procedure_code,
                            line.charge,
                            tuple(line.statuses),
                            line.service_date,
                        )
                        for line in c.lines
                    ),
                    source=Source(self.source, c.trn.index),
                )
                for c in self.claims
            ),
            source=Source(self.source, self.st.index),
        )
