"""X12 envelope mechanics shared by every transaction we read or write.

The separators of an interchange are not fixed: ISA is exactly 106 characters and
positions 3, 104 and 105 name the element, repetition/component and segment
separators.  Everything else is read with those.  Segment terminators may be
followed by CR/LF or other whitespace, which is not data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

ISA_LENGTH = 106


class X12ParseError(ValueError):
    """Input that is not a readable X12 interchange; names the segment position."""

    def __init__(self, message: str, *, segment_index: int | None = None, source: str | None = None):
        where = []
        if source:
            where.append(source)
        if segment_index is not None:
            where.append(f"segment {segment_index}")
        prefix = ": ".join([" ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)
        self.segment_index = segment_index
        self.source = source


@dataclass(frozen=True, slots=True)
class Separators:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def all(self) -> str:
        return self.element + self.component + self.repetition + self.segment


DEFAULT_SEPARATORS = Separators()


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its id, its elements (index 1 = first element), its position."""

    elements: tuple[str, ...]
    index: int  # 1-based ordinal of the segment in the interchange

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, position: int, default: str = "") -> str:
        """Element ``position`` (1-based as in the guide: NM103 is ``get(3)``)."""
        if position < len(self.elements):
            return self.elements[position]
        return default

    def components(self, position: int, separators: Separators) -> tuple[str, ...]:
        return tuple(self.get(position).split(separators.component))


def detect_separators(text: str) -> Separators:
    """Read the separators from the ISA segment at the start of ``text``."""
    start = text.find("ISA")
    if start < 0:
        raise X12ParseError("no ISA segment: not an X12 interchange")
    if text[:start].strip():
        raise X12ParseError("data before the ISA segment")
    isa = text[start : start + ISA_LENGTH]
    if len(isa) < ISA_LENGTH:
        raise X12ParseError(f"ISA segment is {len(isa)} characters, expected {ISA_LENGTH}")
    element = isa[3]
    if isa.count(element) != 16:
        raise X12ParseError("ISA segment does not have 16 elements of fixed width")
    segment = isa[105]
    component = isa[104]
    if len({element, component, segment}) != 3 or segment.isalnum() or element.isalnum() or component.isalnum():
        raise X12ParseError("ISA separators are not distinct punctuation")
    taken = {element, component, segment}
    repetition = isa[82]
    if repetition.isalnum() or repetition == " ":
        # 4010 puts a standards id ("U") here: no repetition separator; pick one nothing else uses
        repetition = next(ch for ch in "^|!`\x1f" if ch not in taken)
    elif repetition in taken:
        raise X12ParseError("ISA11 repetition separator is the same as another separator")
    return Separators(element=element, component=component, repetition=repetition, segment=segment)


X12_DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")


def parse_amount(value: str) -> Decimal:
    """An X12 R (decimal) element as an exact ``Decimal``: no exponent, at most 18 digits.

    Error messages never quote the value: a misaligned element may hold a member's data.
    """
    if not X12_DECIMAL.fullmatch(value) or sum(ch.isdigit() for ch in value) > 18:
        raise X12ParseError("not an X12 decimal amount")
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # unreachable after the pattern, kept as a guard
        raise X12ParseError("not an X12 decimal amount") from exc


def format_amount(amount: Decimal) -> str:
    """Write money as the guide wants: ``100``, ``100.5``, ``100.55``, ``-5``."""
    quantized = amount.quantize(Decimal("0.01"))
    if quantized != amount:
        raise ValueError(f"amount {amount} has more than 2 decimal places")
    text = format(quantized, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_quantity(quantity: Decimal) -> str:
    """Units (SV104) without trailing zeros: ``1``, ``1.5``."""
    text = format(quantity.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_date(value: str) -> date:
    """CCYYMMDD (D8) as a ``date``."""
    if len(value) != 8 or not value.isdigit():
        raise X12ParseError("not a CCYYMMDD date")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as exc:
        raise X12ParseError("not a valid calendar date") from exc


def format_date(value: date) -> str:
    return value.strftime("%Y%m%d")


def serialize_segment(elements: list[str] | tuple[str, ...], separators: Separators = DEFAULT_SEPARATORS) -> str:
    """Join elements into one segment, dropping trailing empty elements.

    Data that contains a separator is a bug upstream (the parser refuses or
    cleans it); we refuse rather than escape silently.
    """
    items = list(elements)
    while len(items) > 1 and items[-1] == "":
        items.pop()
    reserved = separators.element + separators.segment + separators.repetition
    for item in items[1:]:
        if any(ch in item for ch in reserved):
            raise ValueError(f"{items[0]} element contains a separator character")
    return separators.element.join(items) + separators.segment


def composite(parts: list[str] | tuple[str, ...], separators: Separators = DEFAULT_SEPARATORS) -> str:
    """Join a composite element, dropping trailing empty components."""
    items = list(parts)
    while items and items[-1] == "":
        items.pop()
    for item in items:
        if separators.component in item:
            raise ValueError("component contains the component separator")
    return separators.component.join(items)


def interchange_complete(text: str) -> bool:
    """True when the text ends with an IEA trailer: a file still being written has none."""
    try:
        seps = detect_separators(text)
    except X12ParseError:
        return False
    body = text.rstrip("\r\n\t \x1d")
    if not body.endswith(seps.segment):
        return False
    last = body[:-1].rsplit(seps.segment, 1)[-1].strip("\r\n\t \x1d")
    return last.startswith("IEA" + seps.element)
