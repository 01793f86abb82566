"""The web door's routers and static files, and how they join the application (`api.app.create_app`)."""

from __future__ import annotations

from collections.abc import Sequence

import fastapi
import fastapi.params
import fastapi.staticfiles

from dlrhub.web import (
    account_actions,
    accounts,
    callbacks_page,
    docs_pages,
    endpoints,
    login,
    message_page,
    messages,
    overview,
    pages,
    portal,
    session,
)

#: Every router of the web door.
ROUTERS: tuple[fastapi.APIRouter, ...] = (
    login.router,
    overview.router,
    messages.router,
    portal.router,
    message_page.operator,
    message_page.customer,
    callbacks_page.router,
    endpoints.router,
    accounts.router,
    account_actions.router,
    docs_pages.router,
)


def install(app: fastapi.FastAPI, dependencies: Sequence[fastapi.params.Depends] = ()) -> None:
    """Add the pages, `/static` and the login redirect to `app` (made with `docs_url=None, redoc_url=None`);
    `dependencies` run before every page's own (the API's guard on path and query parameters)."""
    app.mount("/static", fastapi.staticfiles.StaticFiles(directory=pages.HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router, dependencies=dependencies)

    @app.exception_handler(session.LoginNeeded)
    async def login_needed(request: fastapi.Request, _: session.LoginNeeded) -> fastapi.Response:
        target = session.login_url(request)
        if request.headers.get("hx-request"):  # htmx follows this header with a full page load
            return fastapi.Response(status_code=204, headers={"HX-Redirect": target})
        return fastapi.responses.RedirectResponse(target, status_code=303)
