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
import types
import typing
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from domain.claim import Claim as DomainClaim

NOT_CONTENT = frozenset({"source", "extra"})
_STRING = json.JSONEncoder(ensure_ascii=False).encode
"""One text value as JSON (what ``json.dumps(..., ensure_ascii=False)`` writes for it)."""
_WRITERS: dict[type, Callable[[Any], str]] = {}


def _text(value: Any) -> str:
    """The canonical JSON text of one value, by the rules in the module docstring.  Written here
    rather than by ``json.dumps`` over a tree of dicts, because ingest fingerprints every claim of
    every export: the writer for each type is chosen once, and a dataclass's writer is compiled
    once (``_record_writer``)."""
    write = _WRITERS.get(type(value))
    if write is None:
        write = _WRITERS[type(value)] = _writer(type(value))
    return write(value)


def _writer(kind: type) -> Callable[[Any], str]:
    """How a value of ``kind`` is written: the module docstring's rules, in this order."""
    if issubclass(kind, enum.Enum):
        return _enum_text
    if kind is type(None):
        return _null
    if issubclass(kind, bool):
        return _boolean
    if issubclass(kind, int):
        return int.__repr__
    if issubclass(kind, str):
        return _STRING
    if issubclass(kind, Decimal):
        return _amount_text
    if issubclass(kind, date):
        return _date_text
    if issubclass(kind, tuple | list):
        return _array_text
    if dataclasses.is_dataclass(kind):
        return _record_writer(kind)
    raise TypeError(f"no canonical encoding for a {kind.__name__} in a claim's content")


def _record_writer(kind: type) -> Callable[[Any], str]:
    """A dataclass's writer, compiled once for its fields: one f-string that reads each field
    (sorted by name, ``NOT_CONTENT`` left out) and writes the object, instead of a loop that looks
    each field's writer up for every claim.

    A field is first tried, inline, as exactly the type it is declared with (``None`` first when
    it is optional); any other value (a subclass, a wrong type) goes through ``_text``, which
    applies the rules in full.  The declarations only order the tests: the bytes are ``_text``'s
    whatever a field holds."""
    try:
        declared = typing.get_type_hints(kind)
    except (NameError, TypeError):  # declarations it cannot resolve: every field through ``_text``
        declared = {}
    fields = sorted((f for f in dataclasses.fields(kind) if f.name not in NOT_CONTENT), key=lambda f: f.name)
    namespace: dict[str, Any] = {"_NULL": "null", "_text": _text}
    reads, parts = [], []
    for number, field in enumerate(fields):
        if not (field.name.isidentifier() and field.name.isascii()):  # its key goes into the source as is
            raise TypeError(f"no canonical encoding for the field {field.name!r} of a {kind.__name__}")
        local = f"v{number}"
        reads.append(f"    {local} = value.{field.name}\n")
        written = f"_text({local})"
        exact, optional = _declared_type(declared.get(field.name), kind)
        if exact is not None:
            namespace[f"t{number}"] = exact
            if issubclass(exact, enum.Enum):  # a closed set: each member's text written once, here
                try:
                    namespace[f"w{number}"] = {member: _text(member.value) for member in exact}
                    written = f"w{number}[{local}] if type({local}) is t{number} else {written}"
                except TypeError:  # a member with no encoding is refused when it is met
                    pass
            else:
                namespace[f"w{number}"] = _WRITERS[exact]
                written = f"w{number}({local}) if type({local}) is t{number} else {written}"
        if optional:
            written = f"_NULL if {local} is None else {written}"
        parts.append(f'"{field.name}":{{{written}}}')
    source = "def write(value):\n" + "".join(reads) + "    return f'{{" + ",".join(parts) + "}}'\n"
    exec(compile(source, f"<canonical JSON writer of {kind.__name__}>", "exec"), namespace)  # noqa: S102
    write: Callable[[Any], str] = namespace["write"]
    return write


def _declared_type(hint: Any, owner: type) -> tuple[type | None, bool]:
    """The one class a field of ``owner`` is declared with (``tuple`` for ``tuple[str, ...]``; None
    when it is declared with several, with ``owner`` itself, or with none this module writes), and
    whether it may be ``None``."""
    if hint is None:
        return None, False
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    optional = type(None) in options
    kinds = [typing.get_origin(option) or option for option in options if option is not type(None)]
    if len(kinds) != 1 or not isinstance(kinds[0], type) or kinds[0] is owner:
        return None, optional
    kind = kinds[0]
    if kind not in _WRITERS:
        try:
            _WRITERS[kind] = _writer(kind)
        except TypeError:  # refused when a value of it is met, as ``_text`` refuses it
            return None, optional
    return kind, optional


def _enum_text(value: enum.Enum) -> str:
    return _text(value.value)


def _null(_value: None) -> str:
    return "null"


def _boolean(value: bool) -> str:
    return "true" if value else "false"


# The texts of amounts and dates already written: an export bills few distinct charges and unit
# counts, and its service dates fall in a few months.  Equal amounts have one text by definition
# (``100.00`` and ``100`` alike), and a ``date`` is never equal to a ``datetime``, so a hit is exactly
# what writing the value afresh gives.  Bounded: past the limit, values are written afresh.
_AMOUNT_TEXTS: dict[Decimal, str] = {}
_DATE_TEXTS: dict[date, str] = {}
MEMO_LIMIT = 4096


def _amount_text(value: Decimal) -> str:
    try:
        text = _AMOUNT_TEXTS.get(value)
    except TypeError:  # a signalling NaN cannot be hashed: refused below as not finite
        text = None
    if text is None:
        text = '"' + _amount(value) + '"'  # digits, a sign and a point: nothing to escape
        if len(_AMOUNT_TEXTS) < MEMO_LIMIT:
            _AMOUNT_TEXTS[value] = text
    return text


def _date_text(value: date) -> str:
    text = _DATE_TEXTS.get(value)
    if text is None:
        text = '"' + value.isoformat() + '"'
        if type(value) is date and len(_DATE_TEXTS) < MEMO_LIMIT:  # an aware datetime equals others' instants
            _DATE_TEXTS[value] = text
    return text


def _array_text(value: tuple[Any, ...] | list[Any]) -> str:
    return "[" + ",".join([_STRING(item) if type(item) is str else _text(item) for item in value]) + "]"


def _amount(value: Decimal) -> str:
    if not value.is_finite():
        raise TypeError("an amount in a claim's content is not a finite number")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def reference_text(claim: DomainClaim) -> str:
    """What the fingerprint is of, by its definition."""
    return _text(claim)


def content_hash(claim: DomainClaim) -> str:
    """A fingerprint of what would be billed; the source file and line do not count."""
    return hashlib.sha256(reference_text(claim).encode("utf-8")).hexdigest()
