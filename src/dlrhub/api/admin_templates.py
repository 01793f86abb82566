"""Admin endpoints for an OA's ZNS templates: sync them from Zalo, register one by hand, list and show them."""

from __future__ import annotations

from decimal import Decimal

import fastapi
import pydantic

from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.api import deps, fields
from dlrhub.core import templates as templates_
from dlrhub.services import templates

router = fastapi.APIRouter(
    prefix="/v1/admin/oas/{oa_id}/templates",
    tags=["admin"],
    dependencies=[fastapi.Depends(deps.require_admin)],
)

#: What every route may answer besides success (dlrhub's admin error shape `{"error", "message"}`).
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "No or wrong admin token."},
    404: {"description": "No such OA (or template)."},
}


class ParamIn(pydantic.BaseModel):
    """One parameter, in Zalo's `listParams` spelling."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(pattern=templates_.PARAM_NAME.pattern, max_length=100)
    type: str = pydantic.Field(
        templates_.STRING, pattern=r"^[A-Za-z_]{1,32}$", description="STRING, NUMBER, DATE, ..."
    )
    require: bool = True
    #: Zalo's spelling, as `listParams` writes it.
    maxLength: int | None = pydantic.Field(None, ge=0, le=100_000)
    minLength: int | None = pydantic.Field(None, ge=0, le=100_000)
    acceptNull: bool = False


class TemplateIn(pydantic.BaseModel):
    """A template registered by hand (enabled). Without `params`, sends with it are not checked."""

    model_config = pydantic.ConfigDict(extra="forbid")

    template_id: str = pydantic.Field(pattern=templates_.TEMPLATE_ID.pattern, max_length=64)
    name: fields.Name = pydantic.Field("", max_length=200)
    params: list[ParamIn] | None = pydantic.Field(None, max_length=templates_.MAX_PARAMS)
    price: Decimal | None = pydantic.Field(None, ge=0, le=Decimal("1e12"))


def _zalo(request: fastapi.Request) -> zalo_client.ZaloClient:
    found: zalo_client.ZaloClient = request.app.state.zalo_client
    return found


@router.post(
    "/sync",
    responses={
        **ERRORS,
        502: {"description": "Zalo refused a template call or did not answer; nothing stored."},
    },
)
async def sync_templates(oa_id: str, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Read the OA's templates from Zalo's template API (the list, then each enabled one's detail) and store
    them in one transaction, with the OA's sendable template ids. A template Zalo no longer lists is marked
    DISABLE. Zalo failing half way stores nothing."""
    try:
        synced = await templates.sync(hub, _zalo(request), oa_id, actor=deps.actor(request))
    except templates.ZaloRefused as exc:
        return deps.problem(502, "zalo_error", str(exc), zalo_error=exc.zalo_error)
    return deps.json_response(synced.to_json())


@router.get("", responses=ERRORS)
async def list_templates(oa_id: str, hub: deps.HubDep) -> fastapi.Response:
    """The OA's templates, by id, with their status, source (`zalo` or `manual`) and parameters."""
    found = await templates.list_(hub, oa_id)
    return deps.json_response({"oa_id": oa_id, "templates": [t.to_json() for t in found]})


@router.post(
    "",
    status_code=201,
    responses={**ERRORS, 409: {"description": "The template was synced from Zalo: sync the OA instead."}},
)
async def add_template(
    oa_id: str, body: TemplateIn, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Register a template by hand, enabled, so the OA may send with it; with `params`, sends are checked
    against them."""
    made = await templates.add(
        hub,
        oa_id,
        body.template_id,
        name=body.name,
        params=None if body.params is None else [p.model_dump() for p in body.params],
        price=body.price,
        actor=deps.actor(request),
    )
    return deps.json_response(made.to_json(), 201)


@router.get("/{template_id}", responses=ERRORS)
async def show_template(oa_id: str, template_id: str, hub: deps.HubDep) -> fastapi.Response:
    """One of the OA's templates."""
    return deps.json_response((await templates.show(hub, oa_id, template_id)).to_json())
