"""The pydantic field types the native and admin doors share for text they store (rule: `core.chars`)."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from dlrhub.core import chars


def _id(value: str) -> str:
    problem = chars.id_fault(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _text(value: str) -> str:
    problem = chars.text_fault(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _json(value: Any) -> Any:
    fault = chars.json_fault(value)
    if fault is not None:
        raise ValueError(f"{fault[0]}: {fault[1]}")
    return value


#: An identifier, name or URL: no control character (U+0000–U+001F, U+007F), no lone surrogate.
Name = Annotated[str, pydantic.AfterValidator(_id)]
#: Free text: no C0 control but tab, LF and CR, no lone surrogate.
Text = Annotated[str, pydantic.AfterValidator(_text)]
#: A JSON object kept as received: every key and string in it follows `Text`'s rule.
JsonObject = Annotated[dict[str, Any], pydantic.AfterValidator(_json)]
