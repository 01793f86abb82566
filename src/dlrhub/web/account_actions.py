"""The account page's buttons: top up or adjust the balance, lock and unlock, rotate a customer key pair, sync an
OA's templates. Each needs an admin session and the form's CSRF token, and calls the service the admin API calls
(which writes the audit log)."""

from __future__ import annotations

import datetime as dt
import decimal
import urllib.parse
from typing import Annotated

import fastapi

from dlrhub.core import control, errors, models
from dlrhub.services import account_changes, keys, ledger, oas, templates
from dlrhub.services import hub as hub_
from dlrhub.web import accounts as accounts_page
from dlrhub.web import pages, session

router = fastapi.APIRouter(
    include_in_schema=False,
    dependencies=[fastapi.Depends(session.admin), fastapi.Depends(session.check_csrf)],
)
AccountId = accounts_page.AccountId


def _back(account_id: str, done: str) -> fastapi.Response:
    target = f"/ui/accounts/{urllib.parse.quote(account_id, safe='')}?done={done}"
    return fastapi.responses.RedirectResponse(target, status_code=303)


def _hub(request: fastapi.Request) -> hub_.Hub:
    found: hub_.Hub = request.app.state.hub
    return found


@router.post("/ui/accounts/{account_id}/ledger")
async def post_ledger(
    request: fastapi.Request,
    account_id: AccountId,
    amount: Annotated[str, fastapi.Form(min_length=1, max_length=30)],
    reason: Annotated[str, fastapi.Form(max_length=ledger.MAX_REASON)] = "",
    kind: Annotated[str, fastapi.Form(max_length=20)] = control.LedgerKind.TOP_UP.value,
) -> fastapi.Response:
    """A top-up, refund or adjustment: `ledger.post`, as `POST /v1/admin/accounts/{id}/ledger`."""
    try:
        value = decimal.Decimal(amount.strip())
    except decimal.InvalidOperation:
        raise errors.InvalidInput("amount", f"{amount!r} is not a number") from None
    try:
        chosen = control.LedgerKind(kind)
    except ValueError:
        raise errors.InvalidInput("kind", "top_up, adjustment or refund") from None
    await ledger.post(_hub(request), account_id, chosen, value, reason=reason, actor=request.state.actor)
    return _back(account_id, "ledger")


@router.post("/ui/accounts/{account_id}/lock")
async def lock(request: fastapi.Request, account_id: AccountId) -> fastapi.Response:
    locked = models.AccountStatus.LOCKED
    await account_changes.set_status(_hub(request), account_id, locked, actor=request.state.actor)
    return _back(account_id, "lock")


@router.post("/ui/accounts/{account_id}/unlock")
async def unlock(request: fastapi.Request, account_id: AccountId) -> fastapi.Response:
    active = models.AccountStatus.ACTIVE
    await account_changes.set_status(_hub(request), account_id, active, actor=request.state.actor)
    return _back(account_id, "unlock")


@router.post("/ui/accounts/{account_id}/keys/{kind}/rotate")
async def rotate(
    request: fastapi.Request,
    account_id: AccountId,
    kind: control.KeyKind,
    overlap_hours: Annotated[int, fastapi.Form(ge=0, le=int(keys.MAX_OVERLAP.total_seconds() // 3600))] = 24,
) -> fastapi.Response:
    """A new pair (`keys.rotate`), shown on this answer page only, this once; the old one works for the overlap."""
    overlap = dt.timedelta(hours=overlap_hours)
    done = await keys.rotate(_hub(request), account_id, kind, request.state.actor, overlap=overlap)
    key_name, secret_name = keys.PAIR_NAMES[kind]
    return pages.render(
        request,
        "rotated.html",
        rotation=done,
        key_name=key_name,
        secret_name=secret_name,
        old_hint=keys.hint(done.old_key),
    )


@router.post("/ui/accounts/{account_id}/oas/{oa_id}/templates/sync")
async def sync_templates(
    request: fastapi.Request,
    account_id: AccountId,
    oa_id: Annotated[str, fastapi.Path(min_length=1, max_length=64)],
) -> fastapi.Response:
    """Read the OA's templates from Zalo (`templates.sync`); the OA must be this account's."""
    hub = _hub(request)
    oa = await oas.get(hub, oa_id)
    if oa.account_id != account_id:
        raise errors.NotFound(f"no OA {oa_id!r} for account {account_id!r}")
    client = accounts_page.zalo(request)
    if client is None:
        raise errors.Conflict("this process talks to no Zalo")
    try:
        await templates.sync(hub, client, oa_id, actor=request.state.actor)
    except templates.ZaloRefused as exc:
        return pages.error(request, 502, str(exc))
    return _back(account_id, "sync")
