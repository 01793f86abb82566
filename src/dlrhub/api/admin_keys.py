"""Admin endpoints rotating an account's credentials, behind the admin token: customer key pairs with an overlap,
and Standard Webhooks signing secrets by key id."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import fastapi
import pydantic

from dlrhub.api import deps
from dlrhub.core import control
from dlrhub.services import keys

router = fastapi.APIRouter(
    prefix="/v1/admin/accounts/{account_id}",
    tags=["admin"],
    dependencies=[fastapi.Depends(deps.require_admin)],
)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong admin token."},
    404: {"description": "No such account (or signing key id)."},
    409: {
        "description": "A limit or a guard: a deactivated account, the last signing secret, too many secrets,"
        " a concurrent change."
    },
    422: {"description": "A bad value, naming the field."},
}
KeyId = Annotated[str, fastapi.Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]


class RotateIn(pydantic.BaseModel):
    """Until when the old pair keeps working: a time, or an overlap from now (default 24 h); 0 revokes it now."""

    model_config = pydantic.ConfigDict(extra="forbid")

    old_valid_until: pydantic.AwareDatetime | None = pydantic.Field(
        None, description="The time the old pair stops working (ISO 8601 with a zone)."
    )
    overlap_seconds: int | None = pydantic.Field(
        None,
        ge=0,
        le=int(keys.MAX_OVERLAP.total_seconds()),
        description="How long the old pair keeps working from now; 0 refuses it at once. Default 86400.",
    )


async def _rotate(
    kind: control.KeyKind, account_id: str, body: RotateIn | None, request: fastapi.Request
) -> fastapi.Response:
    given = body or RotateIn()
    overlap = None if given.overlap_seconds is None else dt.timedelta(seconds=given.overlap_seconds)
    done = await keys.rotate(
        deps.hub(request),
        account_id,
        kind,
        deps.actor(request),
        old_valid_until=given.old_valid_until,
        overlap=overlap,
    )
    return deps.json_response(done.answer())


@router.post(
    "/keys/esms/rotate",
    responses={
        200: {"description": "The new ApiKey and SecretKey (shown once) and the old key's end."},
        **ERRORS,
    },
)
async def rotate_esms(
    account_id: str, request: fastapi.Request, body: RotateIn | None = None
) -> fastapi.Response:
    """Give the account a new eSMS ApiKey/SecretKey, working at once; the old pair works until the time chosen."""
    return await _rotate(control.KeyKind.ESMS, account_id, body, request)


@router.post(
    "/keys/nxcloud/rotate",
    responses={
        200: {"description": "The new accessKey and accessSecret (shown once), the old key's end."},
        **ERRORS,
    },
)
async def rotate_nxcloud(
    account_id: str, request: fastapi.Request, body: RotateIn | None = None
) -> fastapi.Response:
    """Give the account a new NXCloud accessKey/accessSecret, working at once; the old pair works until the time
    chosen (a request signed with it is checked against its own secret)."""
    return await _rotate(control.KeyKind.NXCLOUD, account_id, body, request)


@router.get("/keys", responses={200: {"description": "Key hints, retired pairs, signing key ids."}, **ERRORS})
async def key_status(account_id: str, hub: deps.HubDep) -> fastapi.Response:
    """The account's current key hints (last 4 characters), its retired pairs with until when each works, and
    its signing key ids: what an operator checks to see an old key has stopped."""
    return deps.json_response(await keys.key_status(hub, account_id))


@router.post(
    "/signing-secrets",
    status_code=201,
    responses={
        201: {"description": "The new key id and secret (shown once), and every live key id."},
        **ERRORS,
    },
)
async def add_signing_secret(account_id: str, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Add a fresh signing secret: callbacks carry one signature per live secret."""
    return deps.json_response(await keys.add_signing_secret(hub, account_id, deps.actor(request)), 201)


@router.get("/signing-secrets", responses={200: {"description": '`{"key_ids": [...]}`'}, **ERRORS})
async def list_signing_secrets(account_id: str, hub: deps.HubDep) -> fastapi.Response:
    """The key ids of the live signing secrets (never the secrets)."""
    found = await keys.signing_key_ids(hub, account_id)
    return deps.json_response({"account_id": account_id, "key_ids": found, "signed": bool(found)})


@router.delete(
    "/signing-secrets/{key_id}",
    responses={200: {"description": "The key ids still live."}, **ERRORS},
)
async def retire_signing_secret(
    account_id: str,
    key_id: KeyId,
    request: fastapi.Request,
    hub: deps.HubDep,
    allow_unsigned: Annotated[
        bool, fastapi.Query(description="Required to retire the last secret (callbacks then go unsigned).")
    ] = False,
) -> fastapi.Response:
    """Stop signing with one secret; the others stay live."""
    done = await keys.retire_signing_secret(
        hub, account_id, key_id, deps.actor(request), allow_unsigned=allow_unsigned
    )
    return deps.json_response(done)
