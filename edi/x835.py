"""835 (005010X221A1) reader on the X12 engine: remittance text in, remittance parts out.

The engine places every segment in its loop (``edi.engine``); this reader only says
what each segment of each loop means.  Per ST..SE it yields, streamed:

- ``RemittanceHeader`` once, before the first claim (BPR, TRN, payer, payee read);
- a ``ClaimPaymentDraft`` (``drafts=True``) or ``ClaimPayment`` for every CLP, once the
  next CLP, PLB or SE shows it is complete;
- ``RemittanceEnd`` at the SE: the remittance without its claims, with its PLBs, and a
  fingerprint of the segments between ST and SE that ignores separators and envelope.

A consumer that writes while iterating must treat any later ``X12ParseError`` (a file cut
before its IEA raises at the end) as a failure of the whole file.  ``read_835`` collects
whole ``Remittance`` records for small files.

Leniency, because real 835s are not all guide-clean: segments the map does not place are
skipped, a missing or impossible BPR16 becomes ``None``.  Strictness, because money is
posted from this: amounts must be X12 decimals, CAS triples complete, dates valid, BPR and
TRN present.  Every failure is an ``X12ParseError`` naming the segment number and never
quoting element values (they can be patient data).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, ClassVar

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
from edi.engine import TransactionReader, walk
from edi.tokenizer import SegmentSource
from edi.x12 import X12ParseError, parse_date

DECIMAL_PATTERN = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
MAX_DECIMAL_LENGTH = 20  # R elements are at most 18 digits; sign and point on top
CAS_TRIPLES = 6
_CACHE_LIMIT = 50_000
_FINGERPRINT_CONTROLS = "\x1b\x1c\x1e\x1f"
_CLP01_LENGTH, _CLP02_LENGTH, _CLP07_LENGTH, _LINE_ID_LENGTH = (
    STORED_LENGTHS[name] for name in ("patient_control_number", "status", "payer_claim_number", "line_id"))


@dataclass(frozen=True, slots=True)
class RemittanceHeader:
    remittance: Remittance  # claims=() and provider_adjustments=(): the header only


@dataclass(frozen=True, slots=True)
class RemittanceEnd:
    remittance: Remittance  # claims=(), the PLBs
    fingerprint: str  # sha256 of the segments between ST and SE, separator-independent


class ServicePaymentDraft:
    """Loop 2110 as read: the attributes of ``ServicePayment`` (lists where the record has tuples)."""

    __slots__ = ("index", "procedure_qualifier", "procedure_code", "modifiers", "charge", "paid", "units",
                 "revenue_code", "original_procedure", "line_id", "service_date", "service_start", "service_end",
                 "adjustments", "remark_codes", "allowed", "references")

    def __init__(self, index: int, procedure: tuple[str, str, tuple[str, ...]], charge: Decimal, paid: Decimal,
                 units: Decimal | None, revenue_code: str, original_procedure: str):
        self.index = index
        self.procedure_qualifier, self.procedure_code, self.modifiers = procedure
        self.charge, self.paid, self.units = charge, paid, units
        self.revenue_code, self.original_procedure = revenue_code, original_procedure
        self.line_id: str | None = None
        self.service_date: date | None = None
        self.service_start: date | None = None
        self.service_end: date | None = None
        self.adjustments: list[Adjustment] = []
        self.remark_codes: list[str] = []
        self.allowed: Decimal | None = None
        self.references: list[tuple[str, str]] = []

    def record(self, source: str) -> ServicePayment:
        return ServicePayment(
            procedure_qualifier=self.procedure_qualifier, procedure_code=self.procedure_code,
            modifiers=self.modifiers, charge=self.charge, paid=self.paid, units=self.units,
            revenue_code=self.revenue_code, original_procedure=self.original_procedure, line_id=self.line_id,
            service_date=self.service_date, service_start=self.service_start, service_end=self.service_end,
            adjustments=tuple(self.adjustments), remark_codes=tuple(self.remark_codes), allowed=self.allowed,
            references=tuple(self.references), source=Source(source, self.index),
        )


class ClaimPaymentDraft:
    """Loop 2100 as read: CLP01..CLP09, the CAS, lines, REF, remark codes and amounts under the names
    ``ClaimPayment`` gives them, the rest in ``values``; ``record()`` is the ``ClaimPayment``.

    The poster reads a few attributes of every claim and needs the record of only a few.
    """

    __slots__ = ("index", "source", "patient_control_number", "status", "charge", "paid",
                 "patient_responsibility", "filing_indicator", "payer_claim_number", "facility_code", "frequency",
                 "values", "adjustments", "lines", "references", "remark_codes", "amounts")

    def __init__(self, index: int, source: str, clp: list[str], charge: Decimal, paid: Decimal,
                 patient_responsibility: Decimal | None):
        self.index = index
        self.source = source
        self.patient_control_number = clp[1]
        self.status = clp[2]
        self.charge = charge
        self.paid = paid
        self.patient_responsibility = patient_responsibility
        self.filing_indicator = clp[6]
        self.payer_claim_number = clp[7]
        self.facility_code = clp[8]
        self.frequency = clp[9]
        self.values: dict[str, object] = {}  # dates, names, rendering provider
        self.adjustments: list[Adjustment] = []
        self.lines: list[ServicePaymentDraft] = []
        self.references: list[tuple[str, str]] = []
        self.remark_codes: list[str] = []
        self.amounts: list[tuple[str, Decimal]] = []

    def record(self) -> ClaimPayment:
        source = self.source
        return ClaimPayment(
            self.patient_control_number, self.status, self.charge, self.paid, self.patient_responsibility,
            self.filing_indicator, self.payer_claim_number, self.facility_code, self.frequency,
            adjustments=tuple(self.adjustments),
            lines=tuple([line.record(source) for line in self.lines]),
            references=tuple(self.references),
            remark_codes=tuple(self.remark_codes),
            amounts=tuple(self.amounts),
            source=Source(source, self.index),
            **self.values,  # type: ignore[arg-type]
        )


RemittancePart = RemittanceHeader | ClaimPaymentDraft | ClaimPayment | RemittanceEnd

_CLAIM_DATES = {"232": "statement_start", "233": "statement_end", "050": "received"}


class RemittanceReader(TransactionReader):
    """The meaning of each 835 segment, by loop; ``out`` collects parts until the caller takes them."""

    TRANSACTIONS: ClassVar[frozenset[str]] = frozenset({"835"})
    WANTS_TEXT = True
    HANDLERS: ClassVar[dict[str, str]] = {
        "HEADER/BPR": "bpr", "HEADER/TRN": "trn", "HEADER/DTM": "production_dtm",
        "1000A/N1": "payer", "1000A/REF": "payer_reference",
        "1000B/N1": "payee", "1000B/REF": "payee_reference",
        "2100/CLP": "clp", "2100/CAS": "claim_adjustment", "2100/NM1": "claim_name", "2100/REF": "claim_reference",
        "2100/DTM": "claim_date", "2100/MOA": "moa", "2100/MIA": "mia", "2100/AMT": "claim_amount",
        "2110/SVC": "svc", "2110/CAS": "line_adjustment", "2110/DTM": "line_date", "2110/REF": "line_reference",
        "2110/AMT": "line_amount", "2110/LQ": "remark",
        "FOOTER/PLB": "provider_adjustment",
    }

    def __init__(self, *, drafts: bool = False):
        self.drafts = drafts
        self.out: list[RemittanceHeader | ClaimPaymentDraft | ClaimPayment | RemittanceEnd] = []
        self.amounts: dict[str, Decimal] = {}
        self.dates: dict[str, date] = {}
        self.quantities: dict[str, Decimal] = {}
        self.procedures: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # SVC01 as written: its parts
        self.cas_seen: dict[tuple[str, ...], tuple[Adjustment, ...]] = {}
        self.header_sent = False
        self.claim: ClaimPaymentDraft | None = None
        self.line: ServicePaymentDraft | None = None
        self.texts: list[str] = []

    def interchange_ack(self, envelope: Envelope, ta1: list[str], number: int) -> None:
        raise self.fail(number, "TA1 in a remittance file")

    def other_set(self, st: list[str], number: int) -> None:
        raise self.fail(number, "transaction set is not an 835")

    # -- values -------------------------------------------------------------------------------

    def fail(self, number: int, message: str) -> X12ParseError:
        return X12ParseError(message, segment_index=number, source=self.source)

    def money(self, elements: list[str], position: int, number: int) -> Decimal:
        value = elements[position] if position < len(elements) else ""
        found = self.amounts.get(value)
        if found is None:
            if len(value) > MAX_DECIMAL_LENGTH or not DECIMAL_PATTERN.fullmatch(value):
                raise self.fail(number, f"{elements[0]}{position:02d} is not a decimal amount")
            found = Decimal(value)
            if not storable_money(found):
                raise self.fail(number, f"{elements[0]}{position:02d} is beyond what the ledger stores (whole "
                                "cents, below 10,000,000,000)")
            if len(self.amounts) < _CACHE_LIMIT:
                self.amounts[value] = found
        return found

    def quantity(self, elements: list[str], position: int, number: int) -> Decimal | None:
        """Units and CAS quantities: plain decimals (not money, so not held to whole cents)."""
        value = _get(elements, position)
        if not value:
            return None
        found = self.quantities.get(value)
        if found is None:
            if len(value) > MAX_DECIMAL_LENGTH or not DECIMAL_PATTERN.fullmatch(value):
                raise self.fail(number, f"{elements[0]}{position:02d} is not a decimal amount")
            found = Decimal(value)
            if len(self.quantities) < _CACHE_LIMIT:
                self.quantities[value] = found
        return found

    def bounded(self, elements: list[str], position: int, stored: str, number: int) -> str:
        """Text the ledger keeps in ``STORED_LENGTHS[stored]`` characters: longer is refused while reading,
        so SQLite never keeps what PostgreSQL would refuse."""
        value = _get(elements, position)
        if len(value) > STORED_LENGTHS[stored]:
            raise self.fail(number, f"{elements[0]}{position:02d} is longer than the {STORED_LENGTHS[stored]} "
                            "characters the ledger keeps")
        return value

    def optional_money(self, elements: list[str], position: int, number: int) -> Decimal | None:
        return self.money(elements, position, number) if position < len(elements) and elements[position] else None

    def day(self, elements: list[str], position: int, number: int) -> date:
        value = elements[position] if position < len(elements) else ""
        found = self.dates.get(value)
        if found is None:
            try:
                found = parse_date(value)
            except X12ParseError:
                raise self.fail(number, f"{elements[0]}{position:02d} is not a valid CCYYMMDD date") from None
            if len(self.dates) < _CACHE_LIMIT:
                self.dates[value] = found
        return found

    def required(self, elements: list[str], position: int, number: int) -> str:
        value = elements[position] if position < len(elements) else ""
        if not value:
            raise self.fail(number, f"{elements[0]}{position:02d} is required")
        return value

    # -- the set -------------------------------------------------------------------------------

    def begin_set(self, envelope: Envelope, st: list[str], number: int) -> None:
        self.envelope, self.st_number, self.control_number = envelope, number, st[2] if len(st) > 2 else ""
        self.header: dict[str, object] = {}
        self.payer_name = self.payer_id = self.payee_name = self.payee_npi = self.payee_tax_id = ""
        self.payer_qualifier = self.payer_identifier = self.payer_ref_2u = ""
        self.payee_qualifier = self.payee_identifier = ""
        self.production_date: date | None = None
        self.plb: list[ProviderAdjustment] = []
        self.claim = self.line = None
        self.header_sent = False
        self.digest = hashlib.sha256()
        self.texts.clear()
        seps = self.separators
        self.plain = not any(ch in _FINGERPRINT_CONTROLS for ch in seps.all())

    def fingerprint(self) -> None:
        """Feed the collected segment texts to the content digest (separators mapped to controls)."""
        if not self.texts:
            return
        seps = self.separators
        text = "\x1e".join(self.texts) + "\x1e"
        text = text.replace(seps.element, "\x1f").replace(seps.component, "\x1c").replace(seps.repetition, "\x1b")
        self.digest.update(text.encode("ascii", errors="replace"))
        self.texts.clear()

    def remittance(self, number: int, *, claims: bool = False) -> Remittance:
        if "total_paid" not in self.header:
            raise self.fail(number, "835 transaction set without a BPR")
        if "trace_number" not in self.header:
            raise self.fail(number, "835 transaction set without a TRN")
        return Remittance(
            envelope=self.envelope, control_number=self.control_number,
            **self.header,  # type: ignore[arg-type]
            payer_name=self.payer_name, payer_id=self.payer_id, payee_name=self.payee_name,
            payee_npi=self.payee_npi, payee_tax_id=self.payee_tax_id, production_date=self.production_date,
            provider_adjustments=tuple(self.plb) if claims else (),
            source=Source(self.source, self.st_number),
            payer_qualifier=self.payer_qualifier, payer_identifier=self.payer_identifier,
            payer_reference=self.payer_ref_2u, payee_qualifier=self.payee_qualifier,
            payee_identifier=self.payee_identifier,
        )

    def send_header(self, number: int) -> None:
        if not self.header_sent:
            self.out.append(RemittanceHeader(self.remittance(number)))
            self.header_sent = True

    def close_claim(self) -> None:
        if self.claim is not None:
            self.out.append(self.claim if self.drafts else self.claim.record())
            self.claim = self.line = None

    def end_set(self, se: list[str], number: int) -> None:
        self.send_header(number)
        self.close_claim()
        self.fingerprint()
        self.out.append(RemittanceEnd(self.remittance(number, claims=True), self.digest.hexdigest()))

    # -- header and parties ------------------------------------------------------------------------

    def bpr(self, e: list[str], number: int) -> None:
        if "total_paid" in self.header:
            raise self.fail(number, "BPR: second BPR in one transaction set")
        self.header.update(
            handling_code=self.required(e, 1, number), total_paid=self.money(e, 2, number),
            credit_debit=_get(e, 3), payment_method=self.bounded(e, 4, "payment_method", number),
            payment_date=_lenient_date(_get(e, 16)),
        )

    def trn(self, e: list[str], number: int) -> None:
        if "trace_number" not in self.header:
            self.required(e, 2, number)
            self.header.update(trace_number=self.bounded(e, 2, "trace_number", number),
                               trace_payer_id=self.bounded(e, 3, "payer_key", number))

    def production_dtm(self, e: list[str], number: int) -> None:
        if _get(e, 1) == "405":
            self.production_date = self.day(e, 2, number)

    def payer(self, e: list[str], number: int) -> None:
        self.payer_name = self.bounded(e, 2, "payer_name", number)
        self.payer_qualifier, self.payer_identifier = _get(e, 3), _get(e, 4)
        if _get(e, 3) == "XV" and not self.payer_id:
            self.payer_id = self.bounded(e, 4, "payer_key", number)

    def payer_reference(self, e: list[str], number: int) -> None:
        if _get(e, 1) == "2U":
            self.payer_id = self.payer_ref_2u = self.bounded(e, 2, "payer_key", number)

    def payee(self, e: list[str], number: int) -> None:
        self.payee_name = _get(e, 2)
        self.payee_qualifier, self.payee_identifier = _get(e, 3), _get(e, 4)
        if _get(e, 3) == "XX":
            self.payee_npi = _get(e, 4)
        elif _get(e, 3) == "FI":
            self.payee_tax_id = _get(e, 4)

    def payee_reference(self, e: list[str], number: int) -> None:
        if _get(e, 1) == "TJ" and not self.payee_tax_id:
            self.payee_tax_id = _get(e, 2)

    # -- loop 2100 -------------------------------------------------------------------------------

    def clp(self, e: list[str], number: int) -> None:
        if not self.header_sent:
            self.send_header(number)
        if self.plb:
            raise self.fail(number, "CLP: claim payment after the PLB")
        if len(e) < 10:
            e = e + [""] * (10 - len(e))
        if not e[1] or not e[2]:
            self.required(e, 1, number)
            self.required(e, 2, number)
        if len(e[1]) > _CLP01_LENGTH or len(e[2]) > _CLP02_LENGTH or len(e[7]) > _CLP07_LENGTH:
            self.bounded(e, 1, "patient_control_number", number)
            self.bounded(e, 2, "status", number)
            self.bounded(e, 7, "payer_claim_number", number)
        amounts = self.amounts
        charge, paid = amounts.get(e[3]), amounts.get(e[4])
        if charge is None:
            charge = self.money(e, 3, number)
        if paid is None:
            paid = self.money(e, 4, number)
        opened = ClaimPaymentDraft(number, self.source, e, charge, paid, self.optional_money(e, 5, number))
        if self.claim is not None:
            self.close_claim()
        self.claim = opened

    def adjustments(self, e: list[str], number: int) -> tuple[Adjustment, ...]:
        """CAS: a group code then up to six (reason, amount, quantity) triples."""
        key = tuple(e)
        found = self.cas_seen.get(key)
        if found is not None:
            return found
        group = self.required(e, 1, number)
        if len(group) > STORED_LENGTHS["adjustment_group"]:
            raise self.fail(number, "CAS01 is not an adjustment group code")
        triples = []
        for i in range(CAS_TRIPLES):
            at = 2 + 3 * i
            reason = _get(e, at)
            if not reason:
                if _get(e, at + 1) or _get(e, at + 2):
                    raise self.fail(number, f"CAS{at + 1:02d} without a reason code")
                continue
            self.bounded(e, at, "adjustment_reason", number)
            self.bounded(e, at + 2, "adjustment_quantity", number)
            triples.append(Adjustment(group, reason, self.money(e, at + 1, number), self.quantity(e, at + 2, number)))
        if not triples:
            raise self.fail(number, "CAS without any adjustment")
        if len(e) > 1 + 3 * CAS_TRIPLES + 1:
            raise self.fail(number, "CAS has more than six adjustments")
        found = tuple(triples)
        if len(self.cas_seen) < _CACHE_LIMIT:
            self.cas_seen[key] = found
        return found

    def claim_adjustment(self, e: list[str], number: int) -> None:
        claim = self.claim
        if claim is not None:
            claim.adjustments.extend(self.cas_seen.get(tuple(e)) or self.adjustments(e, number))

    def claim_name(self, e: list[str], number: int) -> None:
        if self.claim is None:
            return
        if _get(e, 1) == "QC":
            self.claim.values.update(patient_last=_get(e, 3), patient_first=_get(e, 4), member_id=_get(e, 9))
        elif _get(e, 1) == "82":
            self.claim.values["rendering_provider_id"] = _get(e, 9)

    def claim_reference(self, e: list[str], number: int) -> None:
        if self.claim is not None:
            self.claim.references.append((_get(e, 1), _get(e, 2)))

    def claim_date(self, e: list[str], number: int) -> None:
        key = _CLAIM_DATES.get(_get(e, 1))
        if key and self.claim is not None:
            self.claim.values[key] = self.day(e, 2, number)

    def moa(self, e: list[str], number: int) -> None:
        if self.claim is not None:
            self.claim.remark_codes.extend(code for code in (_get(e, i) for i in range(3, 8)) if code)

    def mia(self, e: list[str], number: int) -> None:
        if self.claim is not None:
            self.claim.remark_codes.extend(code for code in (_get(e, i) for i in (5, 20, 21, 22, 23)) if code)

    def claim_amount(self, e: list[str], number: int) -> None:
        if self.claim is not None:
            self.claim.amounts.append((_get(e, 1), self.money(e, 2, number)))

    # -- loop 2110 -------------------------------------------------------------------------------

    def svc(self, e: list[str], number: int) -> None:
        claim = self.claim
        if claim is None:
            raise self.fail(number, "SVC: service line outside a claim")
        if len(e) < 7:
            e = e + [""] * (7 - len(e))
        procedure = self.procedures.get(e[1])
        if procedure is None:
            procedure = self.procedure(e, number)
        amounts = self.amounts
        charge, paid = amounts.get(e[2]), amounts.get(e[3])
        if charge is None:
            charge = self.money(e, 2, number)
        if paid is None:
            paid = self.money(e, 3, number)
        units = self.quantities.get(e[5]) if e[5] else None
        if units is None and e[5]:
            units = self.quantity(e, 5, number)
        line = self.line = ServicePaymentDraft(number, procedure, charge, paid, units, e[4], e[6])
        claim.lines.append(line)

    def procedure(self, e: list[str], number: int) -> tuple[str, str, tuple[str, ...]]:
        """SVC01: qualifier, code and modifiers, read once per distinct composite."""
        parts = self.required(e, 1, number).split(self.separators.component)
        found = (parts[0], parts[1] if len(parts) > 1 else "", tuple([m for m in parts[2:6] if m]))
        if len(self.procedures) < _CACHE_LIMIT:
            self.procedures[e[1]] = found
        return found

    def line_adjustment(self, e: list[str], number: int) -> None:
        line = self.line
        if line is not None:
            line.adjustments.extend(self.cas_seen.get(tuple(e)) or self.adjustments(e, number))

    def line_date(self, e: list[str], number: int) -> None:
        line = self.line
        if line is None:
            return
        qualifier = _get(e, 1)
        if qualifier == "472":
            line.service_date = (self.dates.get(e[2]) if len(e) > 2 else None) or self.day(e, 2, number)
        elif qualifier == "150":
            line.service_start = self.day(e, 2, number)
        elif qualifier == "151":
            line.service_end = self.day(e, 2, number)

    def line_reference(self, e: list[str], number: int) -> None:
        line = self.line
        if line is None:
            return
        if len(e) == 3 and e[1] == "6R" and len(e[2]) <= _LINE_ID_LENGTH:
            line.line_id = e[2]
        elif _get(e, 1) == "6R":
            line.line_id = self.bounded(e, 2, "line_id", number)
        else:
            line.references.append((_get(e, 1), _get(e, 2)))

    def line_amount(self, e: list[str], number: int) -> None:
        if self.line is not None and _get(e, 1) == "B6":
            self.line.allowed = self.money(e, 2, number)

    def remark(self, e: list[str], number: int) -> None:
        if self.line is not None and _get(e, 2):
            self.line.remark_codes.append(_get(e, 2))

    # -- provider level -----------------------------------------------------------------------------

    def provider_adjustment(self, e: list[str], number: int) -> None:
        self.send_header(number)
        self.close_claim()
        provider_id = self.required(e, 1, number)
        period = self.day(e, 2, number)
        for at in range(3, 15, 2):
            reason = _get(e, at)
            if not reason:
                if _get(e, at + 1):
                    raise self.fail(number, f"PLB{at + 1:02d} without a reason")
                continue
            code, _, reference = reason.partition(self.separators.component)
            self.plb.append(ProviderAdjustment(provider_id, period, code, reference, self.money(e, at + 1, number)))


def _get(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


def _lenient_date(value: str) -> date | None:
    try:
        return parse_date(value)
    except X12ParseError:
        return None


def read_remittance_parts(source: SegmentSource, *, drafts: bool = False) -> Iterator[RemittancePart]:
    """The parts of every remittance of ``source``, streamed (see the module doc)."""
    reader = RemittanceReader(drafts=drafts)
    for _ in walk(source, reader):
        reader.fingerprint()  # the block's segments: what is kept stays one block long
        if reader.out:
            yield from reader.out
            reader.out = []
    yield from reader.out


def read_remittance_file(path: str | Path | BinaryIO, *, source: str | None = None,
                         drafts: bool = False) -> Iterator[RemittancePart]:
    """The parts of every remittance in an 835 file, in bounded memory."""
    data = path if not isinstance(path, str) else Path(path)
    return read_remittance_parts(SegmentSource(data, source=source or str(path)), drafts=drafts)


def read_remittance_text(text: str, *, source: str = "<835>", drafts: bool = False) -> Iterator[RemittancePart]:
    return read_remittance_parts(SegmentSource(text, source=source), drafts=drafts)


def read_835(text: str, source: str = "<835>") -> tuple[Remittance, ...]:
    """Every remittance in ``text`` as a whole record; raises ``X12ParseError`` if any part is unreadable."""
    return tuple(iter_remittances(read_remittance_text(text, source=source)))


def iter_remittances(parts: Iterator[RemittancePart]) -> Iterator[Remittance]:
    """Whole remittances from a stream of parts (each yielded at its SE)."""
    claims: list[ClaimPayment] = []
    for part in parts:
        if isinstance(part, RemittanceEnd):
            yield replace(part.remittance, claims=tuple(claims))
            claims = []
        elif isinstance(part, ClaimPaymentDraft):
            claims.append(part.record())
        elif isinstance(part, ClaimPayment):
            claims.append(part)
