"""No HTTP route under `/v1` hops to FastAPI's thread pool: its handler and every dependency it resolves are
coroutines. FastAPI runs a plain `def` handler or dependency with `run_in_threadpool`, which costs each request a
thread hop and waits for the GIL on both sides (bench/latency.py: the ingest request's tail)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import fastapi.routing

from dlrhub import settings
from dlrhub.api import app as app_
from dlrhub.services import hub as hub_


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Each API route with its path, endpoint and dependant, the included routers' ones as FastAPI resolves them."""
    for route in routes:
        if isinstance(route, fastapi.routing.APIRoute):
            yield route
        elif hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
            yield from route.effective_route_contexts()


def test_v1_routes_resolve_on_the_loop() -> None:
    hub = hub_.Hub.open(settings.Settings(database_url="sqlite:///:memory:"))
    app = app_.create_app(hub)
    routes = [r for r in _routes(app.routes) if r.path.startswith("/v1/")]
    assert routes
    hops = sorted(
        {
            f"{route.path}: {getattr(call, '__qualname__', call)}"
            for route in routes
            for call in [route.endpoint, *_calls(route.dependant)]
            if not inspect.iscoroutinefunction(call)
        }
    )
    assert hops == []
