"""`/ui/accounts` and `/ui/accounts/{id}`: accounts with their keys masked, balance and ledger, OAs with their
token expiry and quota, templates, NXCloud apps, tokens and signing key ids. Read through the services the admin
API reads through, and shown as their own view functions show them (`accounts.public`, `oas.view`, `keys`,
`tokens.token_json`, `apps.app_json`): never a secret. The buttons are in `account_actions`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import fastapi

from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.core import models, scopes
from dlrhub.services import accounts, apps, keys, ledger, oas, templates, tokens
from dlrhub.services import hub as hub_
from dlrhub.web import pages, session

router = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.operator)])
#: Accounts one list page shows; ledger rows one detail page shows.
PAGE = 50
LEDGER_PAGE = 20
#: OAs whose quota a detail page asks Zalo for, and whose templates it lists.
MAX_OAS = 10
AccountId = Annotated[str, fastapi.Path(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


def zalo(request: fastapi.Request) -> zalo_client.ZaloClient | None:
    """The app's Zalo client (None in an app made without one)."""
    found: zalo_client.ZaloClient | None = getattr(request.app.state, "zalo_client", None)
    return found


@router.get("/ui/accounts")
async def listing(
    request: fastapi.Request,
    status: Annotated[models.AccountStatus | None, fastapi.Query()] = None,
    name: Annotated[str, fastapi.Query(max_length=200)] = "",
    after: Annotated[str, fastapi.Query(max_length=64)] = "",
) -> fastapi.Response:
    """Accounts oldest first, filtered as `GET /v1/admin/accounts` filters them; `after` pages on."""
    hub: hub_.Hub = request.app.state.hub
    found = await accounts.find(
        hub, status=status, name_contains=name.strip() or None, after=after or None, limit=PAGE
    )
    return pages.render(
        request,
        "accounts.html",
        accounts=[accounts.public(a) for a in found],
        statuses=list(models.AccountStatus),
        status=status.value if status else "",
        name_filter=name,
        next=found[-1].id if len(found) == PAGE else "",
    )


async def _oas(hub: hub_.Hub, client: zalo_client.ZaloClient | None, account_id: str) -> list[dict[str, Any]]:
    """The account's OAs as `oas.view` shows them, the first MAX_OAS with today's quota (from Zalo) and their
    templates."""
    listed = (await oas.listing(hub, account_id))[:MAX_OAS]

    async def one(view: dict[str, Any]) -> dict[str, Any]:
        shown = await oas.show(hub, client, view["oa_id"]) if client is not None else view
        shown["templates"] = [t.to_json() for t in await templates.list_(hub, view["oa_id"])]
        return shown

    return list(await asyncio.gather(*(one(v) for v in listed)))


@router.get("/ui/accounts/{account_id}")
async def detail(
    request: fastapi.Request,
    account_id: AccountId,
    before: Annotated[int | None, fastapi.Query(ge=1, le=ledger.MAX_ROW_ID)] = None,
    done: Annotated[str, fastapi.Query(max_length=40)] = "",
) -> fastapi.Response:
    """One account: fields, balance and a page of its ledger (newest first, `before` pages on), OAs, templates,
    apps, tokens, keys."""
    hub: hub_.Hub = request.app.state.hub
    account = await accounts.show(hub, account_id)
    entries = await ledger.entries(hub, account_id, before=before, limit=LEDGER_PAGE)
    own_tokens = [tokens.token_json(t) for t in await tokens.listing(hub) if t.account_id == account_id]
    principal: scopes.Principal = request.state.principal
    return pages.render(
        request,
        "account.html",
        account=accounts.public(account),
        ledger=entries,
        ledger_next=entries[-1].id if len(entries) == LEDGER_PAGE else None,
        before=before,
        oas=await _oas(hub, zalo(request), account_id),
        apps=[apps.app_json(a) for a in await apps.list_apps(hub, account_id)],
        tokens=own_tokens,
        keys=await keys.key_status(hub, account_id),
        kinds=ledger.OPERATOR_KINDS,
        can_act=principal.allows(scopes.Scope.ADMIN),
        notice=NOTICES.get(done, ""),
    )


#: What an action's redirect says on the detail page (`?done=`).
NOTICES = {
    "ledger": "Ledger row written; the balance moved with it.",
    "lock": "Account locked: its sends are refused until it is unlocked.",
    "unlock": "Account unlocked.",
    "sync": "Templates synced from Zalo.",
}
