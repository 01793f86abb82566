"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import fastapi

from dlrhub import store
from dlrhub.api import deps

router = fastapi.APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(hub: deps.HubDep) -> fastapi.Response:
    """The process can reach its database."""
    try:
        await hub.store.ping()
    except Exception as exc:  # any driver failure means not ready
        return deps.problem(503, "not_ready", f"database unreachable: {type(exc).__name__}")
    return deps.json_response({"status": "ready"})


@router.get("/metrics")
async def metrics(hub: deps.HubDep) -> fastapi.Response:
    """Prometheus text format: requests, events ingested, callbacks by state and more."""
    callbacks: store.Callbacks = hub.store
    endpoints: store.Endpoints = hub.store
    for state, count in (await callbacks.count_callbacks()).items():
        hub.metrics.callbacks.labels(state=state.value).set(count)
    for ep_state, ep_count in (await endpoints.count_endpoints()).items():
        hub.metrics.endpoints.labels(state=ep_state.value).set(ep_count)
    return fastapi.Response(hub.metrics.render(), media_type="text/plain; version=0.0.4")
