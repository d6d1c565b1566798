"""What the clearinghouse and the payer say about the files we sent.

Three answers come back before any money does:

- **TA1** (interchange acknowledgment): the ISA/IEA envelope itself was accepted,
  accepted with errors, or rejected (``TA105`` note code, e.g. ``025`` duplicate
  interchange control number).
- **999** (005010X231A1 implementation acknowledgment): per functional group (AK1
  names our GS06) and per transaction set (AK2 names our ST02), accepted or
  rejected, with the segment (IK3) and element (IK4) errors.
- **277CA** (005010X214 claim acknowledgment): per claim, accepted into
  adjudication or rejected, keyed by our patient control number (claim-level TRN02)
  and, once accepted, the payer's claim control number (REF*1K).

Every record carries the ``Envelope`` it arrived in, so the caller can match a 999
to the batch it answers by GS06 *and* the GS02/GS03 pair (reliability test 17).
Fields that may hold patient data are ``repr=False`` so they stay out of logs and
tracebacks; ``source`` does not take part in equality (two readings of the same
answer are equal wherever they came from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.claim import Source

ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})
"""277CA STC01-1 categories meaning the claim went on (forwarded, received, accepted, split)."""
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})
"""277CA categories meaning the claim was returned: fix it and send it again."""

CONTROL_NUMBER_DIGITS = 9
"""ISA13 and GS06 are at most nine digits (N0 9/9 and 1/9): a TA101 or AK102 longer than that
names nothing we ever sent, and the readers refuse it rather than let a database choke on it."""
STORED_LENGTHS: dict[str, int] = {
    "set_control_number": 9,  # AK202 (ST02 is AN 4/9)
    "code": 8,  # TA104, IK501, AK901, STC01-1
    "payer_claim_number": 50,  # 277CA REF*1K
}
"""The longest text of each acknowledgement field the ledger keeps (``ledger/models.py``; a test
holds the two equal)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """The ISA (and GS, when there is one) around a transaction.

    Identifiers are stripped of the ISA's space padding.  ``functional_id``,
    ``group_*`` and ``version`` are empty for segments outside a group (TA1).
    """

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    interchange_control_number: str
    usage: str = "P"  # ISA15: P production, T test
    functional_id: str = ""  # GS01: HC 837, HP 835, FA 999, HN 277
    group_sender: str = ""  # GS02
    group_receiver: str = ""  # GS03
    group_control_number: str = ""  # GS06
    version: str = ""  # GS08, e.g. 005010X222A1


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """One TA1: the fate of the interchange whose ISA13 is ``control_number``."""

    control_number: str  # TA101: the ISA13 being acknowledged
    interchange_date: date | None  # TA102
    interchange_time: str  # TA103, HHMM
    code: str  # TA104: A accepted, E accepted with errors, R rejected
    note_code: str  # TA105: 000 no error, 001 ISA13/IEA02 mismatch, 025 duplicate ...
    envelope: Envelope
    source: Source | None = field(default=None, compare=False)

    @property
    def rejected(self) -> bool:
        return self.code == "R"


@dataclass(frozen=True, slots=True)
class ElementError:
    """IK4: an element in error inside the segment named by the enclosing IK3."""

    position: str  # IK401, element position, "2" or "2:1" for a component
    element_reference: str  # IK402, the data element dictionary number
    code: str  # IK403: 1 required missing, 7 invalid code value, 8 invalid date ...
    bad_value: str = field(default="", repr=False)  # IK404 may copy patient data


@dataclass(frozen=True, slots=True)
class SegmentError:
    """IK3: a segment in error, by its id and its position in the transaction set."""

    segment_id: str  # IK301
    position: int  # IK302: 1-based count from ST
    loop_id: str  # IK303, e.g. 2010BA
    code: str  # IK304: 1 unrecognized, 3 required missing, 8 has data element errors ...
    element_errors: tuple[ElementError, ...] = ()


