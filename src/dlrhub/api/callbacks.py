"""Callback routes of the native API: a message's callbacks with attempts, replay, and endpoint health."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import fastapi
import pydantic

from dlrhub.api import deps, fields, native
from dlrhub.core import errors, models, scopes, urls
from dlrhub.services import endpoints, replay

router = fastapi.APIRouter(prefix="/v1", tags=["callbacks"])
#: Endpoint health is the operator's view (every account's): only admin (and, to read, read) tokens reach it.
_READ = [fastapi.Depends(deps.require(scopes.Scope.READ))]
_ADMIN = [fastapi.Depends(deps.require(scopes.Scope.ADMIN))]


def attempt_json(attempt: models.Attempt) -> dict[str, Any]:
    """One attempt as the API shows it."""
    return {
        "number": attempt.number,
        "started_at": attempt.started_at.isoformat(),
        "duration_ms": round(attempt.duration_ms, 3),
        "outcome": attempt.outcome.value,
        "status_code": attempt.status_code,
        "response": attempt.response,
        "error": attempt.error,
        "retry_after_s": attempt.retry_after_s,
    }


def callback_json(cb: models.Callback, attempts: list[models.Attempt] | None = None) -> dict[str, Any]:
    """One callback (and its attempts, when given) as the API shows it. The body is shown as text."""
    shown: dict[str, Any] = {
        "id": cb.id,
        "event_id": cb.event_id,
        "message_id": cb.message_id,
        "dialect": cb.dialect.value,
        "seq": cb.seq,
        "method": cb.request.method,
        "url": cb.request.url,
        "body": cb.request.body.decode("utf-8", errors="replace"),
        "endpoint": cb.endpoint,
        "health_key": cb.health_key or urls.health_key(cb.account_id, cb.request.url),
        "state": cb.state.value,
        "due_at": cb.due_at.isoformat(),
        "attempts": cb.attempts,
        "last_outcome": cb.last_outcome.value if cb.last_outcome else None,
        "last_status": cb.last_status,
        "created_at": cb.created_at.isoformat(),
    }
    if attempts is not None:
        shown["attempt_log"] = [attempt_json(a) for a in attempts]
    return shown


def endpoint_json(ep: models.Endpoint) -> dict[str, Any]:
    """One account's endpoint's health: its health key, that key's account and URL (origin and path), and the
    label logs, alerts and metrics name it by (`urls.health_label`)."""
    account_id, url = urls.split_health_key(ep.endpoint)
    return {
        "endpoint": ep.endpoint,
        "account_id": account_id,
        "url": url,
        "label": urls.health_label(ep.endpoint),
        "state": ep.state.value,
        "consecutive_failures": ep.consecutive_failures,
        "failing_since": ep.failing_since.isoformat() if ep.failing_since else None,
        "paused_until": ep.paused_until.isoformat() if ep.paused_until else None,
        "updated_at": ep.updated_at.isoformat(),
    }


@router.get("/messages/{message_id}/callbacks")
async def message_callbacks(message_id: native.Id, hub: deps.HubDep, who: deps.Puller) -> fastapi.Response:
    """A message's callbacks in delivery order, each with every attempt made. A customer token sees only its
    account's (another's answers 404)."""
    found = await replay.history(hub, message_id, who.account_id)
    return deps.json_response(
        {"message_id": message_id, "callbacks": [callback_json(cb, attempts) for cb, attempts in found]}
    )


@router.get("/callbacks/{callback_id}")
async def get_callback(callback_id: native.Id, hub: deps.HubDep, who: deps.Puller) -> fastapi.Response:
    """One callback with its attempts. A customer token sees only its account's (another's answers 404)."""
    cb, attempts = await replay.callback(hub, callback_id, who.account_id)
    return deps.json_response(callback_json(cb, attempts))


class ReplayIn(pydantic.BaseModel):
    """What to redeliver: callback ids, a message, or a time range; states and account narrow it."""

    model_config = pydantic.ConfigDict(extra="forbid")

    callback_ids: list[native.Id] = pydantic.Field(default_factory=list, max_length=replay.MAX_IDS)
    message_id: native.Id | None = None
    account: native.Id | None = None
    since: native.AwareTime | None = pydantic.Field(
        None, description="Callbacks created at or after this time."
    )
    until: native.AwareTime | None = pydantic.Field(None, description="Callbacks created before this time.")
    states: list[models.CallbackState] = pydantic.Field(default_factory=list, max_length=4)
    url: fields.Name | None = pydantic.Field(
        None, max_length=urls.MAX_URL_LENGTH, description="Send elsewhere."
    )
    limit: int = pydantic.Field(1000, ge=1, le=replay.MAX_REPLAY)
    dry_run: bool = False


@router.post("/callbacks/replay")
async def post_replay(
    body: ReplayIn, request: fastapi.Request, hub: deps.HubDep, who: deps.Replayer
) -> fastapi.Response:
    """Redeliver the selected callbacks now (same ids, fresh retry schedule); `dry_run` only lists them.

    A customer token replays only its account's callbacks: the selection is narrowed to them, and a message
    or account of another answers 404."""
    result = await replay.replay(
        hub,
        replay.ReplayRequest(
            callback_ids=tuple(body.callback_ids),
            message_id=body.message_id,
            account_id=body.account,
            since=body.since,
            until=body.until,
            states=tuple(body.states),
            url=body.url,
            limit=body.limit,
            dry_run=body.dry_run,
            owner=who.account_id,
        ),
        deps.actor(request),
    )
    return deps.json_response(
        {
            "selected": len(result.selected),
            "requeued": result.requeued,
            "dry_run": body.dry_run,
            "callbacks": [cb.id for cb in result.selected],
        }
    )


@router.get("/endpoints", dependencies=_READ)
async def list_endpoints(
    hub: deps.HubDep,
    state: Annotated[list[models.EndpointState] | None, fastapi.Query()] = None,
    account: Annotated[native.Id | None, fastapi.Query(description="Only this account's endpoints.")] = None,
) -> fastapi.Response:
    """Accounts' callback endpoints with their health: paused ones wait for `paused_until`, disabled ones refuse.
    An endpoint is one account's URL without its query (`acc_x:https://host:443/path`)."""
    found = await endpoints.listing(hub, tuple(state or ()), account_id=account)
    return deps.json_response({"endpoints": [endpoint_json(e) for e in found]})


