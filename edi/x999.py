"""999 (005010X231A1) reader, also reading the older 997 the same way.

One ``FunctionalAck`` per ST..SE: it acknowledges one functional group we sent
(AK1: GS01 and GS06) and, inside it, each transaction set (AK2: ST02) with IK5
accepted/rejected and the segment (IK3) and element (IK4) errors.  The 999's own
envelope is kept so the caller can check GS02/GS03 as well as GS06 before
believing it is the answer to a given batch (reliability test 17).

Trailer control numbers (GE02, IEA02) that disagree with their headers are
tolerated here: the content is what matters and some clearinghouses get them
wrong.  SE count and a file without trailers are still errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from domain.acks import (
    CONTROL_NUMBER_DIGITS,
    STORED_LENGTHS,
    ElementError,
    Envelope,
    FunctionalAck,
    SegmentError,
    SetAck,
)
from domain.claim import Source
from edi.sniff import walk_envelopes
from edi.x12 import Segment, X12ParseError, detect_separators, iter_segments

# 997 segments carry the same elements under older names.
_ALIASES = {"AK3": "IK3", "AK4": "IK4", "AK5": "IK5"}


def read_999(text: str, source: str = "<999>") -> tuple[FunctionalAck, ...]:
    """Every 999 (or 997) transaction set in ``text``; raises ``X12ParseError`` if unreadable."""
    separators = detect_separators(text)
    acks: list[FunctionalAck] = []
    reader: _AckBuilder | None = None
    for envelope, seg in walk_envelopes(
        iter_segments(text, separators), source=source, check_trailer_numbers=False
    ):
        if seg.id == "TA1":
            continue
        if seg.id == "ST":
            if seg.get(1) not in ("999", "997"):
                raise X12ParseError(
                    "transaction set is not a 999 or 997", segment_index=seg.index, source=source
                )
            reader = _AckBuilder(envelope, seg, source)
        elif reader is not None and seg.id == "SE":
            acks.append(reader.finish(seg))
            reader = None
        elif reader is not None:
            reader.add(seg)
    return tuple(acks)


def _count(seg: Segment, position: int, source: str) -> int:
    value = seg.get(position)
    if not value.isdigit():
        raise X12ParseError(f"{seg.id}{position:02d} is not a count", segment_index=seg.index, source=source)
    return int(value)


@dataclass(slots=True)
class _SetBuilder:
    ak2: Segment
    code: str = ""
    reasons: tuple[str, ...] = ()
    segment_errors: list[SegmentError] = field(default_factory=list)

    def build(self) -> SetAck:
        return SetAck(
            self.ak2.get(1),
            self.ak2.get(2),
            self.ak2.get(3),
            self.code,
            self.reasons,
            tuple(self.segment_errors),
        )


class _AckBuilder:
    def __init__(self, envelope: Envelope, st: Segment, source: str):
        self.envelope, self.st, self.source = envelope, st, source
        self.ak1: Segment | None = None
        self.ak9: Segment | None = None
        self.sets: list[_SetBuilder] = []

    def fail(self, seg: Segment, message: str) -> X12ParseError:
        return X12ParseError(f"{seg.id}: {message}", segment_index=seg.index, source=self.source)

    def add(self, seg: Segment) -> None:
        sid = _ALIASES.get(seg.id, seg.id)
        if sid == "AK1":
            group = seg.get(2)
            if not group.isdigit() or len(group) > CONTROL_NUMBER_DIGITS:
                raise self.fail(seg, f"AK102 is not a group control number (1 to {CONTROL_NUMBER_DIGITS} digits)")
            self.ak1 = seg
        elif sid == "AK2":
            if self.ak1 is None:
                raise self.fail(seg, "AK2 before AK1")
            self._bounded(seg, 2, "set_control_number")
            self.sets.append(_SetBuilder(seg))
        elif sid in ("IK3", "IK4", "IK5"):
            if not self.sets:
                raise self.fail(seg, f"{seg.id} outside an AK2 loop")
            current = self.sets[-1]
            if sid == "IK3":
                position = seg.get(2)
                current.segment_errors.append(
                    SegmentError(
                        seg.get(1), int(position) if position.isdigit() else 0, seg.get(3), seg.get(4)
                    )
                )
            elif sid == "IK4":
                if not current.segment_errors:
                    raise self.fail(seg, f"{seg.id} without the IK3 it belongs to")
                last = current.segment_errors[-1]
                element = ElementError(seg.get(1), seg.get(2), seg.get(3), seg.get(4))
                current.segment_errors[-1] = replace(last, element_errors=last.element_errors + (element,))
            else:
                if not seg.get(1):
                    raise self.fail(seg, "IK501 is required")
                self._bounded(seg, 1, "code")
                current.code = seg.get(1)
                current.reasons = tuple(r for r in seg.elements[2:7] if r)
        elif sid == "AK9":
            self._bounded(seg, 1, "code")
            self.ak9 = seg

    def _bounded(self, seg: Segment, position: int, field: str) -> None:
        if len(seg.get(position)) > STORED_LENGTHS[field]:
            raise self.fail(seg, f"{seg.id}{position:02d} is longer than the {STORED_LENGTHS[field]} "
                            "characters the ledger keeps")

    def finish(self, se: Segment) -> FunctionalAck:
        if self.ak1 is None or self.ak9 is None:
            raise self.fail(se, "acknowledgment without AK1 or AK9")
        unanswered = [s for s in self.sets if not s.code]
        if unanswered:
            raise self.fail(unanswered[0].ak2, "AK2 without its IK5")
        ak9 = self.ak9
        if not ak9.get(1):
            raise self.fail(ak9, "AK901 is required")
        return FunctionalAck(
            envelope=self.envelope,
            control_number=self.st.get(2),
            functional_id=self.ak1.get(1),
            group_control_number=self.ak1.get(2),
            version=self.ak1.get(3),
            code=ak9.get(1),
            included=_count(ak9, 2, self.source),
            received=_count(ak9, 3, self.source),
            accepted=_count(ak9, 4, self.source),
            reasons=tuple(r for r in ak9.elements[5:10] if r),
            sets=tuple(s.build() for s in self.sets),
            source=Source(self.source, self.st.index),
        )
