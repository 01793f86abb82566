"""Admin endpoints for running accounts: list, show, change, lock, unlock, deactivate, and the balance ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import fastapi
import pydantic

from dlrhub.api import deps, fields
from dlrhub.core import control, models
from dlrhub.services import account_changes, accounts, ledger

router = fastapi.APIRouter(
    prefix="/v1/admin/accounts",
    tags=["admin: accounts"],
    dependencies=[fastapi.Depends(deps.require_admin)],
    responses={
        401: {"description": "No valid admin token."},
        404: {"description": 'No such account (`{"error": "not_found", ...}`).'},
        422: {"description": 'A bad value (`{"error": "invalid_request", "field": ...}`).'},
    },
)

AccountId = Annotated[
    str, fastapi.Path(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$", description="The account id.")
]
#: A price list change: TypeId or `tpl:<template id>` -> price, or null to remove it.
PriceChanges = Annotated[dict[str, Decimal | None], pydantic.Field(max_length=500)]


class AccountPatch(pydantic.BaseModel):
    """The fields to change; those left out stay as they are."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: fields.Name | None = pydantic.Field(None, min_length=1, max_length=200)
    currency: str | None = pydantic.Field(None, pattern=r"^[A-Z]{3}$")
    prices: PriceChanges | None = pydantic.Field(
        None,
        description='Merged into the price list: `"25": "300"` prices a TypeId, `"tpl:100001": "500"` a '
        "template (priced first), `null` removes a key.",
    )
    utc_offset_minutes: int | None = pydantic.Field(None, ge=-720, le=840)
    esms_delivered_callback: bool | None = None
    default_callback_url: fields.Name | None = pydantic.Field(
        None,
        max_length=2048,
        description='Where callbacks go when a send names none; `null` or `""` removes it.',
    )
    notify_url: fields.Name | None = pydantic.Field(
        None,
        max_length=2048,
        description="Where dlrhub tells the account that one of its callback endpoints was disabled "
        '(`alert.destination.disabled`, signed with its signing secrets); `null` or `""` removes it.',
    )


class LedgerIn(pydantic.BaseModel):
    """One operator row of the ledger."""

    model_config = pydantic.ConfigDict(extra="forbid")

    kind: Literal["top_up", "adjustment", "refund"] = pydantic.Field(
        "top_up", description="`top_up` and `refund` add; an `adjustment` may be negative."
    )
    amount: Decimal = pydantic.Field(ge=-ledger.MAX_AMOUNT, le=ledger.MAX_AMOUNT, decimal_places=4)
    reason: fields.Text = pydantic.Field(min_length=1, max_length=ledger.MAX_REASON)


def _account(account: models.Account) -> fastapi.Response:
    return deps.json_response(accounts.public(account))


@router.get("")
async def list_accounts(
    hub: deps.HubDep,
    status: Annotated[models.AccountStatus | None, fastapi.Query(description="Only this status.")] = None,
    name: Annotated[
        str | None, fastapi.Query(max_length=200, description="Part of the name, any case.")
    ] = None,
    after: Annotated[
        str | None, fastapi.Query(max_length=64, description="The previous page's `next`.")
    ] = None,
    limit: Annotated[int, fastapi.Query(ge=1, le=accounts.MAX_PAGE)] = 100,
) -> fastapi.Response:
    """Accounts oldest first, without secrets; `next` is the cursor of the following page (null on the last)."""
    found = await accounts.find(hub, status=status, name_contains=name, after=after, limit=limit)
    following = found[-1].id if len(found) == limit else None
    return deps.json_response({"accounts": [accounts.public(a) for a in found], "next": following})


@router.get("/{account_id}")
async def show_account(account_id: AccountId, hub: deps.HubDep) -> fastapi.Response:
    """One account, without secrets."""
    return _account(await accounts.show(hub, account_id))


@router.patch("/{account_id}", responses={409: {"description": "The account is deactivated."}})
async def update_account(
    account_id: AccountId, body: AccountPatch, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Change an account's name, currency, prices, time zone, eSMS delivered-callback choice or default callback
    URL (checked by the URL guard); the answer is the account as changed."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    changed = await account_changes.update(hub, account_id, changes, actor=deps.actor(request))
    return _account(changed)


async def _status(
    hub: deps.HubDep, request: fastapi.Request, account_id: str, status: models.AccountStatus
) -> fastapi.Response:
    return _account(await account_changes.set_status(hub, account_id, status, actor=deps.actor(request)))


@router.post("/{account_id}/lock", responses={409: {"description": "The account is deactivated."}})
async def lock_account(account_id: AccountId, request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """Lock an account: its sends are refused (eSMS 143, NXCloud 1100) until it is unlocked."""
    return await _status(hub, request, account_id, models.AccountStatus.LOCKED)


@router.post("/{account_id}/unlock", responses={409: {"description": "The account is deactivated."}})
async def unlock_account(
    account_id: AccountId, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Make a locked account active again."""
    return await _status(hub, request, account_id, models.AccountStatus.ACTIVE)


@router.post(
    "/{account_id}/deactivate", responses={409: {"description": "The account is deactivated already."}}
)
async def deactivate_account(
    account_id: AccountId, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Deactivate an account for good: refused like a locked one, its keys open nothing, its rows are kept."""
    return await _status(hub, request, account_id, models.AccountStatus.DEACTIVATED)


@router.post(
    "/{account_id}/ledger",
    status_code=201,
    responses={409: {"description": "The account is deactivated, or the balance would fall below zero."}},
)
async def post_ledger(
    account_id: AccountId, body: LedgerIn, request: fastapi.Request, hub: deps.HubDep
) -> fastapi.Response:
    """Top up, refund or adjust the balance: one ledger row (who, when, how much, why) and the balance move
    together. The answer is the row and the new balance."""
    entry, account = await ledger.post(
        hub,
        account_id,
        control.LedgerKind(body.kind),
        body.amount,
        reason=body.reason,
        actor=deps.actor(request),
    )
    body_out = {
        "entry": ledger.entry_json(entry),
        "balance": str(account.balance),
        "currency": account.currency,
    }
    return deps.json_response(body_out, 201)


@router.get("/{account_id}/ledger")
async def list_ledger(
    account_id: AccountId,
    hub: deps.HubDep,
    before: Annotated[
        int | None, fastapi.Query(ge=1, le=ledger.MAX_ROW_ID, description="The previous page's `next`.")
    ] = None,
    limit: Annotated[int, fastapi.Query(ge=1, le=ledger.MAX_PAGE)] = 100,
) -> fastapi.Response:
    """An account's ledger rows, newest first; `next` is the cursor of the following page (null on the last)."""
    found = await ledger.entries(hub, account_id, before=before, limit=limit)
    following = found[-1].id if len(found) == limit else None
    return deps.json_response({"entries": [ledger.entry_json(e) for e in found], "next": following})
