"""domain.records.fast_init: the frozen records built through their slots, as dataclass builds them."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import domain.claim
from domain.records import fast_init
from tests.examples import scaled

RECORDS = [value for value in vars(domain.claim).values()
           if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == "domain.claim"]


def test_every_frozen_record_of_the_claim_has_the_fast_init() -> None:
    assert {cls.__name__ for cls in RECORDS} >= {"Claim", "ServiceLine", "Source", "Subscriber", "Provider"}
    for cls in RECORDS:
        assert cls.__init__.__code__.co_filename == f"<fast __init__ of {cls.__name__}>", cls
        # the signature dataclass would write, annotations and all
        twin = dataclasses.make_dataclass(cls.__name__, [(f.name, f.type, f) for f in dataclasses.fields(cls)],
                                          frozen=True, slots=True)
        assert inspect.signature(cls) == inspect.signature(twin), cls


def _values(cls: type) -> st.SearchStrategy[list[typing.Any]]:
    """Any value for each field: the init stores, it does not check types."""
    return st.lists(st.text() | st.integers() | st.none() | st.tuples(st.text()), min_size=len(dataclasses.fields(cls)),
                    max_size=len(dataclasses.fields(cls)))


@settings(max_examples=scaled(100), deadline=None)
@given(data=st.data())
def test_a_record_holds_what_it_was_given_by_position_keyword_or_default(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(RECORDS))
    fields = dataclasses.fields(cls)
    values = data.draw(_values(cls))
    by_position = cls(*values)
    by_keyword = cls(**{f.name: v for f, v in zip(fields, values, strict=True)})
    assert [getattr(by_position, f.name) for f in fields] == values
    assert by_keyword == by_position and hash(by_keyword) == hash(by_position)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    defaulted = cls(*values[: len(required)])
    assert [getattr(defaulted, f.name) for f in fields[len(required):]] == [f.default for f in fields[len(required):]]
    assert pickle.loads(pickle.dumps(by_position)) == by_position
    assert dataclasses.replace(by_position, **{fields[0].name: "other"}) == cls("other", *values[1:])


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
def test_a_record_refuses_what_dataclass_refuses(cls: type) -> None:
    fields = dataclasses.fields(cls)
    record = cls(*[None] * len(fields))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, fields[0].name, "changed")
    with pytest.raises(TypeError):
        cls(*[None] * (len(fields) + 1))  # one too many
    with pytest.raises(TypeError):
        cls(*[None] * len(fields), unknown=1)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    with pytest.raises(TypeError):
        cls(*[None] * (len(required) - 1))  # one missing


def test_fast_init_takes_only_what_it_can_rewrite_whole() -> None:
    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int = dataclasses.field(default=1, init=False)

    for cls in (NotFrozen, NoSlots, Checked, Factory, KeywordOnly, NotInInit):
        init = cls.__init__
        with pytest.raises(TypeError, match="fast_init"):
            fast_init(cls)
        assert cls.__init__ is init, cls
