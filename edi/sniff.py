"""What an inbound file is, and a checked walk through its envelopes.

``sniff`` answers "TA1, 999, 277CA, 835 or 837?" from the ISA/GS/ST (or TA1) at
the top of a file, without reading the rest.  ``walk_envelopes`` is what every
reader in ``edi/`` iterates: it checks the ISA/GS/ST nesting and the SE, GE and
IEA trailers *as it streams*, so a reader never sees a transaction set whose SE
count or control number is wrong, and a file cut before its IEA raises at the
end instead of yielding a believable prefix (reliability tests 13, 24, 29, 30).

Errors are ``EnvelopeError`` (an ``X12ParseError``) that carry the level
(interchange, group, set) and the code a TA1 (TA105) or 999 (AK905 / IK502)
would use to answer them, so the sandbox clearinghouse can reply in kind.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from domain.acks import Envelope
from edi.x12 import Segment, X12ParseError, detect_separators, iter_segments

# TA105 interchange note codes used here.
TA1_CONTROL_MISMATCH = "001"
TA1_GROUP_COUNT = "021"
TA1_CONTROL_STRUCTURE = "022"
TA1_END_OF_FILE = "023"
TA1_CONTENT = "024"
# AK905 / IK502 codes used here.
GROUP_TRAILER_MISSING = "2"
GROUP_CONTROL_MISMATCH = "3"
GROUP_SET_COUNT = "4"
SET_TRAILER_MISSING = "2"
SET_CONTROL_MISMATCH = "3"
SET_SEGMENT_COUNT = "4"
SET_CONTROL_NOT_UNIQUE = "23"


class EnvelopeError(X12ParseError):
    """The envelope structure is broken; ``level`` says which envelope, ``code`` how."""

    def __init__(self, message: str, *, level: str, code: str, segment_index: int | None, source: str | None):
        super().__init__(message, segment_index=segment_index, source=source)
        self.level = level  # "interchange", "group" or "set"
        self.code = code  # TA105 for an interchange, AK905/IK502 for a group or set


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


def sniff(text: str, *, source: str = "<x12>") -> Sniffed:
    """Classify an interchange by its first TA1 or ST; raises ``X12ParseError`` if it has neither."""
    separators = detect_separators(text)
    envelope: Envelope | None = None
    for seg in iter_segments(text, separators):
        if seg.id == "ISA":
            envelope = _interchange_envelope(seg, source)
        elif seg.id == "GS" and envelope is not None:
            envelope = _group_envelope(envelope, seg)
        elif seg.id == "TA1" and envelope is not None:
            return Sniffed(FileKind.TA1, envelope, "")
        elif seg.id == "ST" and envelope is not None:
            version = seg.get(3) or envelope.version
            return Sniffed(_kind(seg.get(1), version), envelope, version)
        if seg.index > 4:
            break
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


def _interchange_envelope(isa: Segment, source: str) -> Envelope:
    if len(isa.elements) != 17:
        raise EnvelopeError(
            f"ISA has {len(isa.elements) - 1} elements, expected 16",
            level="interchange",
            code=TA1_CONTROL_STRUCTURE,
            segment_index=isa.index,
            source=source,
        )
    return Envelope(
        sender_qualifier=isa.get(5).strip(),
        sender_id=isa.get(6).strip(),
        receiver_qualifier=isa.get(7).strip(),
        receiver_id=isa.get(8).strip(),
        interchange_control_number=isa.get(13).strip(),
        usage=isa.get(15).strip(),
    )


def _group_envelope(interchange: Envelope, gs: Segment) -> Envelope:
    return Envelope(
        sender_qualifier=interchange.sender_qualifier,
        sender_id=interchange.sender_id,
        receiver_qualifier=interchange.receiver_qualifier,
        receiver_id=interchange.receiver_id,
        interchange_control_number=interchange.interchange_control_number,
        usage=interchange.usage,
        functional_id=gs.get(1),
        group_sender=gs.get(2),
        group_receiver=gs.get(3),
        group_control_number=gs.get(6),
        version=gs.get(8),
    )


def _count(seg: Segment, position: int) -> int | None:
    value = seg.get(position)
    return int(value) if value.isdigit() else None


def walk_envelopes(
    segments: Iterable[Segment], *, source: str = "<x12>", check_trailer_numbers: bool = True
) -> Iterator[tuple[Envelope, Segment]]:
    """Yield (envelope, segment) for every TA1 and every segment from ST to SE.

    ISA, GS, GE and IEA are consumed here.  SE is yielded only after its count and
    control number were checked.  ``check_trailer_numbers=False`` tolerates GE/IEA
    counts and control numbers that disagree with their headers (some
    clearinghouses' acknowledgments do; the set-level checks stay strict).
    """

    def fail(message: str, level: str, code: str, seg: Segment | None) -> EnvelopeError:
        return EnvelopeError(
            message, level=level, code=code, segment_index=seg.index if seg else None, source=source
        )

    interchange: Envelope | None = None
    isa: Segment | None = None
    group: Envelope | None = None
    gs: Segment | None = None
    st: Segment | None = None
    groups_seen = sets_seen = set_segments = 0
    set_numbers: set[str] = set()
    interchanges_closed = 0
    last: Segment | None = None
    for seg in segments:
        last = seg
        sid = seg.id
        if sid == "ISA":
            if isa is not None:
                raise fail(
                    "ISA before the IEA of the previous interchange", "interchange", TA1_END_OF_FILE, seg
                )
            isa, interchange, groups_seen = seg, _interchange_envelope(seg, source), 0
        elif isa is None or interchange is None:
            raise fail(f"{sid} outside an interchange", "interchange", TA1_CONTROL_STRUCTURE, seg)
        elif sid == "IEA":
            if gs is not None:
                raise fail("IEA before the GE of an open group", "interchange", TA1_END_OF_FILE, seg)
            if check_trailer_numbers and _count(seg, 1) != groups_seen:
                raise fail(
                    f"IEA01 says {seg.get(1)!r} groups, found {groups_seen}",
                    "interchange",
                    TA1_GROUP_COUNT,
                    seg,
                )
            if check_trailer_numbers and seg.get(2).strip() != interchange.interchange_control_number:
                raise fail("IEA02 does not match ISA13", "interchange", TA1_CONTROL_MISMATCH, seg)
            isa = interchange = None
            interchanges_closed += 1
        elif sid == "TA1":
            if gs is not None:
                raise fail("TA1 inside a functional group", "interchange", TA1_CONTROL_STRUCTURE, seg)
            yield interchange, seg
        elif sid == "GS":
            if gs is not None:
                raise fail("GS before the GE of the previous group", "group", GROUP_TRAILER_MISSING, seg)
            gs, group = seg, _group_envelope(interchange, seg)
            groups_seen += 1
            sets_seen = 0
            set_numbers = set()
        elif gs is None or group is None:
            raise fail(f"{sid} outside a functional group", "interchange", TA1_CONTENT, seg)
        elif sid == "GE":
            if st is not None:
                raise fail("GE before the SE of an open transaction set", "set", SET_TRAILER_MISSING, seg)
            if check_trailer_numbers and _count(seg, 1) != sets_seen:
                raise fail(f"GE01 says {seg.get(1)!r} sets, found {sets_seen}", "group", GROUP_SET_COUNT, seg)
            if check_trailer_numbers and seg.get(2) != group.group_control_number:
                raise fail("GE02 does not match GS06", "group", GROUP_CONTROL_MISMATCH, seg)
            gs = group = None
        elif sid == "ST":
            if st is not None:
                raise fail("ST before the SE of the previous set", "set", SET_TRAILER_MISSING, seg)
            if seg.get(2) in set_numbers:
                raise fail("ST02 repeats a control number of this group", "set", SET_CONTROL_NOT_UNIQUE, seg)
            set_numbers.add(seg.get(2))
            st, set_segments = seg, 1
            yield group, seg
        elif st is None:
            raise fail(f"{sid} outside a transaction set", "group", GROUP_TRAILER_MISSING, seg)
        elif sid == "SE":
            set_segments += 1
            if _count(seg, 1) != set_segments:
                raise fail(
                    f"SE01 says {seg.get(1)!r} segments, counted {set_segments}",
                    "set",
                    SET_SEGMENT_COUNT,
                    seg,
                )
            if seg.get(2) != st.get(2):
                raise fail("SE02 does not match ST02", "set", SET_CONTROL_MISMATCH, seg)
            st = None
            sets_seen += 1
            yield group, seg
        else:
            set_segments += 1
            yield group, seg
    if isa is not None or interchanges_closed == 0:
        raise fail("file ends before its IEA (truncated?)", "interchange", TA1_END_OF_FILE, last)
