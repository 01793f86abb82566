"""Admin endpoints for real Zalo OAs: register one (checked against Zalo at once), list, show, update its secrets,
deactivate it."""

from __future__ import annotations

from typing import Any

import fastapi
import pydantic

from dlrhub.adapters.zalo import client
from dlrhub.api import deps
from dlrhub.services import oas

router = fastapi.APIRouter(
    prefix="/v1/admin", tags=["admin: OAs"], dependencies=[fastapi.Depends(deps.require_admin)]
)

#: What the routes that ask Zalo answer when it refuses or does not answer.
ZALO_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such account or OA."},
    409: {"description": "The OA is already registered (checked before its refresh token is spent)."},
    422: {"description": "A malformed value, or Zalo refused the credentials: `zalo_error` holds its code."},
    503: {"description": "Zalo did not answer; nothing was stored."},
}

Secret = pydantic.Field(min_length=1, max_length=oas.MAX_SECRET)


class OAIn(pydantic.BaseModel):
    """A real OA, as Zalo's developer console gives it. Secrets are written once and never shown again."""

    model_config = pydantic.ConfigDict(extra="forbid")

    oa_id: str = pydantic.Field(pattern=r"^[0-9]{1,32}$", description="The OA's id.")
    app_id: str = pydantic.Field(pattern=r"^[0-9]{1,32}$", description="The Zalo app linked to the OA.")
    app_secret: str = pydantic.Field(
        min_length=1, max_length=oas.MAX_SECRET, description="The app's secret key."
    )
    oa_secret: str = pydantic.Field(
        min_length=1,
        max_length=oas.MAX_SECRET,
        description="The OA secret key: it signs Zalo's webhook events.",
    )
    refresh_token: str = pydantic.Field(
        min_length=1, max_length=oas.MAX_SECRET, description="A refresh token: dlrhub spends it at once."
    )


class SecretsIn(pydantic.BaseModel):
    """The secrets to replace (at least one)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    app_secret: str | None = pydantic.Field(None, min_length=1, max_length=oas.MAX_SECRET)
    oa_secret: str | None = pydantic.Field(None, min_length=1, max_length=oas.MAX_SECRET)
    refresh_token: str | None = pydantic.Field(None, min_length=1, max_length=oas.MAX_SECRET)


def _zalo(request: fastapi.Request) -> client.ZaloClient:
    found: client.ZaloClient = request.app.state.zalo_client
    return found


def _refused(exc: oas.ZaloRefused) -> fastapi.Response:
    if exc.timed_out:
        return deps.problem(503, "zalo_unavailable", str(exc), field=exc.field, zalo_error=None)
    return deps.problem(
        422,
        "zalo_refused",
        str(exc),
        field=exc.field,
        zalo_error=exc.zalo_error,
        zalo_message=exc.zalo_message,
    )


@router.post("/accounts/{account_id}/oas", status_code=201, responses=ZALO_RESPONSES)
async def register_oa(
    account_id: str, body: OAIn, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Register a real OA for the account: dlrhub refreshes its token through Zalo at once and reads its quota.

    Zalo refusing (a wrong app secret, a dead refresh token) answers 422 with Zalo's `zalo_error`, and nothing is
    stored. The account's apps without an OA are routed to it. The answer shows the OA with its secrets masked.
    """
    registration = oas.Registration(**body.model_dump())
    try:
        found = await oas.register(hub, _zalo(request), account_id, registration, deps.actor(request))
    except oas.ZaloRefused as exc:
        return _refused(exc)
    return deps.json_response(found, 201)


@router.get("/oas")
async def list_oas(
    hub: deps.HubDep, account_id: str | None = fastapi.Query(None, max_length=64)
) -> fastapi.Response:
    """Every OA (or one account's), by id: secrets masked, tokens omitted, when the refresh token expires."""
    return deps.json_response({"oas": await oas.listing(hub, account_id)})


@router.get("/oas/{oa_id}", responses={404: {"description": "No such OA."}})
async def show_oa(oa_id: str, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """One OA as the list shows it, with today's quota asked of Zalo (absent when Zalo does not give it)."""
    return deps.json_response(await oas.show(hub, _zalo(request), oa_id))


@router.patch("/oas/{oa_id}/secrets", responses=ZALO_RESPONSES)
async def update_oa_secrets(
    oa_id: str, body: SecretsIn, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Replace the OA's app secret, OA secret and/or refresh token.

    A new app secret or refresh token is checked by refreshing at once; Zalo refusing answers 422 with
    `zalo_error` and nothing changes. The OA secret (webhook signatures) takes effect at once.
    """
    try:
        found = await oas.update_secrets(hub, _zalo(request), oa_id, body.model_dump(), deps.actor(request))
    except oas.ZaloRefused as exc:
        return _refused(exc)
    return deps.json_response(found)


@router.post("/oas/{oa_id}/deactivate", responses={404: {"description": "No such OA."}})
async def deactivate_oa(oa_id: str, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Stop sends through the OA: eSMS then refuses them with 799, NXCloud with 9005."""
    return deps.json_response(await oas.deactivate(hub, oa_id, deps.actor(request)))
