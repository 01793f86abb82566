"""`replace` for frozen, slotted dataclasses (the models), at a third of `dataclasses.replace`'s cost.

`dataclasses.replace` walks the class's fields, builds the keyword arguments and calls `__init__`, whose frozen
assignments go through `object.__setattr__` one field at a time: about 2.5 times the cost of building the object
anew, on the accept path of every send (`planning.events`). Here each slot is set through its own descriptor.
A class with a `__post_init__` or a field left out of `__init__` goes to `dataclasses.replace` as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Per class: (name, set, get) of each field's slot, or None when the class needs `dataclasses.replace`.
_Slots = tuple[tuple[str, Callable[[Any, Any], None], Callable[[Any], Any]], ...]
_slots: dict[type, _Slots | None] = {}


def _of(cls: type) -> _Slots | None:
    fields = dataclasses.fields(cls)
    if (
        "__slots__" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(not f.init for f in fields)
        or any(f._field_type is dataclasses._FIELD_INITVAR for f in cls.__dataclass_fields__.values())  # type: ignore[attr-defined]
    ):
        return None
    return tuple((f.name, cls.__dict__[f.name].__set__, cls.__dict__[f.name].__get__) for f in fields)


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of `obj` (a frozen dataclass) with `changes`, as `dataclasses.replace(obj, **changes)`."""
    cls = type(obj)
    try:
        slots = _slots[cls]
    except KeyError:
        slots = _slots[cls] = _of(cls)
    if slots is None:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    new = object.__new__(cls)
    for name, set_, get in slots:
        set_(new, changes.pop(name) if name in changes else get(obj))
    if changes:
        raise TypeError(f"{cls.__name__} has no field {', '.join(map(repr, changes))}")
    return new
