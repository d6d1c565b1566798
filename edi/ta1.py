"""TA1 reader: the interchange acknowledgment.

A TA1 answers for a whole ISA..IEA we sent (TA101 is our ISA13).  It may arrive
alone (ISA, TA1, IEA) or ahead of the functional groups of a 999 interchange;
either way every TA1 in the file is returned.  ``R`` with note ``025``
(duplicate control number) means the batch must go again under a new ISA13
(reliability test 16).
"""

from __future__ import annotations

from domain.acks import CONTROL_NUMBER_DIGITS, InterchangeAck
from domain.claim import Source
from edi.sniff import walk_envelopes
from edi.x12 import X12ParseError, detect_separators, iter_segments, parse_date

TA1_CODES = frozenset({"A", "E", "R"})


def read_ta1(text: str, source: str = "<ta1>") -> tuple[InterchangeAck, ...]:
    """Every TA1 in ``text``; raises ``X12ParseError`` for an unreadable file or a file without a TA1."""
    separators = detect_separators(text)
    acks: list[InterchangeAck] = []
    for envelope, seg in walk_envelopes(
        iter_segments(text, separators), source=source, check_trailer_numbers=False
    ):
        if seg.id != "TA1":
            continue
        control, code = seg.get(1), seg.get(4)
        if not control.isdigit() or code not in TA1_CODES:
            raise X12ParseError(
                "TA1 without a control number or an A/E/R code", segment_index=seg.index, source=source
            )
        if len(control) > CONTROL_NUMBER_DIGITS:
            raise X12ParseError(
                f"TA101 has more than the {CONTROL_NUMBER_DIGITS} digits of an interchange control number",
                segment_index=seg.index,
                source=source,
            )
        try:
            when = parse_date("20" + seg.get(2)) if len(seg.get(2)) == 6 else None
        except X12ParseError:
            when = None
        acks.append(
            InterchangeAck(
                control_number=control,
                interchange_date=when,
                interchange_time=seg.get(3),
                code=code,
                note_code=seg.get(5),
                envelope=envelope,
                source=Source(source, seg.index),
            )
        )
    if not acks:
        raise X12ParseError("no TA1 segment in the file", source=source)
    return tuple(acks)
