"""835 (005010X221A1) reader: remittance text in, ``Remittance`` records out.

One record per ST..SE, whatever the number of interchanges, groups, sets or
payers in the file.  The reader walks the segments once and keeps only the
transaction set it is building, so ``iter_remittances`` can be fed from a
segment stream.  A remittance is yielded only after its SE was checked; a file
whose IEA never comes raises at the end, so ``read_835`` (which collects
everything first) returns nothing from a truncated file.

Leniency, because real 835s are not all guide-clean: unknown segments are
skipped, a missing or impossible BPR16 becomes ``None``, SVC01 is kept as written
when it uses another component separator.  Strictness, because money is posted
from this: amounts must be X12 decimals, CAS triples complete, dates valid, BPR
and TRN present.  Every failure is an ``X12ParseError`` naming the segment
position and never quoting element values (they can be patient data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.acks import Envelope
from domain.claim import Source
from domain.remittance import (
    STORED_LENGTHS,
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
    storable_money,
)
from edi.sniff import walk_envelopes
from edi.x12 import Segment, Separators, X12ParseError, detect_separators, iter_segments, parse_date

DECIMAL_PATTERN = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_MAX_DECIMAL_LENGTH = 20  # R elements are at most 18 digits; sign and point on top
CAS_TRIPLES = 6


def read_835(text: str, source: str = "<835>") -> tuple[Remittance, ...]:
    """Every remittance in ``text``; raises ``X12ParseError`` if any part is unreadable."""
    separators = detect_separators(text)
    return tuple(iter_remittances(iter_segments(text, separators), separators, source=source))


def iter_remittances(
    segments: Iterable[Segment], separators: Separators, *, source: str = "<835>"
) -> Iterator[Remittance]:
    """Yield each remittance as its SE is reached.  A consumer that acts while
    iterating must treat a later ``X12ParseError`` as a failure of the whole file."""
    builder: _RemittanceBuilder | None = None
    for envelope, seg in walk_envelopes(segments, source=source):
        if seg.id == "TA1":
            raise X12ParseError("TA1 in a remittance file", segment_index=seg.index, source=source)
        if seg.id == "ST":
            if seg.get(1) != "835":
                raise X12ParseError("transaction set is not an 835", segment_index=seg.index, source=source)
            builder = _RemittanceBuilder(envelope, seg, separators, source)
        elif builder is None:  # pragma: no cover - walk_envelopes yields ST first
            raise X12ParseError("segment outside a transaction set", segment_index=seg.index, source=source)
        elif seg.id == "SE":
            yield builder.finish(seg)
            builder = None
        else:
            builder.add(seg)


# --- element readers: each names the segment and element, never the value ---------------


def _fail(seg: Segment, message: str, source: str) -> X12ParseError:
    return X12ParseError(f"{seg.id}: {message}", segment_index=seg.index, source=source)


def amount(seg: Segment, position: int, source: str) -> Decimal:
    value = seg.get(position)
    if len(value) > _MAX_DECIMAL_LENGTH or not DECIMAL_PATTERN.fullmatch(value):
        raise _fail(seg, f"{seg.id}{position:02d} is not a decimal amount", source)
    return Decimal(value)


def optional_amount(seg: Segment, position: int, source: str) -> Decimal | None:
    return amount(seg, position, source) if seg.get(position) else None


def money(seg: Segment, position: int, source: str) -> Decimal:
    """An amount the ledger keeps: refused here, at parse time, when no database could store it."""
    value = amount(seg, position, source)
    if not storable_money(value):
        raise _fail(seg, f"{seg.id}{position:02d} is beyond what the ledger stores (whole cents, "
                    "below 10,000,000,000)", source)
    return value


def optional_money(seg: Segment, position: int, source: str) -> Decimal | None:
    return money(seg, position, source) if seg.get(position) else None


def bounded(seg: Segment, position: int, field: str, source: str) -> str:
    """An element the ledger keeps as text (``STORED_LENGTHS[field]`` characters at most)."""
    value = seg.get(position)
    if len(value) > STORED_LENGTHS[field]:
        raise _fail(seg, f"{seg.id}{position:02d} is longer than the {STORED_LENGTHS[field]} characters "
                    "the ledger keeps", source)
    return value


def required(seg: Segment, position: int, source: str) -> str:
    value = seg.get(position)
    if not value:
        raise _fail(seg, f"{seg.id}{position:02d} is required", source)
    return value


def a_date(seg: Segment, position: int, source: str) -> date:
    try:
        return parse_date(seg.get(position))
    except X12ParseError:
        raise _fail(seg, f"{seg.id}{position:02d} is not a valid CCYYMMDD date", source) from None


def lenient_date(value: str) -> date | None:
    try:
        return parse_date(value)
    except X12ParseError:
        return None


def adjustments(seg: Segment, source: str) -> list[Adjustment]:
    """CAS: a group code then up to six (reason, amount, quantity) triples."""
    group = required(seg, 1, source)
    if len(group) > STORED_LENGTHS["adjustment_group"]:
        raise _fail(seg, "CAS01 is not an adjustment group code", source)
    found: list[Adjustment] = []
    for i in range(CAS_TRIPLES):
        reason_at = 2 + 3 * i
        reason = seg.get(reason_at)
        if not reason:
            if seg.get(reason_at + 1) or seg.get(reason_at + 2):
                raise _fail(seg, f"CAS{reason_at + 1:02d} without a reason code", source)
            continue
        bounded(seg, reason_at, "adjustment_reason", source)
        bounded(seg, reason_at + 2, "adjustment_quantity", source)
        found.append(
            Adjustment(
                group, reason, money(seg, reason_at + 1, source), optional_amount(seg, reason_at + 2, source)
            )
        )
    if not found:
        raise _fail(seg, "CAS without any adjustment", source)
    if len(seg.elements) > 1 + 3 * CAS_TRIPLES + 1:
        raise _fail(seg, "CAS has more than six adjustments", source)
    return found


# --- builders: mutable only while one ST..SE is read ----------------------------------------


@dataclass(slots=True)
class _LineBuilder:
    seg: Segment
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    revenue_code: str
    units: Decimal | None
    original_procedure: str
    line_id: str | None = None
    service_date: date | None = None
    service_start: date | None = None
    service_end: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    allowed: Decimal | None = None
    references: list[tuple[str, str]] = field(default_factory=list)

    def build(self, source: str) -> ServicePayment:
        return ServicePayment(
            procedure_qualifier=self.qualifier,
            procedure_code=self.code,
            modifiers=self.modifiers,
            charge=self.charge,
            paid=self.paid,
            units=self.units,
            revenue_code=self.revenue_code,
            original_procedure=self.original_procedure,
            line_id=self.line_id,
            service_date=self.service_date,
            service_start=self.service_start,
            service_end=self.service_end,
            adjustments=tuple(self.adjustments),
            remark_codes=tuple(self.remark_codes),
            allowed=self.allowed,
            references=tuple(self.references),
            source=Source(source, self.seg.index),
        )


@dataclass(slots=True)
class _ClaimBuilder:
    seg: Segment
    values: dict[str, object] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    lines: list[_LineBuilder] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    amounts: list[tuple[str, Decimal]] = field(default_factory=list)

    def build(self, source: str) -> ClaimPayment:
        return ClaimPayment(
            **self.values,  # type: ignore[arg-type]
            adjustments=tuple(self.adjustments),
            lines=tuple(line.build(source) for line in self.lines),
            references=tuple(self.references),
            remark_codes=tuple(self.remark_codes),
            amounts=tuple(self.amounts),
            source=Source(source, self.seg.index),
        )


class _RemittanceBuilder:
    """Reads one 835 transaction set, segment by segment, tracking the current loop."""

    def __init__(self, envelope: Envelope, st: Segment, separators: Separators, source: str):
        self.envelope = envelope
        self.st = st
        self.separators = separators
        self.source = source
        self.loop = "header"  # header, payer, payee, claim, line
        self.header: dict[str, object] = {}
        self.payer_name = self.payer_id = self.payee_name = self.payee_npi = self.payee_tax_id = ""
        self.payer_qualifier = self.payer_identifier = self.payer_reference = ""
        self.payee_qualifier = self.payee_identifier = ""
        self.production_date: date | None = None
        self.claims: list[_ClaimBuilder] = []
        self.plb: list[ProviderAdjustment] = []

    @property
    def claim(self) -> _ClaimBuilder | None:
        return self.claims[-1] if self.loop in ("claim", "line") else None

    @property
    def line(self) -> _LineBuilder | None:
        claim = self.claim
        return claim.lines[-1] if claim is not None and self.loop == "line" else None

    def add(self, seg: Segment) -> None:
        handler = getattr(self, "_" + seg.id.lower(), None)
        if handler is not None:
            handler(seg)

    def _bpr(self, seg: Segment) -> None:
        if "total_paid" in self.header:
            raise _fail(seg, "second BPR in one transaction set", self.source)
        self.header.update(
            handling_code=required(seg, 1, self.source),
            total_paid=money(seg, 2, self.source),
            credit_debit=seg.get(3),
            payment_method=bounded(seg, 4, "payment_method", self.source),
            payment_date=lenient_date(seg.get(16)),
        )

    def _trn(self, seg: Segment) -> None:
        if self.loop == "header" and "trace_number" not in self.header:
            required(seg, 2, self.source)
            self.header.update(trace_number=bounded(seg, 2, "trace_number", self.source),
                               trace_payer_id=bounded(seg, 3, "payer_key", self.source))

    def _n1(self, seg: Segment) -> None:
        entity = seg.get(1)
        if entity == "PR":
            self.loop = "payer"
            self.payer_name = bounded(seg, 2, "payer_name", self.source)
            self.payer_qualifier, self.payer_identifier = seg.get(3), seg.get(4)
            if seg.get(3) == "XV" and not self.payer_id:
                self.payer_id = bounded(seg, 4, "payer_key", self.source)
        elif entity == "PE":
            self.loop = "payee"
            self.payee_name = seg.get(2)
            self.payee_qualifier, self.payee_identifier = seg.get(3), seg.get(4)
            if seg.get(3) == "XX":
                self.payee_npi = seg.get(4)
            elif seg.get(3) == "FI":
                self.payee_tax_id = seg.get(4)

    def _ref(self, seg: Segment) -> None:
        qualifier, value = seg.get(1), seg.get(2)
        if self.loop == "payer" and qualifier == "2U":
            self.payer_id = self.payer_reference = bounded(seg, 2, "payer_key", self.source)
        elif self.loop == "payee" and qualifier == "TJ" and not self.payee_tax_id:
            self.payee_tax_id = value
        elif (line := self.line) is not None:
            if qualifier == "6R":
                line.line_id = bounded(seg, 2, "line_id", self.source)
            else:
                line.references.append((qualifier, value))
        elif (claim := self.claim) is not None:
            claim.references.append((qualifier, value))

    def _dtm(self, seg: Segment) -> None:
        qualifier = seg.get(1)
        if (line := self.line) is not None:
            if qualifier in ("472", "150", "151"):
                when = a_date(seg, 2, self.source)
                if qualifier == "472":
                    line.service_date = when
                elif qualifier == "150":
                    line.service_start = when
                else:
                    line.service_end = when
        elif (claim := self.claim) is not None:
            key = {"232": "statement_start", "233": "statement_end", "050": "received"}.get(qualifier)
            if key:
                claim.values[key] = a_date(seg, 2, self.source)
        elif self.loop == "header" and qualifier == "405":
            self.production_date = a_date(seg, 2, self.source)

    def _lx(self, seg: Segment) -> None:
        self.loop = "header_number"

    def _clp(self, seg: Segment) -> None:
        if "total_paid" not in self.header:
            raise _fail(seg, "claim payment before the BPR", self.source)
        if self.plb:
            raise _fail(seg, "claim payment after the PLB", self.source)
        bounded(seg, 1, "patient_control_number", self.source)
        bounded(seg, 2, "status", self.source)
        claim = _ClaimBuilder(seg)
        claim.values.update(
            patient_control_number=required(seg, 1, self.source),
            status=required(seg, 2, self.source),
            charge=money(seg, 3, self.source),
            paid=money(seg, 4, self.source),
            patient_responsibility=optional_money(seg, 5, self.source),
            filing_indicator=seg.get(6),
            payer_claim_number=bounded(seg, 7, "payer_claim_number", self.source),
            facility_code=seg.get(8),
            frequency=seg.get(9),
        )
        self.claims.append(claim)
        self.loop = "claim"

    def _cas(self, seg: Segment) -> None:
        found = adjustments(seg, self.source)
        if (line := self.line) is not None:
            line.adjustments.extend(found)
        elif (claim := self.claim) is not None:
            claim.adjustments.extend(found)
        else:
            raise _fail(seg, "adjustment outside a claim", self.source)

    def _nm1(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None or self.loop == "line":
            return
        if seg.get(1) == "QC":
            claim.values.update(patient_last=seg.get(3), patient_first=seg.get(4), member_id=seg.get(9))
        elif seg.get(1) == "82":
            claim.values["rendering_provider_id"] = seg.get(9)

    def _moa(self, seg: Segment) -> None:
        if (claim := self.claim) is not None:
            claim.remark_codes.extend(code for code in (seg.get(i) for i in range(3, 8)) if code)

    def _mia(self, seg: Segment) -> None:
        if (claim := self.claim) is not None:
            claim.remark_codes.extend(code for code in (seg.get(i) for i in (5, 20, 21, 22, 23)) if code)

    def _amt(self, seg: Segment) -> None:
        if (line := self.line) is not None:
            if seg.get(1) == "B6":
                line.allowed = amount(seg, 2, self.source)
        elif (claim := self.claim) is not None:
            claim.amounts.append((seg.get(1), amount(seg, 2, self.source)))

    def _svc(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None:
            raise _fail(seg, "service line outside a claim", self.source)
        parts = required(seg, 1, self.source).split(self.separators.component)
        claim.lines.append(
            _LineBuilder(
                seg=seg,
                qualifier=parts[0],
                code=parts[1] if len(parts) > 1 else "",
                modifiers=tuple(m for m in parts[2:6] if m),
                charge=money(seg, 2, self.source),
                paid=money(seg, 3, self.source),
                revenue_code=seg.get(4),
                units=optional_amount(seg, 5, self.source),
                original_procedure=seg.get(6),
            )
        )
        self.loop = "line"

    def _lq(self, seg: Segment) -> None:
        if (line := self.line) is not None and seg.get(2):
            line.remark_codes.append(seg.get(2))

    def _plb(self, seg: Segment) -> None:
        self.loop = "provider"
        provider_id = required(seg, 1, self.source)
        period = a_date(seg, 2, self.source)
        for reason_at in range(3, 15, 2):
            reason = seg.get(reason_at)
            if not reason:
                if seg.get(reason_at + 1):
                    raise _fail(seg, f"PLB{reason_at + 1:02d} without a reason", self.source)
                continue
            code, _, reference = reason.partition(self.separators.component)
            self.plb.append(
                ProviderAdjustment(
                    provider_id, period, code, reference, money(seg, reason_at + 1, self.source)
                )
            )

    def finish(self, se: Segment) -> Remittance:
        if "total_paid" not in self.header:
            raise _fail(se, "835 transaction set without a BPR", self.source)
        if "trace_number" not in self.header:
            raise _fail(se, "835 transaction set without a TRN", self.source)
        return Remittance(
            envelope=self.envelope,
            control_number=self.st.get(2),
            **self.header,  # type: ignore[arg-type]
            payer_name=self.payer_name,
            payer_id=self.payer_id,
            payee_name=self.payee_name,
            payee_npi=self.payee_npi,
            payee_tax_id=self.payee_tax_id,
            production_date=self.production_date,
            claims=tuple(claim.build(self.source) for claim in self.claims),
            provider_adjustments=tuple(self.plb),
            source=Source(self.source, self.st.index),
            payer_qualifier=self.payer_qualifier,
            payer_identifier=self.payer_identifier,
            payer_reference=self.payer_reference,
            payee_qualifier=self.payee_qualifier,
            payee_identifier=self.payee_identifier,
        )
