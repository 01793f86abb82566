"""The request id: taken from a sane `X-Request-ID` or made up, set for the logs, returned in the response."""

from __future__ import annotations

import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dlrhub.adapters import logs

#: The header, lower-cased as ASGI carries it, in both directions.
HEADER = b"x-request-id"
#: An incoming id dlrhub keeps: 1 to 128 visible ASCII characters, no quote or backslash. Others are replaced.
SANE = re.compile(rb"[\x21\x23-\x5b\x5d-\x7e]{1,128}")


def incoming(scope: Scope) -> str:
    """The request's own `X-Request-ID` when it is sane (see `SANE`), else a new random id (24 hex digits)."""
    for name, value in scope["headers"]:
        if name == HEADER:
            if SANE.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return secrets.token_hex(12)


async def serve(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app` on one HTTP request with its id in `logs.REQUEST_ID` and in the answer's `X-Request-ID`."""
    rid = incoming(scope)
    raw = rid.encode("ascii")

    async def tagged(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (HEADER, raw)]}
        await send(message)

    token = logs.REQUEST_ID.set(rid)
    await app(scope, receive, tagged)
    # Reset only after a normal return: when `app` raises, the id stays set in this request's task, so the
    # server's own line about the exception carries it too.
    logs.REQUEST_ID.reset(token)
