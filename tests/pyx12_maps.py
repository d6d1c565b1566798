"""pyx12 with each map read once per process: the oracle's speed, not its judgement.

pyx12 parses its XML maps afresh for every file, most of its time on our small files. A map object
counts loop and segment repeats while a file is walked, so it cannot simply be shared; instead the
first load is pickled and every later load is a fresh unpickled copy. The external code lists and
data element tables inside a map are read-only lookups, so they are shared, not copied.
``tests/test_x12_oracle.py`` checks that pyx12 finds the same with and without this.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyx12.codes
import pyx12.dataele
import pyx12.map_if

_SHARED_TYPES = (pyx12.codes.ExternalCodes, pyx12.dataele.DataElements)


class _MapStore:
    def __init__(self) -> None:
        self.load = pyx12.map_if.load_map_file
        self.pickled: dict[tuple[str, str | None], bytes] = {}
        self.shared: list[Any] = []

    def __call__(self, map_file: str, param: Any, map_path: str | None = None) -> Any:
        key = (map_file, map_path)
        if key not in self.pickled:
            buffer = io.BytesIO()
            pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.persistent_id = self._persistent_id  # type: ignore[method-assign]
            pickler.dump(self.load(map_file, param, map_path))
            self.pickled[key] = buffer.getvalue()
        unpickler = pickle.Unpickler(io.BytesIO(self.pickled[key]))
        unpickler.persistent_load = self.shared.__getitem__  # type: ignore[assignment]
        return unpickler.load()

    def _persistent_id(self, obj: Any) -> int | None:
        if isinstance(obj, _SHARED_TYPES):
            for n, known in enumerate(self.shared):
                if known is obj:
                    return n
            self.shared.append(obj)
            return len(self.shared) - 1
        return None


_STORE: _MapStore | None = None


@contextmanager
def maps_read_once() -> Iterator[None]:
    """Inside the block pyx12 takes its maps from the per-process store."""
    global _STORE
    original = pyx12.map_if.load_map_file
    if _STORE is None:
        _STORE = _MapStore()
    pyx12.map_if.load_map_file = _STORE
    try:
        yield
    finally:
        pyx12.map_if.load_map_file = original
