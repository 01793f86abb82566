"""The characters dlrhub accepts in text it stores: the one rule every door applies before a database sees it.

PostgreSQL's `text` and `jsonb` cannot hold NUL (SQLite can), and neither driver can write a lone surrogate, so
a door that let them through answered a bare 500 on one backend and stored them on the other. Every door now
refuses them, in its dialect's error shape, with nothing written (docs/reference/http-api.md › Hostile input):

- an identifier or name (ids, keys, account names, URLs) holds no control character: U+0000–U+001F or U+007F;
- free text (template values, `ext`, event text) and every key and string inside a JSON value hold none of
  U+0000–U+001F except tab, line feed and carriage return (the characters XML 1.0 also refuses);
- neither holds a lone surrogate (U+D800–U+DFFF), which is not Unicode text and has no UTF-8 form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: A character no identifier or name may hold.
_NOT_IN_ID = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
#: A character no free text may hold.
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
#: JSON values are walked at most this deep; deeper ones are refused (a parser's own limit is usually lower).
MAX_DEPTH = 256


def _describe(char: str) -> str:
    if char == "\x00":
        return "contains NUL"
    if "\ud800" <= char <= "\udfff":
        return "contains a lone surrogate"
    return f"contains the control character U+{ord(char):04X}"


def id_fault(value: str) -> str | None:
    """Why `value` cannot be an identifier or name (`"contains NUL"`, …), or None when it can."""
    found = _NOT_IN_ID.search(value)
    return None if found is None else _describe(found.group())


def params_fault(params: Iterable[tuple[str, Any]]) -> tuple[str, str] | None:
    """The first of a request's path or query parameters that cannot be an identifier, as `(name, problem)`;
    None when every one can. Each may end in a store read, where PostgreSQL refuses a NUL with an error."""
    for name, value in params:
        problem = id_fault(value) if isinstance(value, str) else None
        if problem is not None:
            return name, problem
    return None


def text_fault(value: str) -> str | None:
    """Why `value` cannot be stored as free text, or None when it can (tab, LF and CR are allowed)."""
    found = _NOT_IN_TEXT.search(value)
    return None if found is None else _describe(found.group())


def json_fault(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first key or string in a decoded JSON value that cannot be stored, as `(path, problem)`; None when
    every one can. Paths read `a.b[2]`; strings follow `text_fault`; nesting deeper than `MAX_DEPTH` is refused."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_fault(item)
            if problem is not None:
                return where or "value", problem
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return where or "value", f"nested deeper than {MAX_DEPTH} levels"
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, dict):
                for key, inner in item.items():
                    if isinstance(key, str) and (problem := text_fault(key)) is not None:
                        return where or "value", f"a key {problem}"
                    children.append((inner, f"{where}.{key}" if where else str(key), depth + 1))
            else:
                children.extend((inner, f"{where}[{index}]", depth + 1) for index, inner in enumerate(item))
            stack.extend(reversed(children))  # popped in document order
    return None
