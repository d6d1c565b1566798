"""What an inbound file is: "TA1, 999, 277CA, 835 or 837?" from the top of the file.

``sniff`` reads the ISA, GS and the first TA1 or ST through the one segment source
(``edi.tokenizer``) and stops; the envelope is checked by the engine when the file is read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from domain.acks import Envelope
from edi.engine import group_envelope, interchange_envelope
from edi.tokenizer import SegmentSource
from edi.x12 import X12ParseError


class FileKind(enum.StrEnum):
    TA1 = "TA1"
    ACK_999 = "999"
    ACK_997 = "997"
    CLAIM_ACK_277CA = "277CA"
    STATUS_277 = "277"
    REMITTANCE_835 = "835"
    CLAIM_837P = "837P"
    CLAIM_837I = "837I"
    CLAIM_837D = "837D"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: FileKind
    envelope: Envelope
    version: str  # ST03, else GS08


_BY_SET = {"999": FileKind.ACK_999, "997": FileKind.ACK_997, "835": FileKind.REMITTANCE_835}


def sniff(text: str | bytes, *, source: str = "<x12>") -> Sniffed:
    """Classify an interchange by its first TA1 or ST; raises ``X12ParseError`` if it has neither.

    Given bytes (the top of a file), a byte-order mark before the ISA is read as the readers read it.
    """
    data = SegmentSource(text, source=source)
    separators = data.separators
    envelope: Envelope | None = None
    seen = 0
    for batch in data.batches():
        for raw in batch:
            elements = raw.split(separators.element)
            sid = elements[0]
            seen += 1
            if sid == "ISA" and len(elements) == 17:
                envelope = interchange_envelope(elements)
            elif sid == "GS" and envelope is not None:
                envelope = group_envelope(envelope, elements)
            elif sid == "TA1" and envelope is not None:
                return Sniffed(FileKind.TA1, envelope, "")
            elif sid == "ST" and envelope is not None:
                version = (elements[3] if len(elements) > 3 else "") or envelope.version
                return Sniffed(_kind(elements[1] if len(elements) > 1 else "", version), envelope, version)
            if seen > 4:
                raise X12ParseError("no TA1 or ST near the top of the file", source=source)
    raise X12ParseError("no TA1 or ST near the top of the file", source=source)


def _kind(set_id: str, version: str) -> FileKind:
    if set_id in _BY_SET:
        return _BY_SET[set_id]
    if set_id == "277":
        return FileKind.CLAIM_ACK_277CA if "X214" in version else FileKind.STATUS_277
    if set_id == "837":
        if "X223" in version:
            return FileKind.CLAIM_837I
        if "X224" in version:
            return FileKind.CLAIM_837D
        return FileKind.CLAIM_837P
    return FileKind.UNKNOWN
