"""TA1 reader: the interchange acknowledgment, read by the X12 engine.

A TA1 answers for a whole ISA..IEA we sent (TA101 is our ISA13).  It may arrive alone
(ISA, TA1, IEA) or ahead of the functional groups of a 999 interchange; either way every
TA1 in the file is returned.  ``R`` with note ``025`` (duplicate control number) means the
batch must go again under a new ISA13 (reliability test 16).
"""

from __future__ import annotations

from typing import ClassVar

from domain.acks import CONTROL_NUMBER_DIGITS, Envelope, InterchangeAck
from domain.claim import Source
from edi.engine import TransactionReader, run
from edi.tokenizer import SegmentSource, X12Input, segment_source
from edi.x12 import X12ParseError, parse_date

TA1_CODES = frozenset({"A", "E", "R"})


class InterchangeAckReader(TransactionReader):
    TRANSACTIONS: ClassVar[frozenset[str]] = frozenset()
    check_trailer_numbers = False

    def __init__(self) -> None:
        self.acks: list[InterchangeAck] = []

    def other_set(self, st: list[str], number: int) -> None:
        """The groups after a TA1 are another reader's."""

    def interchange_ack(self, envelope: Envelope, ta1: list[str], number: int) -> None:
        def get(position: int) -> str:
            return ta1[position] if position < len(ta1) else ""

        control, code = get(1), get(4)
        if not control.isdigit() or code not in TA1_CODES:
            raise X12ParseError("TA1 without a control number or an A/E/R code", segment_index=number,
                                source=self.source)
        if len(control) > CONTROL_NUMBER_DIGITS:
            raise X12ParseError(
                f"TA101 has more than the {CONTROL_NUMBER_DIGITS} digits of an interchange control number",
                segment_index=number, source=self.source)
        try:
            when = parse_date("20" + get(2)) if len(get(2)) == 6 else None
        except X12ParseError:
            when = None
        self.acks.append(InterchangeAck(
            control_number=control, interchange_date=when, interchange_time=get(3), code=code,
            note_code=get(5), envelope=envelope, source=Source(self.source, number),
        ))


def read_ta1(text: X12Input | SegmentSource, source: str = "<ta1>") -> tuple[InterchangeAck, ...]:
    """Every TA1 in ``text``; raises ``X12ParseError`` for an unreadable file or a file without a TA1."""
    reader = InterchangeAckReader()
    run(segment_source(text, source), reader)
    if not reader.acks:
        raise X12ParseError("no TA1 segment in the file", source=source)
    return tuple(reader.acks)
