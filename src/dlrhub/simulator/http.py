"""The Zalo simulator's plumbing: bounded memory, bounded request reading and Zalo-shaped JSON answers."""

from __future__ import annotations

import collections
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from dlrhub.dialects.zalo import codes

#: A request body larger than this is refused (Zalo's -121, as if empty).
MAX_REQUEST_BYTES = 64 * 1024


class Bounded(collections.OrderedDict[str, Any]):
    """A dict that forgets its oldest entries beyond `limit`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)


def json_response(obj: object, status: int = 200) -> Response:
    """`obj` as a JSON answer."""
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


def error(code: int, **extra: object) -> Response:
    """Zalo's error answer `{"error": code, "message": …}` (HTTP 200, as Zalo answers), plus `extra` keys."""
    return json_response({"error": code, "message": codes.error_message(code), **extra})


def normal_phone(phone: str) -> str:
    """The `84…` form Zalo reports in `recipient.id`."""
    digits = phone.lstrip("+")
    return "84" + digits[1:] if digits.startswith("0") else digits


async def read_body(request: Request) -> bytes | None:
    """The request body, or None when over MAX_REQUEST_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            return None
    return bytes(body)
