"""Logging in with an API token, and out: the token goes into the session cookie (see `session`)."""

from __future__ import annotations

from typing import Annotated

import fastapi

from dlrhub.core import control, errors
from dlrhub.services import tokens
from dlrhub.web import pages, session

router = fastapi.APIRouter(include_in_schema=False)


def _home(kind: control.TokenKind) -> str:
    return "/portal" if kind is control.TokenKind.CUSTOMER else "/ui"


@router.get("/ui/login")
async def form(request: fastapi.Request, next: str = "") -> fastapi.Response:
    return pages.render(request, "login.html", next=session.safe_next(next, ""), problem="")


@router.post("/ui/login")
async def login(
    request: fastapi.Request,
    token: Annotated[str, fastapi.Form(max_length=session.MAX_TOKEN_CHARS)] = "",
    next: Annotated[str, fastapi.Form(max_length=2000)] = "",
) -> fastapi.Response:
    """Check the token as the API would; on success set the cookie and go to the page asked for (or home).

    No CSRF token yet (there is no session): SameSite=Strict and the token itself guard this form."""
    token = token.strip()
    try:
        found = await tokens.authenticate(request.app.state.hub, token)
    except errors.NotAuthorized:
        return pages.render(
            request,
            "login.html",
            status_code=401,
            next=session.safe_next(next, ""),
            problem="That token is unknown, revoked, or its account is deactivated.",
        )
    home = _home(found.kind)
    target = session.safe_next(next, home)
    if found.kind is control.TokenKind.CUSTOMER and not target.startswith("/portal"):
        target = home
    response = fastapi.responses.RedirectResponse(target, status_code=303)
    session.set_cookie(response, request, token)
    return response


@router.post(
    "/ui/logout", dependencies=[fastapi.Depends(session.viewer), fastapi.Depends(session.check_csrf)]
)
async def logout(request: fastapi.Request) -> fastapi.Response:
    response = fastapi.responses.RedirectResponse("/ui/login", status_code=303)
    session.clear_cookie(response, request)
    return response