@dataclass(frozen=True, slots=True)
class SetAck:
    """AK2 ... IK5: what happened to one transaction set we sent."""

    set_id: str  # AK201, e.g. 837
    control_number: str  # AK202: our ST02
    convention: str  # AK203: our ST03, e.g. 005010X222A1
    code: str  # IK501: A accepted, E accepted with errors, R rejected (also M, W, X)
    reasons: tuple[str, ...] = ()  # IK502-506: 5 one or more segments in error ...
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def rejected(self) -> bool:
        return self.code not in ("A", "E")


@dataclass(frozen=True, slots=True)
class FunctionalAck:
    """One 999 (or 997) transaction set: the answer for one functional group we sent."""

    envelope: Envelope  # the 999's own envelope: sender is the clearinghouse
    control_number: str  # the 999's ST02
    functional_id: str  # AK101: GS01 of the acknowledged group, HC for an 837
    group_control_number: str  # AK102: GS06 of the acknowledged group
    version: str  # AK103: GS08 of the acknowledged group
    code: str  # AK901: A accepted, E accepted with errors, P partially accepted, R rejected
    included: int  # AK902: sets in the group
    received: int  # AK903: sets received
    accepted: int  # AK904: sets accepted
    reasons: tuple[str, ...] = ()  # AK905-909
    sets: tuple[SetAck, ...] = ()
    source: Source | None = field(default=None, compare=False)

    @property
    def rejected_sets(self) -> tuple[SetAck, ...]:
        """Sets to send again.  When the whole group is refused, every set is."""
        return tuple(s for s in self.sets if s.rejected)

    @property
    def group_rejected(self) -> bool:
        return self.code == "R"


@dataclass(frozen=True, slots=True)
class StatusCode:
    """STC01 (or STC10/STC11): health care claim status category, status, entity."""

    category: str  # A1, A2, A3, A6, A7, A8 ...
    status: str  # claim status code, e.g. 20 accepted for processing, 562 ...
    entity: str = ""  # entity identifier code, e.g. 85 billing provider

    @property
    def accepted(self) -> bool:
        return self.category in ACCEPTED_CATEGORIES

    @property
    def rejected(self) -> bool:
        return self.category in REJECTED_CATEGORIES


@dataclass(frozen=True, slots=True)
class LineStatus:
    """Loop 2220D: the status of one service line, when the payer reports lines."""

    line_id: str | None  # REF*FJ: our REF*6R line item control number
    procedure_code: str
    charge: Decimal | None
    statuses: tuple[StatusCode, ...]
    service_date: date | None = None


@dataclass(frozen=True, slots=True)
class ClaimStatus:
    """Loop 2200D of a 277CA: one claim's acknowledgment."""

    patient_control_number: str  # TRN02: our CLM01
    payer_claim_number: str | None  # REF*1K
    clearinghouse_trace: str | None  # REF*D9
    statuses: tuple[StatusCode, ...]  # every STC, in file order
    status_date: date | None  # STC02 of the first STC
    total_charge: Decimal | None  # STC04 of the first STC
    service_start: date | None = None  # DTP*472 (D8 or the start of RD8)
    service_end: date | None = None
    member_id: str = field(default="", repr=False)  # NM109 of the QC/IL name
    lines: tuple[LineStatus, ...] = ()
    source: Source | None = field(default=None, compare=False)

    @property
    def category(self) -> str:
        return self.statuses[0].category if self.statuses else ""

    @property
    def rejected(self) -> bool:
        """A claim is rejected when any claim-level status says so."""
        return any(s.rejected for s in self.statuses)

    @property
    def accepted(self) -> bool:
        return bool(self.statuses) and not self.rejected and any(s.accepted for s in self.statuses)


@dataclass(frozen=True, slots=True)
class ClaimStatusReport:
    """One 277CA transaction set."""

    envelope: Envelope
    control_number: str  # ST02
    reference: str  # BHT03
    created: date | None  # BHT04
    payer_name: str  # 2100A NM103
    batch_reference: str | None  # 2200B TRN02: the BHT03 of the 837 acknowledged
    batch_statuses: tuple[StatusCode, ...]
    claims: tuple[ClaimStatus, ...]
    payer_id: str = ""  # 2100A NM109 when NM101 is PR (empty when a clearinghouse speaks)
    source: Source | None = field(default=None, compare=False)
