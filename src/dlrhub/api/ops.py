"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import fastapi

from dlrhub import __version__
from dlrhub.api import deps
from dlrhub.services import hub as hub_
from dlrhub.services import observe

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
    """Prometheus text format: this process's counters and histograms, and the store's gauges read now (see
    `services.observe`). The names are the same from `serve`, `api` and a worker's `worker_port`."""
    await observe.refresh(hub)
    return fastapi.Response(hub.metrics.render(), media_type="text/plain; version=0.0.4")


def create_app(hub: hub_.Hub) -> fastapi.FastAPI:
    """The HTTP door of a process that serves no API (`dlrhub worker` on `worker_port`): only these routes."""
    app = fastapi.FastAPI(title="dlrhub worker", version=__version__, docs_url=None, redoc_url=None)
    app.state.hub = hub
    app.include_router(router)
    return app
