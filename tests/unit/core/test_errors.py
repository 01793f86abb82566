"""The exception tree drawn in `core.errors`' docstring is the real one: every class, under its own base."""

from __future__ import annotations

import inspect
import re

from dlrhub.core import errors


def drawn_parents() -> dict[str, str]:
    """Each class the docstring's tree draws below `DlrhubError`, with the class drawn above it."""
    parents: dict[str, str] = {}
    path = ["DlrhubError"]
    for line in (errors.__doc__ or "").splitlines():
        found = re.match(r"^([│ ]*)[├└]── (\w+)", line)
        if found is None:
            continue
        depth = len(found.group(1)) // 4 + 1
        path[depth:] = [found.group(2)]
        parents[found.group(2)] = path[depth - 1]
    return parents


def test_every_exception_is_drawn_under_its_base() -> None:
    classes = {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.DlrhubError) and cls is not errors.DlrhubError
    }
    assert drawn_parents() == {name: cls.__bases__[0].__name__ for name, cls in classes.items()}
