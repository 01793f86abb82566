"""What route handlers share: the Hub, bounded body reading, admin auth, and JSON error answers."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import fastapi
import orjson

from dlrhub.core import errors
from dlrhub.services import hub as hub_


def hub(request: fastapi.Request) -> hub_.Hub:
    """The process's Hub (set by create_app)."""
    found: hub_.Hub = request.app.state.hub
    return found


async def read_body(request: fastapi.Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it grows past `limit` bytes (the rest is not read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> fastapi.Response:
    """A JSON answer serialised with orjson (keys in insertion order)."""
    return fastapi.Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )


def problem(status_code: int, error: str, message: str, **extra: Any) -> fastapi.Response:
    """dlrhub's own error shape for the native and admin APIs."""
    return json_response({"error": error, "message": message, **extra}, status_code)


def require_admin(request: fastapi.Request) -> None:
    """Raise 401 unless the request carries the admin bearer token."""
    expected = hub(request).settings.admin_token
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        raise errors.NotAuthorized()
    request.state.actor = BOOTSTRAP_ACTOR


#: The audit log's name for whoever holds DLRHUB_ADMIN_TOKEN.
BOOTSTRAP_ACTOR = "bootstrap"


def actor(request: fastapi.Request) -> str:
    """Who the audit log names for this request: the name the auth dependency set, else `bootstrap`."""
    found: str = getattr(request.state, "actor", BOOTSTRAP_ACTOR)
    return found


#: A route parameter receiving the process's Hub.
HubDep = Annotated[hub_.Hub, fastapi.Depends(hub)]
