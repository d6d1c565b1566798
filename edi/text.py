"""Make PM text safe to write into X12 data elements.

PM exports carry names like "Zoë O’Brien" or "Muñoz–Pérez".  An 837P is read by
systems that expect the X12 basic character set, so names and addresses are
written uppercase ASCII: accents are dropped (NFKD), a few letters without a
decomposition are spelled out (ß → SS, Ø → O), typographic punctuation becomes
its ASCII look-alike, and whatever is left outside printable ASCII is removed.

Cleaning never hides a separator: a value that still holds ``~ * : ^`` after
cleaning is refused with ``UnsafeText``, a ``ValueError`` naming the field (and,
in the builder, the claim id) but never the value, which may be PHI.
"""

from __future__ import annotations

import unicodedata

X12_SEPARATORS = frozenset("~*:^")

# Letters and marks that NFKD does not reduce to ASCII.
_SPELLED_OUT = str.maketrans(
    {
        "ß": "SS",
        "ẞ": "SS",
        "Æ": "AE",
        "æ": "AE",
        "Œ": "OE",
        "œ": "OE",
        "Ø": "O",
        "ø": "O",
        "Ł": "L",
        "ł": "L",
        "Đ": "D",
        "đ": "D",
        "Ð": "D",
        "ð": "D",
        "Þ": "TH",
        "þ": "TH",
        "ı": "I",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "″": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
        "…": "...",
        "\u00a0": " ",
    }
)


class UnsafeText(ValueError):
    """A value that cannot be written into an X12 element even after cleaning."""


def to_x12_text(value: str, field: str = "value") -> str:
    """Uppercase ASCII with single spaces; refuse a value holding a separator.

    >>> to_x12_text("  Zoë   O’Brien ")
    "ZOE O'BRIEN"
    """
    if value.isascii():
        text = value
    else:
        decomposed = unicodedata.normalize("NFKD", value.translate(_SPELLED_OUT))
        text = "".join(ch for ch in decomposed if ch.isascii())
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split()).upper()
    if not X12_SEPARATORS.isdisjoint(text):
        raise UnsafeText(f"{field} contains an X12 separator character (~ * : ^)")
    return text


def to_x12_identifier(value: str, field: str = "identifier") -> str:
    """An identifier (claim id, member id, NPI, authorization) written as given.

    Identifiers are matched later against what comes back on the 277CA and 835,
    so they are not case-folded or transliterated: anything outside printable
    ASCII, or a separator, is refused.
    """
    text = value.strip()
    if not text.isascii() or not text.isprintable():
        raise UnsafeText(f"{field} contains characters outside printable ASCII")
    if not X12_SEPARATORS.isdisjoint(text):
        raise UnsafeText(f"{field} contains an X12 separator character (~ * : ^)")
    return text
