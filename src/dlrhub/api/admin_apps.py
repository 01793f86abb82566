"""Admin endpoints for NXCloud apps, behind the admin token: create one for an account, list, show and change them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import fastapi
import pydantic

from dlrhub.api import deps, fields
from dlrhub.services import apps

router = fastapi.APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[fastapi.Depends(deps.require_admin)]
)

#: The error answers these routes document (dlrhub's admin shape `{"error", "message"}`).
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong admin token."},
    404: {"description": "No such account or app."},
    422: {"description": "A bad value: `invalid_request` (naming the field) or `blocked_url` (the DR URL)."},
}
Quotation = Annotated[Decimal, pydantic.Field(ge=0, le=apps.MAX_QUOTATION)]
Currency = Annotated[str, pydantic.Field(pattern=r"^[A-Z]{3}$")]
Url = Annotated[fields.Name, pydantic.Field(max_length=2048)]
OaId = Annotated[fields.Name, pydantic.Field(min_length=1, max_length=64)]
AppName = Annotated[fields.Name, pydantic.Field(min_length=1, max_length=200)]


class AppIn(pydantic.BaseModel):
    """A new NXCloud app of the account."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: AppName
    dr_url: Url | None = pydantic.Field(None, description="The default DR URL (a request's drWebhook wins).")
    quotation: Quotation | None = pydantic.Field(
        None, description="Unit price of one ZNS; null: no quotation, sends are refused with 9004."
    )
    currency: Currency | None = pydantic.Field(None, description="Default: the account's currency.")
    routed: bool = pydantic.Field(True, description="Whether the app has a route to Zalo (9005 when not).")
    oa_id: OaId | None = pydantic.Field(None, description="The account's OA the app sends through.")
    active: bool = True


class AppChanges(pydantic.BaseModel):
    """The fields to change; a field left out stays as it is, a null clears it."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: AppName | None = None
    dr_url: Url | None = None
    quotation: Quotation | None = pydantic.Field(None, description="null removes the quotation (9004).")
    currency: Currency | None = None
    routed: bool | None = None
    active: bool | None = None
    oa_id: OaId | None = None


@router.post(
    "/accounts/{account_id}/apps", status_code=201, responses={201: {"description": "The app."}, **ERRORS}
)
async def create_app(
    account_id: str, body: AppIn, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Create an NXCloud app for the account, with a new appkey."""
    app = await apps.create(
        hub,
        account_id,
        deps.actor(request),
        name=body.name,
        dr_url=body.dr_url,
        quotation=body.quotation,
        currency=body.currency,
        routed=body.routed,
        oa_id=body.oa_id,
        active=body.active,
    )
    return deps.json_response(apps.app_json(app), 201)


@router.get("/apps", responses={200: {"description": '`{"apps": [...]}`'}, **ERRORS})
async def list_apps(
    hub: deps.HubDep,
    account_id: Annotated[str | None, fastapi.Query(max_length=64)] = None,
) -> fastapi.Response:
    """NXCloud apps: the account's, or every account's (at most 10,000)."""
    found = await apps.list_apps(hub, account_id)
    return deps.json_response({"apps": [apps.app_json(a) for a in found]})


@router.get("/apps/{appkey}", responses={200: {"description": "The app."}, **ERRORS})
async def show_app(appkey: str, hub: deps.HubDep) -> fastapi.Response:
    """One NXCloud app."""
    return deps.json_response(apps.app_json(await apps.get(hub, appkey)))


@router.patch("/apps/{appkey}", responses={200: {"description": "The app as changed."}, **ERRORS})
async def change_app(
    appkey: str, body: AppChanges, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Change an app's name, DR URL, quotation, currency, route, OA or state. The send path sees the change within
    2 s (at once in this process)."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    app = await apps.update(hub, appkey, changes, deps.actor(request))
    return deps.json_response(apps.app_json(app))
