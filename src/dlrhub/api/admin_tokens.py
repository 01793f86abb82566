"""`/v1/admin/tokens`: create, list and revoke the named API tokens (admin, read-only, per-account customer)."""

from __future__ import annotations

import fastapi
import pydantic

from dlrhub.api import deps, fields
from dlrhub.core import control
from dlrhub.services import tokens

router = fastapi.APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[fastapi.Depends(deps.require_admin)]
)


class TokenIn(pydantic.BaseModel):
    """A new token: its name (the audit log's actor for what it does), its kind, and a customer token's account."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(min_length=1, max_length=64, pattern=tokens.NAME.pattern)
    kind: control.TokenKind = pydantic.Field(
        description="`admin` (everything), `read` (every read, no change) or `customer` (one account's pull)."
    )
    account_id: fields.Name | None = pydantic.Field(
        None, min_length=1, max_length=64, description="The account of a customer token (only then)."
    )


@router.post(
    "/tokens",
    status_code=201,
    responses={
        201: {"description": "The token made; `token` is shown only in this answer."},
        404: {"description": "No such account."},
        409: {"description": "A token has this name already (revoked ones keep theirs)."},
        422: {"description": "A bad name, or an account given to a kind that takes none (or missing)."},
    },
)
async def create_token(body: TokenIn, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Make a named token. The answer holds the token itself, shown this once: only its SHA-256 is kept."""
    made = await tokens.create(hub, deps.actor(request), body.name, body.kind, body.account_id)
    return deps.json_response({**tokens.token_json(made.token), "token": made.secret}, 201)


@router.get("/tokens", responses={200: {"description": "Every token, oldest first, without secrets."}})
async def list_tokens(hub: deps.HubDep) -> fastapi.Response:
    """Every token, revoked ones too, oldest first: name, kind, account, the first characters of the token
    (`prefix`), who made it, when it was last used (written at most once a minute) and when it was revoked."""
    return deps.json_response({"tokens": [tokens.token_json(t) for t in await tokens.listing(hub)]})


@router.delete(
    "/tokens/{token_id}",
    responses={
        200: {"description": "The token, revoked (already revoked: unchanged)."},
        404: {"description": "No such token."},
    },
)
async def revoke_token(token_id: str, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Revoke a token: this process refuses it at once, every other within 2 seconds."""
    revoked = await tokens.revoke(hub, deps.actor(request), token_id[:64])
    return deps.json_response(tokens.token_json(revoked))
