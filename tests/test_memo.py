"""The memos give what their function gives: per object (not per equal object), per value, past their limit."""

from __future__ import annotations

from decimal import Decimal

from ledger.memo import ByIdentity, ByValue


def test_equal_objects_are_remembered_each_for_itself() -> None:
    memo = ByIdentity(repr)
    one, one_point_oh = Decimal("1"), Decimal("1.0")
    assert one == one_point_oh
    assert [memo(one), memo(one_point_oh), memo(one)] == ["Decimal('1')", "Decimal('1.0')", "Decimal('1')"]
    assert memo.entry(id(one_point_oh)) == (one_point_oh, "Decimal('1.0')")
    assert memo.entry(id(Decimal("2"))) is None


def test_a_remembered_id_is_never_another_objects_past_the_limit() -> None:
    """Objects come and go, their addresses are used again: the inline look-up finds only live entries."""
    calls = []

    def text(value: Decimal) -> str:
        calls.append(value)
        return repr(value)

    memo = ByIdentity(text, limit=7)
    for n in range(2000):
        value = Decimal(n).scaleb(-(n % 3))  # a new object each time, most of them freed at once
        assert (memo.entry(id(value)) or memo.remember(value))[1] == repr(value)
        assert memo(value) == repr(value)
    assert len(calls) == 2000  # each computed once, the second look-up a hit
    assert len(memo.entry.__self__) <= 7  # type: ignore[attr-defined]  # bounded


def test_values_are_remembered_by_equal_key_past_the_limit() -> None:
    calls = []

    def square(n: int) -> int:
        calls.append(n)
        return n * n

    memo = ByValue(square, limit=3)
    assert [memo[n] for n in (2, 2, 3, 2)] == [4, 4, 9, 4]
    assert calls == [2, 3]
    assert [memo[n] for n in range(10)] == [n * n for n in range(10)]
    assert len(memo) <= 3
