"""What route handlers share: the Hub, bounded body reading, bearer-token scopes, and JSON error answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import fastapi
import orjson

from dlrhub.core import chars, errors, scopes
from dlrhub.services import hub as hub_
from dlrhub.services import tokens


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


async def plain_parameters(request: fastapi.Request) -> None:
    """Refuse a path or query parameter no identifier may hold (`chars.id_fault`: any control character; each
    names an id, a filter or a cursor): PostgreSQL cannot compare `text` with NUL, so such a value would fail in
    the store as a bare 500. Raises errors.InvalidInput naming the parameter (422, or an error page under `/ui`
    and `/portal`)."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        problem = chars.id_fault(value) if isinstance(value, str) else None
        if problem is not None:
            raise errors.InvalidInput(name, problem)


#: The dependency of every router but the dialect doors' (which answer in their own code tables).
PLAIN_PARAMETERS = fastapi.Depends(plain_parameters)


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


#: The methods that change nothing: a read token may call them on the admin API.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _authorize(request: fastapi.Request, scope: scopes.Scope) -> scopes.Principal:
    """The request's principal, also kept as `request.state.principal` and its name as `request.state.actor`.

    Raises errors.NotAuthorized (401) without a known, unrevoked bearer token, and errors.Forbidden (403) when
    the token's kind does not reach `scope`.
    """
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise errors.NotAuthorized()
    found = await tokens.authenticate(hub(request), presented.strip())
    request.state.principal = found
    request.state.actor = found.actor
    if not found.allows(scope):
        raise errors.Forbidden(
            f"a {found.kind.value} token does not reach this route (it needs {scope.value})"
        )
    return found


def _requirer(scope: scopes.Scope) -> Callable[[fastapi.Request], Awaitable[scopes.Principal]]:
    async def required(request: fastapi.Request) -> scopes.Principal:
        return await _authorize(request, scope)

    required.__name__ = f"require_{scope.value}"
    return required


_REQUIRED = {scope: _requirer(scope) for scope in scopes.Scope}


def require(scope: scopes.Scope) -> Callable[[fastapi.Request], Awaitable[scopes.Principal]]:
    """A dependency answering the request's principal when its token reaches `scope` (else 401 or 403)."""
    return _REQUIRED[scope]


async def require_admin(request: fastapi.Request) -> scopes.Principal:
    """The admin API's guard, for a whole router: reads (GET, HEAD) need Scope.READ, any other method
    Scope.ADMIN. A router of `/v1/admin` routes with this dependency is read-only for read tokens and closed
    to customer tokens without more ado."""
    return await _authorize(
        request, scopes.Scope.READ if request.method in SAFE_METHODS else scopes.Scope.ADMIN
    )


#: The audit log's name for whoever holds DLRHUB_ADMIN_TOKEN.
BOOTSTRAP_ACTOR = scopes.BOOTSTRAP.actor


def actor(request: fastapi.Request) -> str:
    """Who the audit log names for this request: the name the auth dependency set, else `bootstrap`."""
    found: str = getattr(request.state, "actor", BOOTSTRAP_ACTOR)
    return found


async def _hub(request: fastapi.Request) -> hub_.Hub:
    """`hub` as a dependency: FastAPI runs a plain `def` dependency in its thread pool, a thread hop (and a wait
    for the GIL on each side) in every request; a coroutine runs on the loop."""
    return hub(request)


#: A route parameter receiving the process's Hub.
HubDep = Annotated[hub_.Hub, fastapi.Depends(_hub)]
#: A route parameter receiving the principal of a token that may pull messages (customers: their own).
Puller = Annotated[scopes.Principal, fastapi.Depends(require(scopes.Scope.PULL))]
#: A route parameter receiving the principal of a token that may replay callbacks (customers: their own).
Replayer = Annotated[scopes.Principal, fastapi.Depends(require(scopes.Scope.REPLAY))]
