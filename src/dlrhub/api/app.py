"""Assembles the FastAPI application: the front doors, error answers, request metrics and request ids."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import fastapi
import fastapi.exceptions
import fastapi.routing
import starlette.exceptions
import starlette.responses
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dlrhub import __version__
from dlrhub.adapters import tracing
from dlrhub.api import (
    admin,
    admin_accounts,
    admin_apps,
    admin_audit,
    admin_keys,
    admin_oas,
    admin_templates,
    admin_tokens,
    callbacks,
    deps,
    endpoint_limits,
    esms,
    feed,
    native,
    nxcloud,
    ops,
    orphans,
    outage,
    request_ids,
    zalo_webhook,
)
from dlrhub.core import errors
from dlrhub.services import hub as hub_
from dlrhub.services import zalo_wiring
from dlrhub.web import pages
from dlrhub.web import routes as web_routes

#: The front doors, busiest first: FastAPI tries routes in this order, so the send doors answer soonest.
ROUTERS = (
    nxcloud.router,
    esms.router,
    zalo_webhook.router,
    native.router,
    # Before `callbacks`: /v1/callbacks/undelivered is not a callback id.
    feed.router,
    callbacks.router,
    orphans.router,
    admin.router,
    admin_apps.router,
    admin_keys.router,
    admin_tokens.router,
    endpoint_limits.admin_router,
    endpoint_limits.router,
    admin_audit.router,
    admin_templates.router,
    admin_accounts.router,
    admin_oas.router,
    ops.router,
)
#: The dialect doors: they read their own input and answer every refusal in their own code tables.
DIALECT_ROUTERS = (nxcloud.router, esms.router, zalo_webhook.router)
Endpoint = Callable[[fastapi.Request], Awaitable[fastapi.Response]]
#: Endpoints served on the fast lane (see `App`): each takes only the request and answers every refusal itself.
FAST_ENDPOINTS: tuple[Endpoint, ...] = (nxcloud.mt, *esms.SEND_ENDPOINTS)


class App(fastapi.FastAPI):
    """dlrhub's FastAPI application, with a fast lane for the busiest send doors.

    A request for a fast door (at its route's method and path) goes straight to the endpoint, skipping
    FastAPI's middleware stack, router walk and dependency solving, which cost more than the door's own work
    (bench/ingest.py). The endpoint reads and bounds the body and answers every refusal itself; the lane counts
    the request as `RequestMetrics` does, answers errors.StoreUnavailable as the stack's handler does
    (`outage.answer`), and answers an unexpected exception with the stack's plain 500 before letting it
    propagate to the server. The door stays an ordinary route too: it is in the OpenAPI document, and the
    stack serves it under a `root_path` or an app-wide body limit, which the lane leaves alone. FastAPI's own
    OpenTelemetry spans do not cover the lane; dlrhub's Prometheus counters and its own spans (`tracing`) do.
    Every HTTP request, on the lane or not, gets its request id (`request_ids.serve`) and a span.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_lane: dict[tuple[str, str], tuple[Endpoint, Callable[[int], None]]] = {}

    def open_fast_lane(
        self, hub: hub_.Hub, routers: tuple[fastapi.APIRouter, ...], endpoints: tuple[Endpoint, ...]
    ) -> None:
        """Serve `endpoints`, routes of `routers` (included in this app without a prefix), on the fast lane."""
        if self.root_path or self.max_body_size is not None:
            return
        for route in (r for router in routers for r in router.routes):
            if not isinstance(route, fastapi.routing.APIRoute) or route.endpoint not in endpoints:
                continue
            if len(inspect.signature(route.endpoint).parameters) != 1 or route.dependant.dependencies:
                raise TypeError(f"{route.path}: a fast-lane endpoint takes only the request")
            for method in route.methods or ():
                self.fast_lane[(method, route.path)] = (route.endpoint, _counter(hub, method, route.path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # Here rather than in a middleware, so the fast lane's requests carry an id too.
            # Named by the method alone (a path may hold ids): the path is an attribute.
            method, path = scope["method"], scope["path"]
            with tracing.span(method, tracing.incoming(scope["headers"]), "server", url_path=path):
                await request_ids.serve(self._http, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not scope.get("root_path"):
            door = self.fast_lane.get((scope["method"], scope["path"]))
            if door is not None:
                scope["app"] = self
                await _serve_fast(door[0], door[1], scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _counter(hub: hub_.Hub, method: str, path: str) -> Callable[[int], None]:
    """Counts a request to `path` by status into `dlrhub_http_requests`, each label set looked up once."""
    children: dict[int, Any] = {}

    def count(status: int) -> None:
        child = children.get(status)
        if child is None:
            child = children[status] = hub.metrics.requests.labels(
                method=method, route=path, status=str(status)
            )
        child.inc()

    return count


async def _serve_fast(
    endpoint: Endpoint, count: Callable[[int], None], scope: Scope, receive: Receive, send: Send
) -> None:
    try:
        response = await endpoint(fastapi.Request(scope, receive))
    except errors.StoreUnavailable:
        response = outage.answer(scope["path"])
    except Exception:
        count(500)
        await starlette.responses.PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
        raise
    count(response.status_code)
    await response(scope, receive, send)


def create_app(hub: hub_.Hub, *, manage_store: bool = False) -> App:
    """The HTTP application over `hub`. With `manage_store`, it migrates the store at start and closes it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: fastapi.FastAPI) -> AsyncIterator[None]:
        if manage_store:
            await hub.store.migrate()
        try:
            yield
        finally:
            await zalo_wiring.close(app)
            if manage_store:
                await hub.close()

    app = App(
        title="dlrhub",
        version=__version__,
        description="Delivery reports for Zalo ZNS, SMS and Viber: eSMS.vn and NXCloud dialects, native API.",
        lifespan=lifespan,
        # `/docs` is served by the web door from the vendored files (`web/docs_pages.py`), never from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.hub = hub
    for router in ROUTERS:
        # The others refuse a path or query parameter no stored text may hold (NUL, ...) with their own 422.
        plain = [] if router in DIALECT_ROUTERS else [deps.PLAIN_PARAMETERS]
        app.include_router(router, dependencies=plain)
    web_routes.install(app, dependencies=[deps.PLAIN_PARAMETERS])
    zalo_wiring.install(app, hub)
    _install_error_answers(app)
    app.add_middleware(BodyLimit, limit=hub.settings.max_body_bytes, exempt=SELF_BOUNDED)
    app.add_middleware(RequestMetrics, hub=hub)
    app.open_fast_lane(hub, ROUTERS, FAST_ENDPOINTS)
    return app


def _said(err: Mapping[str, Any]) -> str:
    """pydantic's message for one error, a string's length told in characters: a text field that may be null
    (`fields.Name | None`) is measured after its character check, where pydantic speaks of "items"."""
    kind = err.get("type")
    if kind in ("too_long", "too_short") and isinstance(err.get("input"), str):
        bound = (err.get("ctx") or {}).get("max_length" if kind == "too_long" else "min_length")
        plural = "" if bound == 1 else "s"
        return f"String should have at {'most' if kind == 'too_long' else 'least'} {bound} character{plural}"
    return str(err.get("msg", "invalid"))


def _install_error_answers(app: fastapi.FastAPI) -> None:
    @app.exception_handler(errors.StoreUnavailable)
    async def unavailable(request: fastapi.Request, _: errors.StoreUnavailable) -> fastapi.Response:
        if pages.is_page(request):
            return pages.error(request, 503, "the database is unreachable: try again in a moment")
        # The route's own path, as `RequestMetrics` counts it: under a `root_path` the URL's path is longer.
        return outage.answer(getattr(request.scope.get("route"), "path", request.url.path))

    @app.exception_handler(fastapi.exceptions.RequestValidationError)
    async def invalid(
        request: fastapi.Request, exc: fastapi.exceptions.RequestValidationError
    ) -> fastapi.Response:
        if pages.is_page(request):
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'form'}: {_said(e)}"
                for e in exc.errors()
            )
            return pages.error(request, 422, problems)
        if any(_not_json(err) for err in exc.errors()):
            message = "body: not a JSON object (send one with Content-Type: application/json)"
            return deps.problem(400, "bad_request", message)
        fields = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            fields.append({"field": loc, "problem": _said(err)})
        message = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
        return deps.problem(422, "invalid_request", message, fields=fields)

    @app.exception_handler(starlette.exceptions.HTTPException)
    async def http_error(
        request: fastapi.Request, exc: starlette.exceptions.HTTPException
    ) -> fastapi.Response:
        if pages.is_page(request):
            detail = exc.detail if isinstance(exc.detail, str) else "request refused"
            return pages.error(request, exc.status_code, detail)
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 400 and "pars" in message:
            message = f"body: not valid JSON ({message})"
        return deps.problem(exc.status_code, code, message)

    statuses: list[tuple[type[errors.DlrhubError], int, str]] = [
        (errors.NotAuthorized, 401, "not_authorized"),
        (errors.Forbidden, 403, "forbidden"),
        (errors.NotFound, 404, "not_found"),
        (errors.Conflict, 409, "conflict"),
        (errors.InvalidInput, 422, "invalid_request"),
        (errors.BlockedURL, 422, "blocked_url"),
    ]
    for cls, status, code in statuses:

        async def handler(
            request: fastapi.Request, exc: Exception, status: int = status, code: str = code
        ) -> fastapi.Response:
            if pages.is_page(request):
                return pages.error(request, status, str(exc))
            extra = {"field": exc.field} if isinstance(exc, errors.InvalidInput) else {}
            headers = {"www-authenticate": "Bearer"} if status == 401 else None
            response = deps.problem(status, code, str(exc), **extra)
            if headers:
                response.headers.update(headers)
            return response

        app.add_exception_handler(cls, handler)


def _not_json(err: Any) -> bool:
    """Whether a validation error is about the whole body not being a JSON object: malformed, empty, an array,
    or sent as text (without `Content-Type: application/json`), rather than about one of its fields."""
    if err.get("type") == "json_invalid":
        return True
    return tuple(err.get("loc", ())) == ("body",) and not isinstance(err.get("input"), dict)


#: The doors that bound their own bodies, to answer in their own code tables; BodyLimit caps every other path's
#: body (FastAPI reads a body before it checks the route's token: an uncapped route is open to anyone's).
SELF_BOUNDED = (nxcloud.router.prefix + "/", esms.PREFIX, esms.GET_CALLBACK, "/zalo/webhook")


class BodyLimit:
    """ASGI middleware answering 413 when a request's body grows past `limit` bytes, on every path but those
    starting with one of `exempt`."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._too_large(scope, receive, send)
                return
        received = 0
        refused = False

        async def bounded_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Answer now; the app then sees a disconnect and anything it sends is dropped.
                    await self._too_large(scope, receive, send)
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, bounded_receive, guarded_send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = deps.problem(413, "body_too_large", f"the request body exceeds {self.limit} bytes")
        await response(scope, receive, send)


class RequestMetrics:
    """ASGI middleware counting requests by route template and status."""

    def __init__(self, app: ASGIApp, hub: hub_.Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.hub.metrics.requests.labels(method=scope["method"], route=path, status=str(status)).inc()
