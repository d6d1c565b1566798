"""Remembering what was worked out for an object, by the object itself or by its value.

An export names the same few providers on every claim, and the parser hands out
one object per distinct provider, amount, modifier list and pointer list: keyed by
identity, a hit costs a dict lookup, where hashing a frozen dataclass (and the
address inside it) costs more than some of the work it would spare, and where equal
values may not give the same result (``Decimal('65.0') == Decimal('65.00')``, their
reprs differ).  Each entry keeps its object alive, so the id it is filed under cannot
pass to another object while it is remembered: an entry found by ``id(obj)`` is
``obj``'s.  Both memos are bounded (emptied when full).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
H = TypeVar("H", bound=Hashable)


class ByIdentity(Generic[K, V]):
    """``compute(obj)`` remembered per object (not per equal object), at most ``limit`` of them.

    For immutable objects only: the value is worked out once, whatever becomes of the object.
    """

    def __init__(self, compute: Callable[[K], V], limit: int = 4096) -> None:
        self._compute = compute
        self._limit = limit
        self._known: dict[int, tuple[K, V]] = {}
        self.entry = self._known.get
        """``entry(id(obj))``: ``(obj, value)`` if remembered, else None.  For a caller that writes the
        lookup inline, ``(entry(id(obj)) or remember(obj))[1]``, where a call per hit would cost
        as much as the work spared."""

    def __call__(self, obj: K) -> V:
        known = self._known.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        return self.remember(obj)[1]

    def remember(self, obj: K) -> tuple[K, V]:
        """Work out the value for ``obj`` and remember it; the entry ``entry`` will find."""
        entry = (obj, self._compute(obj))
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[id(obj)] = entry
        return entry


class ByValue(dict[H, V]):
    """``compute(key)`` remembered per equal key, at most ``limit`` of them: ``memo[key]``.

    Only for keys whose equal values give the same result: the caller sees to the type
    (an instance of a subclass can equal a key and have another text).
    """

    def __init__(self, compute: Callable[[H], V], limit: int = 4096) -> None:
        super().__init__()
        self._compute = compute
        self._limit = limit

    def __missing__(self, key: H) -> V:
        value = self._compute(key)
        if len(self) >= self._limit:
            self.clear()
        self[key] = value
        return value
