"""A faster ``__init__`` for the frozen domain records, which every row of every export builds.

A frozen dataclass's own ``__init__`` stores each field through ``object.__setattr__`` (it must get
past the class's ``__setattr__``, which refuses every assignment): a name look-up and a generic call
per field, three quarters of the cost of building a ``ServiceLine``.  ``fast_init`` replaces it with
one that stores each field through its slot's descriptor — the same slots, values and signature, the
same ``FrozenInstanceError`` on assignment afterwards — at about half the cost.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def fast_init(cls: T) -> T:
    """``cls``'s ``__init__``, as ``@dataclass(frozen=True, slots=True)`` wrote it, rewritten to store
    through the slots' descriptors.  Only what that ``__init__`` does plainly is taken: fields passed
    by position or keyword with plain defaults; anything else (``__post_init__``, a default factory,
    keyword-only or ``init=False`` fields) is refused here, at import, rather than handled half."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or not params.init or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init takes a @dataclass(frozen=True, slots=True), not {cls.__name__}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"fast_init: {cls.__name__} has a __post_init__")
    namespace: dict[str, Any] = {}
    parameters, stores = [], []
    for number, field in enumerate(dataclasses.fields(cls)):
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"fast_init: the field {field.name} of {cls.__name__} is not a plain init field")
        if not field.name.isidentifier() or field.name == "self":
            raise TypeError(f"fast_init: the field {field.name!r} of {cls.__name__} cannot be a parameter")
        namespace[f"_store{number}"] = cls.__dict__[field.name].__set__  # the slot's member descriptor
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default{number}"] = field.default
            parameters.append(f"{field.name}=_default{number}")
        stores.append(f"    _store{number}(self, {field.name})\n")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("".join(stores) or "    pass\n")
    exec(compile(source, f"<fast __init__ of {cls.__name__}>", "exec"), namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    if _parameters(init) != _parameters(cls.__init__):  # type: ignore[misc]
        raise TypeError(f"fast_init: the rewritten __init__ of {cls.__name__} would not take the same arguments")
    init.__annotations__ = dict(cls.__init__.__annotations__)  # type: ignore[misc]
    cls.__init__ = init  # type: ignore[misc]
    return cls


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    """What a call may pass: each parameter's name, kind and default (not its annotation)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]
