"""Admin endpoints, behind the bearer token: create an account (the rest of accounts: `admin_accounts`)."""

from __future__ import annotations

from decimal import Decimal

import fastapi
import pydantic

from dlrhub.api import deps, fields
from dlrhub.services import accounts

router = fastapi.APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[fastapi.Depends(deps.require_admin)]
)


class AccountIn(pydantic.BaseModel):
    """A new account."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: fields.Name = pydantic.Field(min_length=1, max_length=200)
    currency: str = pydantic.Field("VND", pattern=r"^[A-Z]{3}$")
    balance: Decimal = pydantic.Field(Decimal("1000000"), ge=0, le=Decimal("1e15"))
    utc_offset_minutes: int = pydantic.Field(
        480, ge=-720, le=840, description="Time zone of NXCloud `sendTime` (DECISIONS: UTC+08:00 by default)."
    )
    dr_url: fields.Name | None = pydantic.Field(None, max_length=256)
    signed: bool = pydantic.Field(False, description="Sign callbacks with a fresh Standard Webhooks secret.")
    esms_delivered_callback: bool = pydantic.Field(
        False,
        description="A second eSMS GET callback when Zalo reports a message delivered (DECISIONS: off).",
    )
    demo_oa: bool | None = pydantic.Field(
        None,
        description="Make a demo OA with templates 100001-100003 that only the simulator accepts. Default: only"
        " when this dlrhub talks to the simulator; with the real Zalo, register the OA (`POST .../oas`).",
    )


@router.post("/accounts", status_code=201)
async def create_account(body: AccountIn, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Create an account; the answer holds its secrets, shown only this once."""
    made = await accounts.create(
        hub,
        body.name,
        currency=body.currency,
        balance=body.balance,
        utc_offset_minutes=body.utc_offset_minutes,
        dr_url=body.dr_url,
        signed=body.signed,
        esms_delivered_callback=body.esms_delivered_callback,
        actor=deps.actor(request),
        with_demo_oa=body.demo_oa,
    )
    return deps.json_response(made.credentials(), 201)
