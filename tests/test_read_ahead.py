"""``runtime.read_ahead``: a stream produced on a thread of its own gives the same items, raises where the
source raised, and stops (source closed, thread gone) when its reader stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from runtime.read_ahead import read_ahead


def test_items_come_in_their_order_across_batches() -> None:
    assert list(read_ahead(range(1003), batch=10, batches=2)) == list(range(1003))
    assert list(read_ahead([], batch=10)) == []


def test_what_the_source_raises_comes_after_every_item_before_it() -> None:
    def cut() -> Iterator[int]:
        yield from range(25)
        raise ValueError("the file ends inside a segment")

    taken: list[int] = []
    with pytest.raises(ValueError, match="ends inside"):
        for item in read_ahead(cut(), batch=10, batches=2):
            taken.append(item)
    assert taken == list(range(25))


def test_a_reader_that_stops_early_closes_the_source_and_ends_the_thread() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    before = threading.active_count()
    stream = read_ahead(endless(), batch=5, batches=2)
    assert [next(stream) for _ in range(7)] == list(range(7))
    stream.close()  # what a ``for`` loop left by an exception does to its generator
    assert closed.is_set()
    assert threading.active_count() == before
