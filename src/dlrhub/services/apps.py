"""NXCloud apps: create one for an account, change its DR URL, quotation, route, OA or state, list and show them.

The send path reads apps through `services.lookups` (cached for `lookups.TTL_S`); every change here empties this
process's cache, so it applies at once here and within TTL_S in the other processes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dlrhub import store
from dlrhub.core import chars, errors, ids, models, urls
from dlrhub.services import audit, lookups
from dlrhub.services import hub as hub_

#: The fields `update` may change.
CHANGEABLE = frozenset({"name", "dr_url", "quotation", "currency", "routed", "active", "oa_id"})
#: The largest quotation accepted (the stores keep 4 decimal places in 20 digits).
MAX_QUOTATION = Decimal("1e12")
#: Prices are kept to 4 decimal places, as the stores keep them.
PLACES = Decimal("0.0001")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def app_json(app: models.App) -> dict[str, object]:
    """An app as the admin API and the CLI show it (it holds no secret)."""
    return {
        "appkey": app.appkey,
        "account_id": app.account_id,
        "name": app.name,
        "active": app.active,
        "dr_url": app.dr_url,
        "quotation": None if app.quotation is None else str(app.quotation),
        "currency": app.currency,
        "routed": app.routed,
        "oa_id": app.oa_id,
    }


def checked_name(value: object) -> str:
    """An account's or app's name, stripped: 1 to 200 characters, no control character. Raises
    errors.InvalidInput."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise errors.InvalidInput("name", "must be 1 to 200 characters")
    fault = chars.id_fault(value)
    if fault is not None:
        raise errors.InvalidInput("name", fault)
    return value.strip()


def checked_dr_url(hub: hub_.Hub, value: object) -> str | None:
    """A default DR URL the URL guard lets through (None or "" clears it). Raises errors.BlockedURL."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise errors.InvalidInput("dr_url", "must be a URL")
    try:
        urls.check_target(value, hub.allow())
    except errors.BlockedURL as exc:
        raise errors.BlockedURL(f"dr_url: {exc}") from None
    return value


def _quotation(value: object) -> Decimal | None:
    """A unit price, or None: the app has no quotation and its sends are refused with 9004."""
    if value is None:
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise errors.InvalidInput("quotation", "must be a number, or null for none") from None
    if not price.is_finite() or price < 0 or price > MAX_QUOTATION:
        raise errors.InvalidInput("quotation", f"must be between 0 and {MAX_QUOTATION}")
    if price != price.quantize(PLACES):
        raise errors.InvalidInput("quotation", "at most 4 decimal places")
    return price.quantize(PLACES)


def checked_currency(value: object) -> str:
    """An ISO 4217 code as written: three capital letters. Raises errors.InvalidInput."""
    if not isinstance(value, str) or _CURRENCY.match(value) is None:
        raise errors.InvalidInput("currency", "must be three capital letters (e.g. VND)")
    return value


def _flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise errors.InvalidInput(field, "must be true or false")
    return value


async def _oa_id(hub: hub_.Hub, account_id: str, value: object) -> str | None:
    """An OA of this account, or None (the app then has no route: 9005)."""
    if value is None or value == "":
        return None
    db: store.Accounts = hub.store
    oa = await db.get_oa(str(value))
    if oa is None or oa.account_id != account_id:
        raise errors.InvalidInput("oa_id", "not an OA of this account")
    return oa.oa_id


async def create(
    hub: hub_.Hub,
    account_id: str,
    actor: str,
    *,
    name: str,
    dr_url: str | None = None,
    quotation: Decimal | str | None = None,
    currency: str | None = None,
    routed: bool = True,
    oa_id: str | None = None,
    active: bool = True,
) -> models.App:
    """Create an app with a new appkey for the account.

    `currency` defaults to the account's; `quotation` is the unit price of one ZNS (None: no quotation, sends
    refused with 9004). Raises errors.UnknownAccount, errors.InvalidInput, errors.BlockedURL (the DR URL).
    """
    db: store.Store = hub.store
    account = await db.get_account(account_id)
    app = models.App(
        appkey=ids.token(8),
        account_id=account.id,
        name=checked_name(name),
        active=_flag("active", active),
        dr_url=checked_dr_url(hub, dr_url),
        quotation=_quotation(quotation),
        currency=checked_currency(account.currency if currency is None else currency),
        routed=_flag("routed", routed),
        oa_id=await _oa_id(hub, account.id, oa_id),
    )
    await db.create_app(app)
    lookups.forget(hub)
    await audit.record(hub, actor, action="apps.create", target=app.appkey, details=_audited(app_json(app)))
    return app


async def get(hub: hub_.Hub, appkey: str) -> models.App:
    """The app `appkey`. Raises errors.NotFound."""
    db: store.Accounts = hub.store
    app = await db.get_app(appkey)
    if app is None:
        raise errors.NotFound(f"no app {appkey!r}")
    return app


async def list_apps(hub: hub_.Hub, account_id: str | None = None) -> list[models.App]:
    """The account's apps (by appkey), or every app (by account, then appkey). Raises errors.UnknownAccount."""
    db: store.Store = hub.store
    if account_id is None:
        return await db.list_all_apps()
    await db.get_account(account_id)
    return await db.list_apps(account_id)


async def update(hub: hub_.Hub, appkey: str, changes: Mapping[str, Any], actor: str) -> models.App:
    """Change the fields named in `changes` (those of CHANGEABLE) and return the app as stored.

    A `quotation` of None removes it (sends refused with 9004); a `dr_url` or `oa_id` of None clears it. Raises
    errors.NotFound, errors.InvalidInput (an unknown field, a bad value, another account's OA), errors.BlockedURL.
    """
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise errors.InvalidInput(unknown[0], "cannot be changed")
    app = await get(hub, appkey)
    values: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            values[field] = checked_name(value)
        elif field == "dr_url":
            values[field] = checked_dr_url(hub, value)
        elif field == "quotation":
            values[field] = _quotation(value)
        elif field == "currency":
            values[field] = checked_currency(value)
        elif field == "oa_id":
            values[field] = await _oa_id(hub, app.account_id, value)
        else:
            values[field] = _flag(field, value)
    changed = dataclasses.replace(app, **values)
    db: store.Apps = hub.store
    await db.replace_app(changed)
    lookups.forget(hub)
    await audit.record(
        hub, actor, action="apps.update", target=appkey, details=_audited(app_json(changed), values)
    )
    return changed


def _audited(shown: dict[str, object], only: Mapping[str, object] | None = None) -> dict[str, object]:
    """What the audit log keeps of an app change: the fields changed (or all), as shown (no secret is in them)."""
    return {k: v for k, v in shown.items() if only is None or k in only}
