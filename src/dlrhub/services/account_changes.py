"""Changing an account: its fields (name, currency, prices, time zone, callbacks), and locking, unlocking and
deactivating it. Each change is one write, then an audit entry; this process's doors see it at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dlrhub import store
from dlrhub.core import chars, errors, models, urls
from dlrhub.services import audit, lookups
from dlrhub.services import hub as hub_

#: A price key: an eSMS TypeId, or `tpl:` and a template id (which is priced first).
PRICE_KEY = re.compile(r"^(?:[0-9]{1,4}|tpl:[A-Za-z0-9_.-]{1,64})$")
MAX_PRICES = 500
MAX_PRICE = Decimal("1e9")
CURRENCY = re.compile(r"^[A-Z]{3}$")
#: The fields holding a URL: checked by the URL guard, removed by None or "".
URL_FIELDS = frozenset({"default_callback_url", "notify_url"})
#: The fields `update` takes (`status` moves only through `set_status`).
UPDATABLE = frozenset(store.nouns.UPDATABLE - {"status"})


async def update(hub: hub_.Hub, account_id: str, changes: Mapping[str, Any], *, actor: str) -> models.Account:
    """Change the account's fields named in `changes` (of UPDATABLE) in one write; returns it as changed.

    `prices` is merged into the price list: a key with a price sets it, a key with None removes it. A
    `default_callback_url` or `notify_url` passes the URL guard (None or "" removes it). Raises errors.InvalidInput,
    errors.UnknownAccount, and errors.Conflict for a deactivated account.
    """
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise errors.InvalidInput(sorted(unknown)[0], "cannot be changed")
    clean = {name: _checked(hub, name, value) for name, value in changes.items()}
    details = {
        k: ({p: None if x is None else str(x) for p, x in v.items()} if k == "prices" else v)
        for k, v in clean.items()
    }
    db: store.Accounts = hub.store
    if "prices" in clean:
        current = await db.get_account(account_id)
        merged = dict(current.prices)
        for key, price in clean["prices"].items():
            if price is None:
                merged.pop(key, None)
            else:
                merged[key] = price
        if len(merged) > MAX_PRICES:
            raise errors.InvalidInput("prices", f"at most {MAX_PRICES} prices")
        clean["prices"] = merged
    account = await db.update_account(account_id, clean)
    lookups.forget(hub)  # this process's doors see the change at once (others within lookups.TTL_S)
    await audit.record(hub, actor, action="account.update", target=account_id, details=details)
    return account


def _checked(hub: hub_.Hub, name: str, value: Any) -> Any:
    """One field of `update`, checked and in the model's type; raises errors.InvalidInput."""
    if value is None and name not in URL_FIELDS:
        raise errors.InvalidInput(name, "must not be null")
    if name == "name":
        text = str(value).strip()
        if not text or len(text) > 200 or chars.id_fault(text):
            raise errors.InvalidInput("name", "must be 1 to 200 characters, none a control character")
        return text
    if name == "currency":
        if not isinstance(value, str) or not CURRENCY.match(value):
            raise errors.InvalidInput("currency", "must be 3 capital letters (ISO 4217)")
        return value
    if name == "utc_offset_minutes":
        if isinstance(value, bool) or not isinstance(value, int) or not -720 <= value <= 840:
            raise errors.InvalidInput("utc_offset_minutes", "must be between -720 and 840")
        return value
    if name == "esms_delivered_callback":
        if not isinstance(value, bool):
            raise errors.InvalidInput("esms_delivered_callback", "must be true or false")
        return value
    if name in URL_FIELDS:
        if not value:
            return None
        try:
            urls.check_target(str(value), hub.allow())
        except errors.BlockedURL as exc:
            raise errors.InvalidInput(name, str(exc)) from None
        return str(value)
    return _prices(value)


def _prices(value: Any) -> dict[str, Decimal | None]:
    if not isinstance(value, Mapping) or len(value) > MAX_PRICES:
        raise errors.InvalidInput("prices", f"must map at most {MAX_PRICES} keys to prices")
    out: dict[str, Decimal | None] = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not PRICE_KEY.match(key):
            raise errors.InvalidInput(
                "prices", f"{str(key)[:70]!r} is neither a TypeId nor tpl:<template id>"
            )
        if raw is None:
            out[key] = None
            continue
        try:
            price = Decimal(str(raw))
        except InvalidOperation:
            raise errors.InvalidInput("prices", f"{key}: not a number") from None
        if not price.is_finite() or not 0 <= price <= MAX_PRICE or price != price.quantize(Decimal("0.0001")):
            raise errors.InvalidInput("prices", f"{key}: must be 0 to {MAX_PRICE}, at most 4 decimals")
        out[key] = price
    return out


async def set_status(
    hub: hub_.Hub, account_id: str, status: models.AccountStatus, *, actor: str
) -> models.Account:
    """Lock (LOCKED), unlock (ACTIVE) or deactivate (DEACTIVATED, for good) the account.

    Sends are refused while it is not active (eSMS 143, NXCloud 1100), its keys open nothing once deactivated,
    and nothing is deleted. Raises errors.UnknownAccount, and errors.Conflict when it is deactivated already.
    """
    db: store.Accounts = hub.store
    before = await db.get_account(account_id)
    account = await db.update_account(account_id, {"status": status})
    lookups.forget(hub)  # this process's doors see the change at once (others within lookups.TTL_S)
    verb = {
        models.AccountStatus.LOCKED: "lock",
        models.AccountStatus.ACTIVE: "unlock",
        models.AccountStatus.DEACTIVATED: "deactivate",
    }[status]
    details = {"from": before.status.value, "to": status.value}
    await audit.record(hub, actor, action=f"account.{verb}", target=account_id, details=details)
    return account
