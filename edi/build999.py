"""999 (005010X231A1) builder, and the envelope writer the other builders share.

``build_999`` serializes a ``FunctionalAck`` record, so what the sandbox sends is
exactly what ``read_999`` gives back.  ``acknowledge_group`` makes that record
for a received functional group: every set accepted, or the named ones
rejected with IK5 R.  Segments written: ST, AK1, per set AK2 [IK3 [IK4]] IK5,
AK9, SE, inside one GS*FA / ISA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from domain.acks import Envelope, FunctionalAck, SegmentError, SetAck
from edi.x12 import DEFAULT_SEPARATORS, Separators, serialize_segment

ACK_VERSION = "005010X231A1"
Elements = list[str]


def interchange_text(
    envelope: Envelope,
    transactions: Sequence[Sequence[Elements]],
    *,
    created: datetime,
    separators: Separators = DEFAULT_SEPARATORS,
    line_breaks: bool = True,
) -> str:
    """ISA, GS, each transaction (ST..body; SE is added with its count), GE, IEA."""
    if not envelope.interchange_control_number.isdigit() or len(envelope.interchange_control_number) > 9:
        raise ValueError("ISA13 must be at most 9 digits")
    end = "\n" if line_breaks else ""
    isa = separators.element.join(
        [
            "ISA", "00", " " * 10, "00", " " * 10,
            envelope.sender_qualifier.ljust(2), envelope.sender_id.ljust(15)[:15],
            envelope.receiver_qualifier.ljust(2), envelope.receiver_id.ljust(15)[:15],
            created.strftime("%y%m%d"), created.strftime("%H%M"), separators.repetition, "00501",
            envelope.interchange_control_number.zfill(9), "0", envelope.usage or "P", separators.component,
        ]
    )  # fmt: skip
    out = [isa + separators.segment + end]

    def put(elements: Sequence[str]) -> None:
        out.append(serialize_segment(list(elements), separators) + end)

    put(
        [
            "GS", envelope.functional_id, envelope.group_sender, envelope.group_receiver,
            created.strftime("%Y%m%d"), created.strftime("%H%M"), envelope.group_control_number, "X", envelope.version,
        ]
    )  # fmt: skip
    for transaction in transactions:
        for elements in transaction:
            put(elements)
        put(["SE", str(len(transaction) + 1), transaction[0][2]])
    put(["GE", str(len(transactions)), envelope.group_control_number])
    put(["IEA", "1", envelope.interchange_control_number.zfill(9)])
    return "".join(out)


def _segment_error_elements(error: SegmentError, separators: Separators) -> list[Elements]:
    rows = [["IK3", error.segment_id, str(error.position), error.loop_id, error.code]]
    for element in error.element_errors:
        rows.append(
            [
                "IK4",
                element.position.replace(":", separators.component),
                element.element_reference,
                element.code,
                element.bad_value,
            ]
        )
    return rows


def build_999(ack: FunctionalAck, *, created: datetime, separators: Separators = DEFAULT_SEPARATORS) -> str:
    """The 999 interchange for one acknowledged functional group."""
    envelope = ack.envelope
    if envelope.functional_id != "FA" or envelope.version != ACK_VERSION:
        raise ValueError("a 999 envelope needs GS01 FA and GS08 " + ACK_VERSION)
    body: list[Elements] = [
        ["ST", "999", ack.control_number, ACK_VERSION],
        ["AK1", ack.functional_id, ack.group_control_number, ack.version],
    ]
    for set_ack in ack.sets:
        body.append(["AK2", set_ack.set_id, set_ack.control_number, set_ack.convention])
        for error in set_ack.segment_errors:
            body.extend(_segment_error_elements(error, separators))
        body.append(["IK5", set_ack.code, *set_ack.reasons])
    body.append(["AK9", ack.code, str(ack.included), str(ack.received), str(ack.accepted), *ack.reasons])
    return interchange_text(envelope, [body], created=created, separators=separators)


def reply_envelope(received: Envelope, *, control_number: int, functional_id: str, version: str) -> Envelope:
    """The envelope of an answer: sender and receiver swapped, our own control numbers."""
    return Envelope(
        sender_qualifier=received.receiver_qualifier,
        sender_id=received.receiver_id,
        receiver_qualifier=received.sender_qualifier,
        receiver_id=received.sender_id,
        interchange_control_number=f"{control_number:09d}",
        usage=received.usage,
        functional_id=functional_id,
        group_sender=received.group_receiver,
        group_receiver=received.group_sender,
        group_control_number=str(control_number),
        version=version,
    )


def acknowledge_group(
    received: Envelope,
    sets: Sequence[tuple[str, str, str]],
    *,
    control_number: int,
    rejected: Mapping[str, tuple[SegmentError, ...]] | None = None,
    group_reasons: tuple[str, ...] = (),
) -> FunctionalAck:
    """The 999 record for a received group.

    ``sets`` are (ST01, ST02, ST03) of the received sets; ``rejected`` maps an ST02
    to the segment errors that reject it (IK5 R, reason 5; an empty tuple means
    rejected for a set-level reason, IK5 R without IK3).  AK9 is A when all sets
    are accepted, R when none is, P otherwise; ``group_reasons`` force R.
    """
    rejected = rejected or {}
    set_acks = []
    for set_id, number, convention in sets:
        if number in rejected:
            errors = rejected[number]
            set_acks.append(SetAck(set_id, number, convention, "R", ("5",) if errors else ("2",), errors))
        else:
            set_acks.append(SetAck(set_id, number, convention, "A"))
    accepted = sum(1 for s in set_acks if not s.rejected)
    if group_reasons or accepted == 0:
        code, accepted = "R", 0
    else:
        code = "A" if accepted == len(set_acks) else "P"
    return FunctionalAck(
        envelope=reply_envelope(
            received, control_number=control_number, functional_id="FA", version=ACK_VERSION
        ),
        control_number="0001",
        functional_id=received.functional_id,
        group_control_number=received.group_control_number,
        version=received.version,
        code=code,
        included=len(set_acks),
        received=len(set_acks),
        accepted=accepted,
        reasons=group_reasons,
        sets=tuple(set_acks),
    )
