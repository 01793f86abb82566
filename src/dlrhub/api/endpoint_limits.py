"""Rate limits per destination host: `/v1/admin/endpoint-limits` (the operator's) and `/v1/endpoint-limits`
(an account's own, on hosts its callbacks go to; see `services/endpoint_limits.py`)."""

from __future__ import annotations

from typing import Any

import fastapi
import pydantic

from dlrhub.api import deps
from dlrhub.services import endpoint_limits as limits

admin_router = fastapi.APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[fastapi.Depends(deps.require_admin)]
)
router = fastapi.APIRouter(prefix="/v1", tags=["callbacks"])


class LimitIn(pydantic.BaseModel):
    """A limit: the destination (a callback URL or `scheme://host:port`), requests a second, and a burst."""

    model_config = pydantic.ConfigDict(extra="forbid")

    endpoint: str = pydantic.Field(min_length=1, max_length=2048)
    rate_per_s: float = pydantic.Field(gt=0, le=limits.MAX_RATE)
    burst: int | None = pydantic.Field(
        None, ge=1, le=limits.MAX_BURST, description="Default: the rate (≥ 1)."
    )


_SET: dict[int | str, dict[str, Any]] = {
    200: {"description": "The limit as stored."},
    422: {"description": "A bad endpoint, rate or burst."},
}
_GONE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The limit removed."},
    404: {"description": "No limit on that host."},
}
_TENANT: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a host of the account's callbacks, or a limit someone else set."}
}
Endpoint = fastapi.Query(min_length=1, max_length=2048)


@admin_router.put("/endpoint-limits", responses=_SET)
async def put_limit(body: LimitIn, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Set (or replace) the limit of a destination host; a running dispatcher applies it within seconds."""
    made = await limits.set_limit(hub, deps.actor(request), body.endpoint, body.rate_per_s, body.burst)
    return deps.json_response(limits.limit_json(made))


@admin_router.get("/endpoint-limits", responses={200: {"description": "Every limit, by host."}})
async def list_limits(hub: deps.HubDep) -> fastapi.Response:
    """Every limit, by host, with who set it."""
    return deps.json_response({"limits": [limits.limit_json(lim) for lim in await limits.listing(hub)]})


@admin_router.delete("/endpoint-limits", responses=_GONE)
async def delete_limit(
    request: fastapi.Request, hub: deps.HubDep, endpoint: str = Endpoint
) -> fastapi.Response:
    """Remove the limit of a destination host (`?endpoint=`)."""
    return deps.json_response(limits.limit_json(await limits.remove(hub, deps.actor(request), endpoint)))


@router.put("/endpoint-limits", responses={**_SET, **_TENANT})
async def put_own_limit(
    body: LimitIn, request: fastapi.Request, hub: deps.HubDep, who: deps.Replayer
) -> fastapi.Response:
    """Set a limit on a host the account's callbacks go to (a customer token), unless someone else set one."""
    made = await limits.set_limit(
        hub, deps.actor(request), body.endpoint, body.rate_per_s, body.burst, account_id=who.account_id
    )
    return deps.json_response(limits.limit_json(made))


@router.get("/endpoint-limits", responses={200: {"description": "The limits the account set."}})
async def list_own_limits(hub: deps.HubDep, who: deps.Replayer) -> fastapi.Response:
    """The limits the account set (an admin token: every limit)."""
    found = await limits.listing(hub, who.account_id)
    return deps.json_response({"limits": [limits.limit_json(lim) for lim in found]})


@router.delete("/endpoint-limits", responses={**_GONE, **_TENANT})
async def delete_own_limit(
    request: fastapi.Request, hub: deps.HubDep, who: deps.Replayer, endpoint: str = Endpoint
) -> fastapi.Response:
    """Remove a limit the account set itself (`?endpoint=`)."""
    gone = await limits.remove(hub, deps.actor(request), endpoint, account_id=who.account_id)
    return deps.json_response(limits.limit_json(gone))
