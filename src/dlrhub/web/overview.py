"""The dashboard's home page, `/ui`."""

from __future__ import annotations

import fastapi

from dlrhub.web import pages, session

router = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.operator)])


@router.get("/ui")
async def home(request: fastapi.Request) -> fastapi.Response:
    return pages.render(request, "overview.html")
