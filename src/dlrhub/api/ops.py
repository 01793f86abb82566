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


@router.get(
    "/readyz",
    responses={
        503: {
            "description": "Not ready: the database does not answer, its schema is not migrated, or a background"
            " worker of this process is down (`workers_down` names them)."
        }
    },
)
async def readyz(hub: deps.HubDep) -> fastapi.Response:
    """Ready when the database answers, its schema has every migration this code knows applied, and every
    background worker of this process runs.

    A schema migrated further than this code (a newer release migrated it) stays ready: pulling every old
    process out of rotation during a rolling upgrade would be an outage. `dlrhub api` and `dlrhub worker`
    refuse to start on one instead.
    """
    down = dict(hub.health.down)
    if down:
        names = ", ".join(sorted(down))
        return deps.problem(503, "not_ready", f"background worker down: {names}", workers_down=down)
    try:
        schema = await hub.store.schema_state()
    except Exception as exc:  # any driver failure means not ready
        return deps.problem(503, "not_ready", f"database unreachable: {type(exc).__name__}")
    if schema.pending:
        return deps.problem(503, "not_ready", schema.problem() or "", pending_migrations=list(schema.pending))
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
