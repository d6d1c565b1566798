"""999 (005010X231A1) reader on the X12 engine, also reading the older 997 the same way.

One ``FunctionalAck`` per ST..SE: it acknowledges one functional group we sent (AK1: GS01
and GS06) and, inside it, each transaction set (AK2: ST02) with IK5 accepted/rejected and
the segment (IK3) and element (IK4) errors.  The 999's own envelope is kept so the caller
can check GS02/GS03 as well as GS06 before believing it is the answer to a given batch
(reliability test 17).

Trailer control numbers (GE02, IEA02) that disagree with their headers are tolerated here:
the content is what matters and some clearinghouses get them wrong.  SE count and a file
without trailers are still errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

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
from edi.engine import TransactionReader, run
from edi.tokenizer import SegmentSource, X12Input, segment_source
from edi.x12 import X12ParseError


def read_999(text: X12Input | SegmentSource, source: str = "<999>") -> tuple[FunctionalAck, ...]:
    """Every 999 (or 997) transaction set in ``text``; raises ``X12ParseError`` if unreadable."""
    reader = FunctionalAckReader()
    run(segment_source(text, source), reader)
    return tuple(reader.acks)


def _get(elements: list[str], position: int) -> str:
    return elements[position] if position < len(elements) else ""


@dataclass(slots=True)
class _SetAnswer:
    ak2: list[str]
    code: str = ""
    reasons: tuple[str, ...] = ()
    segment_errors: list[SegmentError] = field(default_factory=list)


class FunctionalAckReader(TransactionReader):
    TRANSACTIONS: ClassVar[frozenset[str]] = frozenset({"999", "997"})
    check_trailer_numbers = False
    # 997 segments carry the same elements under older names (AK3/AK4/AK5)
    HANDLERS: ClassVar[dict[str, str]] = {
        "AK1": "on_ak1", "AK2": "ak2", "IK3": "segment_error", "AK3": "segment_error",
        "IK4": "element_error", "AK4": "element_error", "IK5": "set_answer", "AK5": "set_answer", "AK9": "on_ak9",
    }

    def __init__(self) -> None:
        self.acks: list[FunctionalAck] = []

    def fail(self, number: int, message: str) -> X12ParseError:
        return X12ParseError(message, segment_index=number, source=self.source)

    def other_set(self, st: list[str], number: int) -> None:
        raise self.fail(number, "transaction set is not a 999 or 997")

    def begin_set(self, envelope: Envelope, st: list[str], number: int) -> None:
        self.envelope, self.control_number, self.st_number = envelope, _get(st, 2), number
        self.ak1: list[str] | None = None
        self.ak9: tuple[list[str], int] | None = None
        self.sets: list[_SetAnswer] = []

    def on_ak1(self, e: list[str], number: int) -> None:
        group = _get(e, 2)
        if not group.isdigit() or len(group) > CONTROL_NUMBER_DIGITS:
            raise self.fail(number, f"AK1: AK102 is not a group control number (1 to {CONTROL_NUMBER_DIGITS} digits)")
        self.ak1 = e

    def bounded(self, e: list[str], position: int, stored: str, number: int) -> None:
        """A value longer than the ledger keeps names nothing we sent: refuse it while reading."""
        if len(_get(e, position)) > STORED_LENGTHS[stored]:
            raise self.fail(number, f"{e[0]}: {e[0]}{position:02d} is longer than the {STORED_LENGTHS[stored]} "
                            "characters the ledger keeps")

    def ak2(self, e: list[str], number: int) -> None:
        if self.ak1 is None:
            raise self.fail(number, "AK2: AK2 before AK1")
        self.bounded(e, 2, "set_control_number", number)
        self.sets.append(_SetAnswer(e))

    def current(self, e: list[str], number: int) -> _SetAnswer:
        if not self.sets:
            raise self.fail(number, f"{e[0]}: {e[0]} outside an AK2 loop")
        return self.sets[-1]

    def segment_error(self, e: list[str], number: int) -> None:
        position = _get(e, 2)
        self.current(e, number).segment_errors.append(
            SegmentError(_get(e, 1), int(position) if position.isdigit() else 0, _get(e, 3), _get(e, 4)))

    def element_error(self, e: list[str], number: int) -> None:
        current = self.current(e, number)
        if not current.segment_errors:
            raise self.fail(number, f"{e[0]}: {e[0]} without the IK3 it belongs to")
        last = current.segment_errors[-1]
        element = ElementError(_get(e, 1), _get(e, 2), _get(e, 3), _get(e, 4))
        current.segment_errors[-1] = replace(last, element_errors=last.element_errors + (element,))

    def set_answer(self, e: list[str], number: int) -> None:
        current = self.current(e, number)
        if not _get(e, 1):
            raise self.fail(number, f"{e[0]}: IK501 is required")
        self.bounded(e, 1, "code", number)
        current.code = _get(e, 1)
        current.reasons = tuple(r for r in e[2:7] if r)

    def on_ak9(self, e: list[str], number: int) -> None:
        self.bounded(e, 1, "code", number)
        self.ak9 = (e, number)

    def count(self, e: list[str], position: int, number: int) -> int:
        value = _get(e, position)
        if not value.isdigit():
            raise self.fail(number, f"{e[0]}{position:02d} is not a count")
        return int(value)

    def end_set(self, se: list[str], number: int) -> None:
        if self.ak1 is None or self.ak9 is None:
            raise self.fail(number, "SE: acknowledgment without AK1 or AK9")
        unanswered = [s for s in self.sets if not s.code]
        if unanswered:
            raise self.fail(number, "AK2: AK2 without its IK5")
        ak9, at = self.ak9
        if not _get(ak9, 1):
            raise self.fail(at, "AK9: AK901 is required")
        ak1 = self.ak1
        self.acks.append(FunctionalAck(
            envelope=self.envelope, control_number=self.control_number, functional_id=_get(ak1, 1),
            group_control_number=_get(ak1, 2), version=_get(ak1, 3), code=_get(ak9, 1),
            included=self.count(ak9, 2, at), received=self.count(ak9, 3, at), accepted=self.count(ak9, 4, at),
            reasons=tuple(r for r in ak9[5:10] if r),
            sets=tuple(SetAck(_get(s.ak2, 1), _get(s.ak2, 2), _get(s.ak2, 3), s.code, s.reasons,
                              tuple(s.segment_errors)) for s in self.sets),
            source=Source(self.source, self.st_number),
        ))
