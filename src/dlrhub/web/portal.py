"""The customer portal, `/portal`: one account's deliveries, for that account's customer token only."""

from __future__ import annotations

import fastapi

from dlrhub.web import pages, session

router = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.customer)])


@router.get("/portal")
async def home(request: fastapi.Request) -> fastapi.Response:
    return pages.render(request, "portal/home.html")
