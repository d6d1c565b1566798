"""The content fingerprint of a claim: what would be billed, not where it was read.

Re-ingesting an export compares this fingerprint with the stored one, so the same billed
content must always give the same digest, whether the claim was read from an export or
rebuilt from the ledger's rows.  The digest is the sha256 of ``reference_text``, this
canonical JSON encoding:

- the claim is an object of its fields, its ``lines`` an array of objects in line order;
  ``source`` (file and line) and ``extra`` (reader notes that are never billed) are left out;
- a nested party or address is an object of its fields, ``null`` when absent;
- a string is itself, an enumeration its value, a date ``YYYY-MM-DD``, a tuple an array;
- an amount or quantity is written as the 837 writes it: no exponent, no trailing zeros
  (``100``, ``100.5``, ``12.25``), so ``100.00`` read from the ledger equals ``100`` read
  from an export;
- keys sorted, no spaces, UTF-8 (``json.dumps(sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)``).

Any other type is refused (``TypeError``) rather than encoded by ``repr``, so a new field
cannot change digests by accident.  Migration 0008 stored this fingerprint for claims kept
under the earlier (``repr``) definition; tests pin known digests.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from domain.claim import Claim as DomainClaim

NOT_CONTENT = frozenset({"source", "extra"})
_ENCODERS: dict[type, Callable[[Any], Any]] = {}
_ITSELF = frozenset({str, type(None), int, bool})


def _canonical(value: Any) -> Any:
    """The JSON value of one field, by the rules in the module docstring (the rule for each type is
    chosen once, ``_encoder``: a claim has hundreds of values, of a dozen types)."""
    encode = _ENCODERS.get(type(value))
    if encode is None:
        encode = _ENCODERS[type(value)] = _encoder(type(value))
    return encode(value)


def _encoder(kind: type) -> Callable[[Any], Any]:
    """How a value of ``kind`` is encoded: the module docstring's rules, in this order."""
    if issubclass(kind, enum.Enum):
        return _enum_value
    if kind in _ITSELF or issubclass(kind, bool | int | str):
        return _itself
    if issubclass(kind, Decimal):
        return _amount
    if issubclass(kind, date):
        return _iso_date
    if issubclass(kind, tuple | list):
        return _array
    if dataclasses.is_dataclass(kind):
        names = tuple(f.name for f in dataclasses.fields(kind) if f.name not in NOT_CONTENT)

        def record(value: Any) -> dict[str, Any]:
            found = {}
            for name in names:
                item = getattr(value, name)
                found[name] = item if type(item) in _ITSELF else _canonical(item)  # most fields: text or None
            return found

        return record
    raise TypeError(f"no canonical encoding for a {kind.__name__} in a claim's content")


def _itself(value: Any) -> Any:
    return value


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _iso_date(value: date) -> str:
    return value.isoformat()


def _array(value: tuple[Any, ...] | list[Any]) -> list[Any]:
    return [_canonical(item) for item in value]


def _amount(value: Decimal) -> str:
    if not value.is_finite():
        raise TypeError("an amount in a claim's content is not a finite number")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def reference_text(claim: DomainClaim) -> str:
    """What the fingerprint is of, by its definition."""
    return json.dumps(_canonical(claim), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(claim: DomainClaim) -> str:
    """A fingerprint of what would be billed; the source file and line do not count."""
    return hashlib.sha256(reference_text(claim).encode("utf-8")).hexdigest()
