"""Reading X12 from a file in bounded memory: segments, and 835 claims one at a time.

``iter_segments_from_file`` yields exactly what ``edi.x12.iter_segments`` yields
for the same text, reading ``chunk_size`` bytes at a time, so a 200 MB 835 costs
a chunk and one segment, not the file.  The separators come from the ISA at the
top, read with ``edi.x12.detect_separators`` (same checks, same errors).

``iter_remittance_parts`` is the claim-level counterpart of
``edi.x835.iter_remittances``: a remittance with 100,000 CLPs is never held
whole.  It yields, per ST..SE:

- ``RemittanceHeader`` once, before the first claim (BPR, TRN, payer, payee read);
- ``ClaimPayment`` for every CLP, when the next CLP, PLB or SE shows it is complete;
- ``RemittanceEnd`` at the SE: the remittance without its claims (``claims=()``),
  with its PLBs, and a fingerprint of its content that ignores the envelope.

A consumer that writes while iterating must treat any later ``X12ParseError``
(a file cut before its IEA raises at the end) as a failure of the whole file.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO

from domain.acks import Envelope
from domain.claim import Source
from domain.remittance import (
    STORED_LENGTHS,
    Adjustment,
    ClaimPayment,
    Remittance,
    ServicePayment,
    storable_money,
)
from edi.sniff import _count, _group_envelope, _interchange_envelope, walk_envelopes
from edi.x12 import (
    ISA_LENGTH,
    Segment,
    Separators,
    X12ParseError,
    detect_separators,
    iter_segments,
    parse_date,
)
from edi.x835 import (
    _MAX_DECIMAL_LENGTH,
    CAS_TRIPLES,
    DECIMAL_PATTERN,
    _RemittanceBuilder,
)

_STRIP = "\r\n\t \x1d"


def _ascii(data: bytes, offset: int) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise X12ParseError(f"byte {offset + exc.start} is not ASCII") from None


def iter_segments_from_file(
    file: str | Path | BinaryIO, chunk_size: int = 1 << 20, separators: Separators | None = None
) -> Iterator[Segment]:
    """Segments of the interchange in ``file`` (a path or a binary file object)."""
    if isinstance(file, str | Path):
        with open(file, "rb") as handle:
            yield from iter_segments_from_file(handle, chunk_size, separators)
        return
    offset = 0
    pending = ""
    # enough text for the ISA, even after leading whitespace
    while True:
        data = file.read(chunk_size)
        if not data:
            break
        pending += _ascii(data, offset)
        offset += len(data)
        start = pending.find("ISA")
        if start >= 0 and len(pending) - start >= ISA_LENGTH:
            break
        if len(pending) > max(chunk_size, 1 << 16) and start < 0:
            break
    seps = separators or detect_separators(pending)
    start = pending.find("ISA")
    if start > 0:
        pending = pending[start:]
    terminator, element = seps.segment, seps.element
    index = 0
    while True:
        pieces = pending.split(terminator)
        pending = pieces.pop()  # the tail may continue in the next chunk
        for raw in pieces:
            raw = raw.strip(_STRIP)
            if not raw:
                continue
            index += 1
            elements = tuple(raw.split(element))
            if not elements[0].isalnum() or len(elements[0]) > 3:
                raise X12ParseError(f"bad segment identifier {elements[0][:10]!r}", segment_index=index)
            yield Segment(elements=elements, index=index)
        data = file.read(chunk_size)
        if not data:
            break
        pending += _ascii(data, offset)
        offset += len(data)
    raw = pending.strip(_STRIP)
    if raw:  # a last segment without its terminator, as iter_segments yields it
        index += 1
        elements = tuple(raw.split(element))
        if not elements[0].isalnum() or len(elements[0]) > 3:
            raise X12ParseError(f"bad segment identifier {elements[0][:10]!r}", segment_index=index)
        yield Segment(elements=elements, index=index)


def separators_of_file(path: str | Path) -> Separators:
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    return detect_separators(head.decode("ascii", errors="replace"))


@dataclass(frozen=True, slots=True)
class RemittanceHeader:
    remittance: Remittance  # claims=() and provider_adjustments=(): the header only


@dataclass(frozen=True, slots=True)
class RemittanceEnd:
    remittance: Remittance  # claims=(), the PLBs
    fingerprint: str  # sha256 of the segments between ST and SE, separator-independent


RemittancePart = RemittanceHeader | ClaimPayment | RemittanceEnd


def content_fingerprint_update(digest: hashlib._Hash, seg: Segment, separators: Separators) -> None:
    """Feed one segment to a content digest in a form that does not depend on the separators."""
    text = "\x1f".join(seg.elements)
    if separators.component in text:
        text = text.replace(separators.component, "\x1c")
    if separators.repetition in text:
        text = text.replace(separators.repetition, "\x1b")
    digest.update(text.encode("ascii", errors="replace"))
    digest.update(b"\x1e")


def iter_remittance_parts(
    segments: Iterable[Segment], separators: Separators, *, source: str = "<835>"
) -> Iterator[RemittancePart]:
    builder: _RemittanceBuilder | None = None
    digest = hashlib.sha256()
    header_sent = False
    for envelope, seg in walk_envelopes(segments, source=source):
        sid = seg.id
        if sid == "TA1":
            raise X12ParseError("TA1 in a remittance file", segment_index=seg.index, source=source)
        if sid == "ST":
            if seg.get(1) != "835":
                raise X12ParseError("transaction set is not an 835", segment_index=seg.index, source=source)
            builder = _RemittanceBuilder(envelope, seg, separators, source)
            digest = hashlib.sha256()
            header_sent = False
            continue
        if builder is None:  # pragma: no cover - walk_envelopes yields ST first
            raise X12ParseError("segment outside a transaction set", segment_index=seg.index, source=source)
        if sid == "SE":
            if not header_sent:
                yield RemittanceHeader(_header(builder, seg))
            for claim in builder.claims:
                yield claim.build(source)
            builder.claims = []
            yield RemittanceEnd(builder.finish(seg), digest.hexdigest())
            builder = None
            continue
        content_fingerprint_update(digest, seg, separators)
        if sid == "CLP" or sid == "PLB":
            if not header_sent:
                yield RemittanceHeader(_header(builder, seg))
                header_sent = True
            builder.add(seg)
            keep = 1 if sid == "CLP" else 0  # the claim this CLP opens is not complete yet
            done = builder.claims[: len(builder.claims) - keep]
            builder.claims = builder.claims[len(done) :]
            for claim in done:
                yield claim.build(source)
        else:
            builder.add(seg)


def _header(builder: _RemittanceBuilder, seg: Segment) -> Remittance:
    """The remittance as read so far, without claims or PLBs."""
    claims, plb = builder.claims, builder.plb
    builder.claims, builder.plb = [], []
    try:
        return builder.finish(seg)
    finally:
        builder.claims, builder.plb = claims, plb


def read_remittance_file(
    path: str | Path, *, source: str | None = None, drafts: bool = False
) -> Iterator[RemittancePart | ClaimPaymentDraft]:
    """The parts of every remittance in an 835 file, streamed.

    ``drafts``: claims the fast path reads come as ``ClaimPaymentDraft`` (``record()`` gives the
    ``ClaimPayment``); those the reference reader reads (the fallback) come as records.
    """
    seps = separators_of_file(path)
    source = source or str(path)

    def slow() -> Iterator[RemittancePart]:
        return iter_remittance_parts(iter_segments_from_file(path, separators=seps), seps, source=source)

    if not _plain_separators(seps):
        return slow()
    return _parts_with_fallback(lambda: _fast_remittance_parts(_file_text_chunks(path), seps, source, drafts), slow)


def read_remittance_text(
    text: str, *, source: str = "<835>", drafts: bool = False
) -> Iterator[RemittancePart | ClaimPaymentDraft]:
    """``iter_remittance_parts`` over the segments of ``text`` (same parts, same errors; ``drafts``
    as for ``read_remittance_file``)."""
    seps = detect_separators(text)

    def slow() -> Iterator[RemittancePart]:
        return iter_remittance_parts(iter_segments(text, seps), seps, source=source)

    if not _plain_separators(seps) or not text.isascii():
        return slow()
    return _parts_with_fallback(lambda: _fast_remittance_parts(iter((text,)), seps, source, drafts), slow)


# --- the fast path -------------------------------------------------------------------------------
#
# ``_fast_remittance_parts`` yields what ``iter_remittance_parts`` yields for the same segments, at a
# fraction of the cost: it works on the split element lists, keeps the envelope counters itself,
# fingerprints the raw text in batches and parses the hot 2100/2110 segments (CLP, SVC, CAS, DTM, REF,
# NM1, LQ) inline; every other segment goes through ``_RemittanceBuilder`` as a ``Segment``.  It only
# knows the well-formed case: on anything else (a broken envelope, a bad amount or date, a segment out
# of place) it gives up with ``_Unusual`` and ``_parts_with_fallback`` replays the file through the
# reference reader, which skips the parts already yielded and raises its own precise error.


class _Unusual(Exception):
    """The fast reader met something it leaves to the reference reader."""


_FINGERPRINT_CONTROLS = "\x1b\x1c\x1e\x1f"
# what the ledger keeps of the inline-read elements (longer: the reference reader says which)
_CLP01_LENGTH, _CLP02_LENGTH, _CLP07_LENGTH = (
    STORED_LENGTHS["patient_control_number"], STORED_LENGTHS["status"], STORED_LENGTHS["payer_claim_number"])
_LINE_ID_LENGTH = STORED_LENGTHS["line_id"]
_GROUP_LENGTH, _REASON_LENGTH, _QUANTITY_LENGTH = (
    STORED_LENGTHS["adjustment_group"], STORED_LENGTHS["adjustment_reason"], STORED_LENGTHS["adjustment_quantity"])
_ENVELOPE_IDS = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"))
_CACHE_LIMIT = 50_000


def _plain_separators(seps: Separators) -> bool:
    """Batch fingerprinting rewrites separators to control characters: none may already be one."""
    return not any(ch in _FINGERPRINT_CONTROLS for ch in seps.all())


def _parts_with_fallback(
    fast: Callable[[], Iterator[RemittancePart | ClaimPaymentDraft]], slow: Callable[[], Iterator[RemittancePart]]
) -> Iterator[RemittancePart | ClaimPaymentDraft]:
    yielded = 0
    try:
        for part in fast():
            yield part
            yielded += 1
        return
    except (_Unusual, X12ParseError):
        pass
    for position, part in enumerate(slow()):
        if position >= yielded:
            yield part


def _file_text_chunks(path: str | Path, chunk_size: int = 1 << 20) -> Iterator[str]:
    with open(path, "rb") as handle:
        offset = 0
        while data := handle.read(chunk_size):
            yield _ascii(data, offset)
            offset += len(data)


def _raw_segment_batches(chunks: Iterator[str], terminator: str) -> Iterator[list[str]]:
    """The stripped, non-empty segment texts ``iter_segments_from_file`` would split, a chunk at a time."""
    pending = ""
    for data in chunks:  # enough text for the ISA, as iter_segments_from_file reads it
        pending += data
        start = pending.find("ISA")
        if start >= 0 and len(pending) - start >= ISA_LENGTH:
            break
        if len(pending) > (1 << 20) and start < 0:
            break
    start = pending.find("ISA")
    if start > 0:
        pending = pending[start:]
    while True:
        pieces = pending.split(terminator)
        pending = pieces.pop()
        batch = list(filter(None, map(str.strip, pieces, repeat(_STRIP))))
        if batch:
            yield batch
        chunk = next(chunks, None)
        if chunk is None:
            break
        pending += chunk
    raw = pending.strip(_STRIP)
    if raw:
        yield [raw]


class ServicePaymentDraft:
    """Loop 2110 as the fast reader reads it: the attributes of ``ServicePayment`` (lists where the
    record has tuples; ``_RemittanceBuilder``'s handlers add to them); ``record()`` is the record."""

    __slots__ = ("index", "procedure_qualifier", "procedure_code", "modifiers", "charge", "paid", "units",
                 "revenue_code", "original_procedure", "line_id", "service_date", "service_start", "service_end",
                 "adjustments", "remark_codes", "allowed", "references")

    def __init__(self, index: int, svc: tuple[str, str, tuple[str, ...], Decimal, Decimal, Decimal | None, str, str]):
        """``svc``: SVC01-1, SVC01-2, SVC01-3..6, SVC02, SVC03, SVC05, SVC04, SVC06, as ``ServicePayment``
        orders them (one tuple, shared by the lines whose SVC reads the same)."""
        self.index = index
        (self.procedure_qualifier, self.procedure_code, self.modifiers, self.charge, self.paid, self.units,
         self.revenue_code, self.original_procedure) = svc
        self.line_id: str | None = None
        self.service_date: date | None = None
        self.service_start: date | None = None
        self.service_end: date | None = None
        self.adjustments: list[Adjustment] = []
        self.remark_codes: list[str] = []
        self.allowed: Decimal | None = None
        self.references: list[tuple[str, str]] = []

    def record(self, source: str) -> ServicePayment:
        """What ``edi.x835._LineBuilder.build`` makes of the same segments."""
        return ServicePayment(self.procedure_qualifier, self.procedure_code, self.modifiers, self.charge, self.paid,
                              self.units, self.revenue_code, self.original_procedure, self.line_id,
                              self.service_date, self.service_start, self.service_end, tuple(self.adjustments),
                              tuple(self.remark_codes), self.allowed, tuple(self.references),
                              Source(source, self.index))


class ClaimPaymentDraft:
    """Loop 2100 as the fast reader reads it: CLP01..CLP09, the CAS, lines, REF and remark codes under
    the names ``ClaimPayment`` gives them (lists where the record has tuples), what else the reference
    builder reads in ``values``; ``record()`` is the ``ClaimPayment`` itself.

    ``read_remittance_file(..., drafts=True)`` yields these instead of records, for a consumer (the
    poster) that reads a few attributes of every claim and needs the record of only a few.
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
        self.values: dict[str, object] = {}  # as _ClaimBuilder.values: dates, names, rendering provider
        self.adjustments: list[Adjustment] = []
        self.lines: list[ServicePaymentDraft] = []
        self.references: list[tuple[str, str]] = []
        self.remark_codes: list[str] = []
        self.amounts: list[tuple[str, Decimal]] = []

    def record(self) -> ClaimPayment:
        """What ``edi.x835._ClaimBuilder.build`` makes of the same segments."""
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


# The drafts pass the leading fields by position (keywords are a quarter of the cost of a line)
assert [f.name for f in fields(ServicePayment)] == [
    "procedure_qualifier", "procedure_code", "modifiers", "charge", "paid", "units", "revenue_code",
    "original_procedure", "line_id", "service_date", "service_start", "service_end", "adjustments",
    "remark_codes", "allowed", "references", "source"], "domain.remittance.ServicePayment changed: see record()"
assert [f.name for f in fields(ClaimPayment)][:9] == [
    "patient_control_number", "status", "charge", "paid", "patient_responsibility", "filing_indicator",
    "payer_claim_number", "facility_code", "frequency"], "domain.remittance.ClaimPayment changed: see record()"


def _take_reference(reference: tuple[str, str], claim: ClaimPaymentDraft | None,
                    line: ServicePaymentDraft | None) -> None:
    """A REF of loop 2100 (``claim`` given) or 2110: REF*6R is the line's own id."""
    if claim is not None:
        claim.references.append(reference)
    elif reference[0] == "6R":
        line.line_id = reference[1]  # type: ignore[union-attr]
    else:
        line.references.append(reference)  # type: ignore[union-attr]


def _fast_remittance_parts(
    chunks: Iterator[str], separators: Separators, source: str, drafts: bool = False
) -> Iterator[RemittancePart | ClaimPaymentDraft]:
    element, component = separators.element, separators.component
    amounts: dict[str, Decimal] = {}
    dates: dict[str, date] = {}
    # CAS, SVC, DTM, REF and NM1 texts seen before, with what they say: they repeat verbatim from claim
    # to claim, and a dict hit costs less than splitting and reading them again
    seen: dict[str, tuple[Any, ...]] = {}

    def money(value: str) -> Decimal:
        """An amount the ledger can store (units and CAS quantities too: larger ones are rare, and left
        to the reference reader, which reads them as plain decimals)."""
        found = amounts.get(value)
        if found is None:
            if len(value) > _MAX_DECIMAL_LENGTH or not DECIMAL_PATTERN.fullmatch(value):
                raise _Unusual
            found = Decimal(value)
            if not storable_money(found):
                raise _Unusual
            if len(amounts) < _CACHE_LIMIT:
                amounts[value] = found
        return found

    def day(value: str) -> date:
        found = dates.get(value)
        if found is None:
            found = parse_date(value)  # X12ParseError: the reference reader names it
            if len(dates) < _CACHE_LIMIT:
                dates[value] = found
        return found

    def cas(raw: str, parts: list[str]) -> tuple[Adjustment, ...]:
        n = len(parts)
        if n > 1 + 3 * CAS_TRIPLES + 1 or n < 2 or not parts[1]:
            raise _Unusual
        group = parts[1]
        if len(group) > _GROUP_LENGTH:
            raise _Unusual
        triples = []
        for reason_at in range(2, n, 3):
            reason = parts[reason_at]
            value = parts[reason_at + 1] if reason_at + 1 < n else ""
            quantity = parts[reason_at + 2] if reason_at + 2 < n else ""
            if len(reason) > _REASON_LENGTH or len(quantity) > _QUANTITY_LENGTH:
                raise _Unusual
            if not reason:
                if value or quantity:
                    raise _Unusual
                continue
            triples.append(Adjustment(group, reason, money(value), money(quantity) if quantity else None))
        if not triples:
            raise _Unusual
        found = tuple(triples)
        if len(seen) < _CACHE_LIMIT:
            seen[raw] = ("CAS", found)
        return found

    # envelope state, as edi.sniff.walk_envelopes keeps it
    interchange: Envelope | None = None
    group: Envelope | None = None
    groups_seen = sets_seen = interchanges_closed = 0
    set_numbers: set[str] = set()
    st: Segment | None = None
    # transaction set state, as iter_remittance_parts keeps it; ``loop`` mirrors ``builder.loop``
    # (None outside a transaction set), ``claim`` and ``line`` are the open 2100 and 2110 loops
    builder: _RemittanceBuilder | None = None
    loop: str | None = None
    claim: ClaimPaymentDraft | None = None
    line: ServicePaymentDraft | None = None
    digest = hashlib.sha256()
    header_sent = False
    index = 0
    for batch in _raw_segment_batches(chunks, separators.segment):
        first = index  # segment index before the batch; batch[i] has index first + i + 1
        for raw in batch:
            index += 1
            known = seen.get(raw)
            if known is not None and (loop == "line" or loop == "claim"):  # as below, without the reading
                kind = known[0]
                if kind == "CAS":
                    (line if loop == "line" else claim).adjustments.extend(known[1])  # type: ignore[union-attr]
                    continue
                if kind == "SVC":
                    line = ServicePaymentDraft(index, known[1])
                    claim.lines.append(line)  # type: ignore[union-attr]
                    loop = builder.loop = "line"  # type: ignore[union-attr]
                    continue
                if kind == "REF":
                    _take_reference(known[1], claim if loop == "claim" else None, line)
                    continue
                if kind == "NM1":
                    if loop == "claim":
                        claim.values.update(known[1])  # type: ignore[union-attr]
                    continue
                if loop == "line":  # DTM 472, 150 or 151
                    if known[1] == "472":
                        line.service_date = known[2]  # type: ignore[union-attr]
                    elif known[1] == "150":
                        line.service_start = known[2]  # type: ignore[union-attr]
                    else:
                        line.service_end = known[2]  # type: ignore[union-attr]
                    continue
            parts = raw.split(element)
            sid = parts[0]
            # --- the segments of loops 2100 and 2110, most frequent first ---
            if sid == "CAS" and (loop == "line" or loop == "claim"):
                (line if loop == "line" else claim).adjustments.extend(cas(raw, parts))  # type: ignore[union-attr]
            elif sid == "SVC" and (loop == "line" or loop == "claim"):
                n = len(parts)
                if n < 4 or not parts[1]:
                    raise _Unusual
                if n < 7:
                    parts += [""] * (7 - n)
                procedure = parts[1].split(component)
                fields = (procedure[0], procedure[1] if len(procedure) > 1 else "",
                          tuple([m for m in procedure[2:6] if m]), money(parts[2]), money(parts[3]),
                          money(parts[5]) if parts[5] else None, parts[4], parts[6])
                if len(seen) < _CACHE_LIMIT:
                    seen[raw] = ("SVC", fields)
                line = ServicePaymentDraft(index, fields)
                claim.lines.append(line)  # type: ignore[union-attr]
                loop = builder.loop = "line"  # type: ignore[union-attr]
            elif sid == "DTM" and loop == "line":
                qualifier = parts[1] if len(parts) > 1 else ""
                if qualifier == "472" or qualifier == "150" or qualifier == "151":
                    when = day(parts[2] if len(parts) > 2 else "")
                    if qualifier == "472":
                        line.service_date = when  # type: ignore[union-attr]
                    elif qualifier == "150":
                        line.service_start = when  # type: ignore[union-attr]
                    else:
                        line.service_end = when  # type: ignore[union-attr]
                    if len(seen) < _CACHE_LIMIT:
                        seen[raw] = ("DTM", qualifier, when)
            elif sid == "REF" and (loop == "line" or loop == "claim"):
                n = len(parts)
                reference = (parts[1] if n > 1 else "", parts[2] if n > 2 else "")
                if reference[0] == "6R" and len(reference[1]) > _LINE_ID_LENGTH and loop == "line":
                    raise _Unusual
                _take_reference(reference, claim if loop == "claim" else None, line)
                if len(seen) < _CACHE_LIMIT:
                    seen[raw] = ("REF", reference)
            elif sid == "CLP" and loop is not None:
                if not header_sent:
                    yield RemittanceHeader(_header(builder, Segment(tuple(parts), index)))  # type: ignore[arg-type]
                    header_sent = True
                n = len(parts)
                if "total_paid" not in builder.header or builder.plb or n < 5 or not parts[1] or not parts[2]:  # type: ignore[union-attr]
                    raise _Unusual
                if n < 10:
                    parts += [""] * (10 - n)
                if (len(parts[1]) > _CLP01_LENGTH or len(parts[2]) > _CLP02_LENGTH
                        or len(parts[7]) > _CLP07_LENGTH):
                    raise _Unusual
                # read before the previous claim is yielded, as the reference reader does
                opened = ClaimPaymentDraft(index, source, parts, money(parts[3]), money(parts[4]),
                                           money(parts[5]) if parts[5] else None)
                if claim is not None:
                    yield claim if drafts else claim.record()
                claim = opened
                builder.claims = [claim]  # type: ignore[list-item, union-attr]
                loop = builder.loop = "claim"  # type: ignore[union-attr]
            elif sid == "NM1" and loop is not None:
                if loop == "claim":  # names are read in the claim loop only (as _RemittanceBuilder._nm1)
                    n = len(parts)
                    qualifier = parts[1] if n > 1 else ""
                    values: dict[str, object] = {}
                    if qualifier == "QC":
                        values = {"patient_last": parts[3] if n > 3 else "", "patient_first": parts[4] if n > 4 else "",
                                  "member_id": parts[9] if n > 9 else ""}
                    elif qualifier == "82":
                        values = {"rendering_provider_id": parts[9] if n > 9 else ""}
                    claim.values.update(values)  # type: ignore[union-attr]
                    if len(seen) < _CACHE_LIMIT:
                        seen[raw] = ("NM1", values)
            elif sid == "LQ" and loop == "line":
                if len(parts) > 2 and parts[2]:
                    line.remark_codes.append(parts[2])  # type: ignore[union-attr]
            elif sid == "PLB" and loop is not None:
                seg = Segment(tuple(parts), index)
                if not header_sent:
                    yield RemittanceHeader(_header(builder, seg))  # type: ignore[arg-type]
                    header_sent = True
                builder.add(seg)  # type: ignore[union-attr]
                loop = builder.loop  # type: ignore[union-attr]
                builder.claims = []  # type: ignore[union-attr]
                if claim is not None:
                    yield claim if drafts else claim.record()
                    claim = None
            elif sid in _ENVELOPE_IDS:
                # --- the envelope, as walk_envelopes checks it ---
                seg = Segment(tuple(parts), index)
                if sid == "ISA":
                    if interchange is not None:
                        raise _Unusual
                    interchange, groups_seen = _interchange_envelope(seg, source), 0
                elif interchange is None:
                    raise _Unusual
                elif sid == "IEA":
                    if group is not None or _count(seg, 1) != groups_seen:
                        raise _Unusual
                    if seg.get(2).strip() != interchange.interchange_control_number:
                        raise _Unusual
                    interchange = None
                    interchanges_closed += 1
                elif sid == "TA1":
                    raise _Unusual
                elif sid == "GS":
                    if group is not None:
                        raise _Unusual
                    group = _group_envelope(interchange, seg)
                    groups_seen += 1
                    sets_seen = 0
                    set_numbers = set()
                elif group is None:
                    raise _Unusual
                elif sid == "GE":
                    if st is not None or _count(seg, 1) != sets_seen or seg.get(2) != group.group_control_number:
                        raise _Unusual
                    group = None
                elif sid == "ST":
                    if st is not None or seg.get(2) in set_numbers or seg.get(1) != "835":
                        raise _Unusual
                    set_numbers.add(seg.get(2))
                    st = seg
                    builder = _RemittanceBuilder(group, seg, separators, source)
                    loop = builder.loop
                    claim = line = None
                    digest = hashlib.sha256()
                    header_sent = False
                elif st is None:
                    raise _Unusual
                else:  # SE: the count is of the segments from ST to SE
                    if _count(seg, 1) != index - st.index + 1 or seg.get(2) != st.get(2):
                        raise _Unusual
                    _fingerprint_batch(digest, batch[max(st.index - first, 0):index - first - 1], separators)
                    st = None
                    sets_seen += 1
                    assert builder is not None
                    if not header_sent:
                        yield RemittanceHeader(_header(builder, seg))
                    if claim is not None:
                        yield claim if drafts else claim.record()
                    builder.claims = []
                    yield RemittanceEnd(builder.finish(seg), digest.hexdigest())
                    builder = loop = claim = line = None
            elif loop is None or len(sid) > 3 or not sid.isalnum():
                raise _Unusual  # outside a transaction set, or not a segment identifier
            else:
                # --- any other segment of the transaction set: the reference builder reads it ---
                builder.add(Segment(tuple(parts), index))  # type: ignore[union-attr]
                loop = builder.loop  # type: ignore[union-attr]
        if st is not None:  # the transaction set goes on in the next batch
            _fingerprint_batch(digest, batch[max(st.index - first, 0):], separators)
    if interchange is not None or interchanges_closed == 0:
        raise _Unusual


def _fingerprint_batch(digest: hashlib._Hash, raws: list[str], separators: Separators) -> None:
    """``content_fingerprint_update`` for many raw segment texts at once (same bytes fed)."""
    if not raws:
        return
    text = "\x1e".join(raws) + "\x1e"
    text = text.replace(separators.element, "\x1f").replace(separators.component, "\x1c")
    text = text.replace(separators.repetition, "\x1b")
    digest.update(text.encode("ascii", errors="replace"))


def iter_segments_from_text(text: str) -> Iterator[Segment]:
    """The streaming tokenizer over a string (used by tests to compare with ``iter_segments``)."""
    return iter_segments_from_file(io.BytesIO(text.encode("ascii")))
