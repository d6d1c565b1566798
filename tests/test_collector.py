"""The collector settings of a bulk job are the job's alone."""

from __future__ import annotations

import gc

import pytest

from runtime.collector import YOUNGEST_GENERATION_THRESHOLD, fewer_collections


def test_fewer_collections_sets_and_restores_the_collector_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold()[0] == YOUNGEST_GENERATION_THRESHOLD
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the job failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_during_the_job_are_still_collected() -> None:
    import weakref

    class Node:
        pass

    with fewer_collections():
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None  # only the collector frees a cycle
        kept = [[n] for n in range(YOUNGEST_GENERATION_THRESHOLD * 2)]  # allocations drive the collector
        assert alive() is None
        del kept
