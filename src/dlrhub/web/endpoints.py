"""`/ui/endpoints`: accounts' callback endpoints' health with their recent failures; pause, resume and reset one.

An endpoint is one account's callback URL without its query (its health key, `acc_x:https://host:443/path`); the
table shows each one's account and URL, filtered by state and account. Pausing one holds that account's callbacks
to that URL only: other accounts' endpoints on the same host keep sending.

The actions call `services.endpoints`, as `POST /v1/endpoints/pause|resume|reset` and `dlrhub endpoints` do; each
needs an admin session, the form's CSRF token and a reason, which goes to the audit log."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Annotated

import fastapi

from dlrhub.core import errors, models, scopes, urls
from dlrhub.services import endpoints
from dlrhub.web import pages, session

router = fastapi.APIRouter(include_in_schema=False)
_ACT = [fastapi.Depends(session.admin), fastapi.Depends(session.check_csrf)]
#: Endpoints one page lists, and the recent failures shown for each.
PAGE = 50
FAILURES = 3
#: What a form field may hold.
Endpoint = Annotated[str, fastapi.Form(min_length=1, max_length=urls.MAX_URL_LENGTH + 200)]
Filter = Annotated[str, fastapi.Form(max_length=100)]
Reason = Annotated[str, fastapi.Form(max_length=endpoints.MAX_REASON)]
#: The notice an action leaves on the page it returns to.
DONE = {"pause": "paused", "resume": "resumed", "reset": "reset"}


@router.get("/ui/endpoints", dependencies=[fastapi.Depends(session.operator)])
async def listing(
    request: fastapi.Request,
    state: Annotated[models.EndpointState | None, fastapi.Query()] = None,
    page: Annotated[int, fastapi.Query(ge=1, le=1000)] = 1,
    account: Annotated[str, fastapi.Query(max_length=100)] = "",
    done: Annotated[str, fastapi.Query(max_length=20)] = "",
    endpoint: Annotated[str, fastapi.Query(max_length=urls.MAX_URL_LENGTH + 200)] = "",
) -> fastapi.Response:
    """The table, by health key (account, then URL), filtered by state and account; a page of PAGE with each
    one's last failures."""
    hub = request.app.state.hub
    account = account.strip()
    found = await endpoints.listing(hub, (state,) if state else (), account_id=account or None)
    shown = found[(page - 1) * PAGE : page * PAGE]
    failures = await endpoints.recent_failures(hub, [e.endpoint for e in shown], FAILURES)
    principal: scopes.Principal = request.state.principal
    return pages.render(
        request,
        "endpoints.html",
        rows=[(e, *urls.split_health_key(e.endpoint), failures.get(e.endpoint, [])) for e in shown],
        states=list(models.EndpointState),
        state=state.value if state else "",
        account=account,
        filters=urllib.parse.urlencode(
            {k: v for k, v in (("state", state.value if state else ""), ("account", account)) if v}
        ),
        page=page,
        more=len(found) > page * PAGE,
        total=len(found),
        can_act=principal.allows(scopes.Scope.ADMIN),
        notice=f"{endpoint} {DONE[done]}." if done in DONE and endpoint else "",
        now=hub.clock(),
    )


def _back(action: str, endpoint: str, state: str, account: str) -> fastapi.Response:
    query = {"done": action, "endpoint": endpoint}
    if state in {s.value for s in models.EndpointState}:
        query["state"] = state
    if account.strip():
        query["account"] = account.strip()
    return fastapi.responses.RedirectResponse(
        "/ui/endpoints?" + urllib.parse.urlencode(query), status_code=303
    )


def _until(request: fastapi.Request, minutes: str, until: str) -> dt.datetime:
    """The end of a pause: `until` (a UTC time, as `<input type=datetime-local>` gives it) or `minutes` from now."""
    now: dt.datetime = request.app.state.hub.clock()
    if until.strip():
        try:
            when = dt.datetime.fromisoformat(until.strip())
        except ValueError:
            raise errors.InvalidInput("until", f"{until!r} is not a time") from None
        return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when
    if not minutes.strip().isdigit() or not 1 <= int(minutes) <= 43_200:
        raise errors.InvalidInput("minutes", "a whole number of minutes, 1 to 43200 (30 days)")
    return now + dt.timedelta(minutes=int(minutes))


@router.post("/ui/endpoints/pause", dependencies=_ACT)
async def pause(
    request: fastapi.Request,
    endpoint: Endpoint,
    reason: Reason = "",
    minutes: Annotated[str, fastapi.Form(max_length=6)] = "",
    until: Annotated[str, fastapi.Form(max_length=40)] = "",
    state: Annotated[str, fastapi.Form(max_length=20)] = "",
    account: Filter = "",
) -> fastapi.Response:
    end = _until(request, minutes, until)
    paused = await endpoints.pause(request.app.state.hub, endpoint, end, request.state.actor, reason)
    return _back("pause", paused.endpoint, state, account)


@router.post("/ui/endpoints/resume", dependencies=_ACT)
async def resume(
    request: fastapi.Request,
    endpoint: Endpoint,
    reason: Reason = "",
    state: Annotated[str, fastapi.Form(max_length=20)] = "",
    account: Filter = "",
) -> fastapi.Response:
    resumed = await endpoints.resume(request.app.state.hub, endpoint, request.state.actor, reason)
    return _back("resume", resumed.endpoint, state, account)


@router.post("/ui/endpoints/reset", dependencies=_ACT)
async def reset(
    request: fastapi.Request,
    endpoint: Endpoint,
    reason: Reason = "",
    state: Annotated[str, fastapi.Form(max_length=20)] = "",
    account: Filter = "",
) -> fastapi.Response:
    if not reason.strip():
        raise errors.InvalidInput("reason", "required (it goes to the audit log)")
    healthy = await endpoints.reset(request.app.state.hub, endpoint, request.state.actor, reason.strip())
    return _back("reset", healthy.endpoint, state, account)
