"""A message's page: `/ui/messages/{id}` for operators (with a Replay button per callback) and
`/portal/messages/{id}` for the account's customer session; one template shows both (`message_detail.html`)."""

from __future__ import annotations

import urllib.parse
from typing import Annotated

import fastapi

from dlrhub.core import scopes
from dlrhub.services import callback_lists, message_view
from dlrhub.web import pages, session

#: A message or callback id in a path (ids are printable ASCII, at most 128 characters).
IdPath = Annotated[str, fastapi.Path(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]

operator = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.operator)])
customer = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.customer)])


def can_replay(request: fastapi.Request) -> bool:
    """Whether the session may replay (an admin session: read sessions look, customers use their portal)."""
    principal = getattr(request.state, "principal", None)
    return principal is not None and principal.account_id is None and principal.allows(scopes.Scope.ADMIN)


def _base(tree: str, message_id: str) -> str:
    """The message page's path, its id quoted as it must be in a URL (its callbacks section is polled under it)."""
    return f"{tree}/messages/{urllib.parse.quote(message_id, safe='')}"


@operator.get("/ui/messages/{message_id}")
async def dashboard_page(
    request: fastapi.Request, message_id: IdPath, replayed: str = ""
) -> fastapi.Response:
    shown = await message_view.view(request.app.state.hub, message_id)
    return pages.render(
        request,
        "message.html",
        view=shown,
        base=_base("/ui", message_id),
        can_replay=can_replay(request),
        replayed=replayed[:128],
    )


@operator.get("/ui/messages/{message_id}/callbacks")
async def dashboard_callbacks(request: fastapi.Request, message_id: IdPath) -> fastapi.Response:
    """The callbacks section alone: the page polls it while a callback is pending."""
    shown = await message_view.view(request.app.state.hub, message_id)
    return pages.render(
        request,
        "message_callbacks.html",
        view=shown,
        base=_base("/ui", message_id),
        can_replay=can_replay(request),
    )


@operator.post(
    "/ui/callbacks/{callback_id}/replay",
    dependencies=[fastapi.Depends(session.admin), fastapi.Depends(session.check_csrf)],
)
async def replay_one(request: fastapi.Request, callback_id: IdPath) -> fastapi.Response:
    """Send one callback again now (same id, a fresh retry schedule), then back to its message's page."""
    cb = await callback_lists.replay_one(request.app.state.hub, callback_id, request.state.actor)
    if cb.message_id is None:  # an alert to the operator: no message page
        return fastapi.responses.RedirectResponse("/ui/callbacks", status_code=303)
    query = urllib.parse.urlencode({"replayed": cb.id})
    target = f"/ui/messages/{urllib.parse.quote(cb.message_id, safe='')}?{query}"
    return fastapi.responses.RedirectResponse(target, status_code=303)


@customer.get("/portal/messages/{message_id}")
async def portal_page(request: fastapi.Request, message_id: IdPath) -> fastapi.Response:
    """The account's own message only: another account's answers 404 exactly like a missing one."""
    owner = request.state.principal.account_id
    shown = await message_view.view(request.app.state.hub, message_id, owner)
    return pages.render(
        request, "portal/message.html", view=shown, base=_base("/portal", message_id), can_replay=False
    )


@customer.get("/portal/messages/{message_id}/callbacks")
async def portal_callbacks(request: fastapi.Request, message_id: IdPath) -> fastapi.Response:
    owner = request.state.principal.account_id
    shown = await message_view.view(request.app.state.hub, message_id, owner)
    return pages.render(
        request,
        "message_callbacks.html",
        view=shown,
        base=_base("/portal", message_id),
        can_replay=False,
    )
