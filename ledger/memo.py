"""Remembering what was worked out for an object, by the object itself.

An export names the same few providers on every claim, and the parser hands out
one object per distinct provider: keyed by identity, a hit costs a dict lookup,
where hashing a frozen dataclass (and the address inside it) costs more than some
of the work it would spare.  The object is kept alive beside its value, so its id
cannot pass to another object while remembered; the memo is bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByIdentity(Generic[K, V]):
    """``compute(obj)`` remembered per object (not per equal object), at most ``limit`` of them."""

    def __init__(self, compute: Callable[[K], V], limit: int = 4096) -> None:
        self._compute = compute
        self._limit = limit
        self._known: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        known = self._known.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        value = self._compute(obj)
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[id(obj)] = (obj, value)
        return value
