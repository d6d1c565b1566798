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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from domain.remittance import ClaimPayment, Remittance
from edi.sniff import walk_envelopes
from edi.x12 import ISA_LENGTH, Segment, Separators, X12ParseError, detect_separators
from edi.x835 import _RemittanceBuilder

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


def read_remittance_file(path: str | Path, *, source: str | None = None) -> Iterator[RemittancePart]:
    """The parts of every remittance in an 835 file, streamed."""
    seps = separators_of_file(path)
    return iter_remittance_parts(iter_segments_from_file(path, separators=seps), seps, source=source or str(path))


def iter_segments_from_text(text: str) -> Iterator[Segment]:
    """The streaming tokenizer over a string (used by tests to compare with ``iter_segments``)."""
    return iter_segments_from_file(io.BytesIO(text.encode("ascii")))
