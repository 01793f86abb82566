"""Reading one field of an eSMS JSON body: lookup by name, type coercion, bounds, and the body itself."""

from __future__ import annotations

from typing import Any

import orjson

from dlrhub.core import chars
from dlrhub.dialects.esms import codes

#: The largest request body any eSMS door reads; a ZNS request is a few KB.
MAX_BODY_BYTES = 256 * 1024
#: The most top-level keys a body may have.
MAX_KEYS = 64


def parse_body(raw: object, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The JSON object of a request body given as bytes, str or an already decoded value.

    Raises `errors.DialectError` 110 when it is larger than `max_bytes`, not JSON, or not an object.
    """
    if isinstance(raw, bytes | bytearray | memoryview | str):
        size = len(raw.encode("utf-8", "surrogatepass")) if isinstance(raw, str) else len(raw)
        if size > max_bytes:
            raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: body is too large")
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise codes.error(codes.Code.BAD_REQUEST_DATA) from None
    if not isinstance(raw, dict):
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: the body must be a JSON object")
    if len(raw) > MAX_KEYS:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: too many fields")
    return raw


def lookup(body: dict[str, Any], name: str) -> Any:
    """The value of field `name`: an exact match first, else a case-insensitive one (eSMS's .NET binder
    ignores case, and its own docs spell `OAID`/`OAId`); None when absent."""
    if name in body:
        return body[name]
    folded = name.casefold()
    for key, value in body.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return None


def clean(value: str, name: str, max_len: int, *, free_text: bool = False) -> str:
    """`value` if storable: at most `max_len` characters, and the characters of `core.chars`: an id's rule (no
    control character), or with `free_text` a text's (tab, LF and CR allowed). 110 otherwise."""
    if len(value) > max_len:
        raise codes.error(
            codes.Code.BAD_REQUEST_DATA, f"Invalid request: {name} is longer than {max_len} characters"
        )
    problem = chars.text_fault(value) if free_text else chars.id_fault(value)
    if problem is not None:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: {name} {problem}")
    return value


def text(
    body: dict[str, Any],
    name: str,
    max_len: int,
    *,
    code: codes.Code = codes.Code.BAD_REQUEST_DATA,
    strip: bool = True,
) -> str | None:
    """Field `name` as text: a string, or an integer written in decimal (eSMS types every field "string", and
    clients send ids as numbers). None when absent, null or blank. Any other type raises `code`."""
    value = lookup(body, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        if code is codes.Code.BAD_REQUEST_DATA:
            raise codes.error(code, f"Invalid request: {name} must be a string")
        raise codes.error(code)
    if isinstance(value, int):
        if abs(value) >= 10**30:
            raise codes.error(code)
        value = str(value)
    if strip:
        value = value.strip()
    if not value:
        return None
    if code is codes.Code.BAD_REQUEST_DATA:
        return clean(value, name, max_len)
    try:
        return clean(value, name, max_len)
    except Exception:
        raise codes.error(code) from None


def flag(body: dict[str, Any], name: str) -> bool:
    """Field `name` as a flag: "1"/1/true/"true" or "0"/0/false/"false"/absent; anything else raises 110."""
    value = lookup(body, name)
    if value is None or value is False or value == "":
        return False
    if value is True:
        return True
    if isinstance(value, int | str) and not isinstance(value, bool):
        folded = str(value).strip().casefold()
        if folded in {"1", "true"}:
            return True
        if folded in {"0", "false"}:
            return False
    raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: {name} must be 1 or 0")