class EndpointIn(pydantic.BaseModel):
    """An account's endpoint: its health key as listed (`acc_x:https://host:443/path`), or a callback URL with
    `account`, or a URL alone when only one account's endpoint at that URL is stored."""

    model_config = pydantic.ConfigDict(extra="forbid")

    endpoint: fields.Name = pydantic.Field(min_length=1, max_length=urls.MAX_URL_LENGTH + 200)
    account: native.Id | None = None
    #: Why, for the audit log.
    reason: fields.Name = pydantic.Field("", max_length=500)


@router.post("/endpoints/reset", dependencies=_ADMIN)
async def reset_endpoint(body: EndpointIn, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Re-enable a paused or disabled endpoint. Cancelled callbacks stay cancelled: replay them. A URL alone
    that several accounts' endpoints share answers 409: name the account."""
    try:
        healthy = await endpoints.reset(
            hub, body.endpoint, deps.actor(request), body.reason, account_id=body.account
        )
    except errors.NotFound as exc:
        return deps.problem(404, "not_found", str(exc))
    except errors.Conflict as exc:
        return deps.problem(409, "conflict", str(exc))
    return deps.json_response(endpoint_json(healthy))


class PauseIn(pydantic.BaseModel):
    """An account's endpoint (named as for reset; one never judged needs its account) to hold until a time
    (`until`), or for a number of minutes, with the reason (required)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    endpoint: fields.Name = pydantic.Field(min_length=1, max_length=urls.MAX_URL_LENGTH + 200)
    account: native.Id | None = None
    until: native.AwareTime | None = None
    minutes: int | None = pydantic.Field(None, ge=1, le=43_200)
    reason: fields.Name = pydantic.Field(min_length=1, max_length=500)


class ResumeIn(pydantic.BaseModel):
    """A paused account's endpoint (named as for reset) to resume now, with the reason (required)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    endpoint: fields.Name = pydantic.Field(min_length=1, max_length=urls.MAX_URL_LENGTH + 200)
    account: native.Id | None = None
    reason: fields.Name = pydantic.Field(min_length=1, max_length=500)


@router.post("/endpoints/pause", dependencies=_ADMIN)
async def pause_endpoint(body: PauseIn, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Hold every callback to one account's endpoint until `until` (or for `minutes`; exactly one), at most 30
    days; other accounts' endpoints on the same host keep sending. A URL alone that several accounts' endpoints
    share answers 409, one no endpoint has 404: name the account."""
    if (body.until is None) == (body.minutes is None):
        raise errors.InvalidInput("until", "give exactly one of until and minutes")
    until = body.until or hub.clock() + dt.timedelta(minutes=body.minutes or 0)
    actor = deps.actor(request)
    paused = await endpoints.pause(hub, body.endpoint, until, actor, body.reason, account_id=body.account)
    return deps.json_response(endpoint_json(paused))


@router.post("/endpoints/resume", dependencies=_ADMIN)
async def resume_endpoint(body: ResumeIn, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """End an endpoint's pause now: the callbacks it held are due, the next attempt is a probe."""
    actor = deps.actor(request)
    resumed = await endpoints.resume(hub, body.endpoint, actor, body.reason, account_id=body.account)
    return deps.json_response(endpoint_json(resumed))
