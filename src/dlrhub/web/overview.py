"""The dashboard's home page, `/ui`: the overview, and its live part that the page reloads every few seconds."""

from __future__ import annotations

from typing import Any

import fastapi

from dlrhub.services import overview
from dlrhub.web import charts, pages, session

router = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.operator)])

#: How often the page reloads its live part (htmx `every`).
REFRESH_S = 5


def _context(found: overview.Overview) -> dict[str, Any]:
    return {
        "o": found,
        "labels": [overview.result_label(r) for r in found.zalo],
        "accepted_points": charts.sparkline(found.accepted.counts),
        "delivered_points": charts.sparkline(found.delivered.counts),
        "chart": {"width": charts.WIDTH, "height": charts.HEIGHT},
        "window": overview.WINDOW_MINUTES,
        "max_oas": overview.MAX_OAS,
        "refresh_s": REFRESH_S,
    }


async def _snapshot(request: fastapi.Request) -> overview.Overview:
    """The overview, from this application's cache (made on first use)."""
    state = request.app.state
    cache: overview.Cache | None = getattr(state, "overview_cache", None)
    if cache is None:
        cache = state.overview_cache = overview.Cache()
    return await cache.get(state.hub)


@router.get("/ui")
async def home(request: fastapi.Request) -> fastapi.Response:
    found = await _snapshot(request)
    return pages.render(request, "overview.html", **_context(found))


@router.get("/ui/overview/live")
async def live(request: fastapi.Request) -> fastapi.Response:
    """The live part alone (the cards and tables), for htmx to swap in."""
    found = await _snapshot(request)
    return pages.render(request, "overview_live.html", **_context(found))
