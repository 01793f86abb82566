"""Managing accounts: creating one with its credentials, default app and OA; showing, listing, changing, locking
and deactivating it; the demo account. Balances move only through `services.ledger`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dlrhub import store
from dlrhub.core import chars, errors, ids, models, urls
from dlrhub.services import audit, lookups
from dlrhub.services import hub as hub_

#: Template ids every new OA is registered with, so a fresh account can send at once (simulator or demo).
DEFAULT_TEMPLATES = ("100001", "100002", "100003")
DEFAULT_PRICES = {
    "1": Decimal("700"),
    "2": Decimal("800"),
    "23": Decimal("470"),
    "24": Decimal("350"),
    "25": Decimal("300"),
    "26": Decimal("60"),
    "27": Decimal("220"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class NewAccount:
    """A freshly created account, with the app and OA made for it."""

    account: models.Account
    app: models.App
    oa: models.OA

    def credentials(self) -> dict[str, object]:
        """Everything a customer needs to send, in both dialects (this holds secrets: show it once)."""
        a = self.account
        return {
            "id": a.id,
            "name": a.name,
            "status": a.status.value,
            "balance": str(a.balance),
            "currency": a.currency,
            "esms": {
                "ApiKey": a.esms_api_key,
                "SecretKey": a.esms_secret_key,
                "OAID": self.oa.oa_id,
                "TempIDs": list(self.oa.template_ids),
            },
            "nxcloud": {
                "accessKey": a.nx_access_key,
                "accessSecret": a.nx_access_secret,
                "appkey": self.app.appkey,
            },
            "signing_secrets": list(a.signing_secrets),
            "esms_delivered_callback": a.esms_delivered_callback,
        }


def _digits(n: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (n - 1)) + 10 ** (n - 1))


async def create(
    hub: hub_.Hub,
    name: str,
    *,
    currency: str = "VND",
    balance: Decimal = Decimal("1000000"),
    utc_offset_minutes: int = 480,
    dr_url: str | None = None,
    quotation: Decimal | None = None,
    signed: bool = False,
    esms_delivered_callback: bool = False,
    actor: str = "system",
) -> NewAccount:
    """Create an active account with fresh credentials, one app and one OA registered with DEFAULT_TEMPLATES.

    `esms_delivered_callback` gives its eSMS messages a second GET callback on a Zalo delivery receipt. The
    opening balance is the ledger's first row, by `actor`.

    Raises errors.InvalidInput when a value is out of range.
    """
    if not name.strip() or len(name) > 200:
        raise errors.InvalidInput("name", "must be 1 to 200 characters")
    if balance < 0:
        raise errors.InvalidInput("balance", "must not be negative")
    if not -720 <= utc_offset_minutes <= 840:
        raise errors.InvalidInput("utc_offset_minutes", "must be between -720 and 840")
    now = hub.clock()
    oa_id = _digits(19)
    account = models.Account(
        id=ids.account_id(),
        name=name.strip(),
        status=models.AccountStatus.ACTIVE,
        esms_api_key=ids.token(16).upper(),
        esms_secret_key=ids.token(16).upper(),
        nx_access_key=ids.token(8),
        nx_access_secret=ids.token(16),
        balance=balance,
        currency=currency,
        prices=dict(DEFAULT_PRICES),
        utc_offset_minutes=utc_offset_minutes,
        signing_secrets=(ids.signing_secret(),) if signed else (),
        created_at=now,
        esms_delivered_callback=esms_delivered_callback,
    )
    app = models.App(
        appkey=ids.token(8),
        account_id=account.id,
        name=f"{account.name} app",
        active=True,
        dr_url=dr_url,
        quotation=DEFAULT_PRICES["25"] if quotation is None else quotation,
        currency=currency,
        routed=True,
        oa_id=oa_id,
    )
    oa = models.OA(
        oa_id=oa_id,
        account_id=account.id,
        app_id=_digits(19),
        app_secret=ids.token(),
        oa_secret=ids.token(),
        access_token=ids.token(24),
        refresh_token=ids.token(24),
        token_expires_at=now + dt.timedelta(hours=25),
        template_ids=DEFAULT_TEMPLATES,
        daily_quota=5000,
        active=True,
        mode3_allowed=False,
    )
    db: store.Accounts = hub.store
    await db.create_account(account, [app], actor=actor)
    await db.put_oa(oa)
    details = {"name": account.name, "balance": str(balance), "currency": currency, "appkey": app.appkey}
    await audit.record(hub, actor, action="account.create", target=account.id, details=details)
    return NewAccount(account, app, oa)


async def ensure_demo(hub: hub_.Hub) -> NewAccount | None:
    """Create the demo account when the store has no account yet; None when accounts exist."""
    db: store.Accounts = hub.store
    if await db.list_accounts():
        return None
    return await create(hub, "demo")


# -- showing, listing, changing ---------------------------------------------------------------------------------

#: The most accounts one page lists.
MAX_PAGE = 500
#: A price key: an eSMS TypeId, or `tpl:` and a template id (which is priced first).
PRICE_KEY = re.compile(r"^(?:[0-9]{1,4}|tpl:[A-Za-z0-9_.-]{1,64})$")
MAX_PRICES = 500
MAX_PRICE = Decimal("1e9")
CURRENCY = re.compile(r"^[A-Z]{3}$")
#: The fields `update` takes (`status` moves only through lock, unlock and deactivate).
UPDATABLE = frozenset(store.nouns.UPDATABLE - {"status"})


def public(account: models.Account) -> dict[str, Any]:
    """An account as list and show print it: no secret (the key ids only, which identify the account)."""
    return {
        "id": account.id,
        "name": account.name,
        "status": account.status.value,
        "balance": str(account.balance),
        "currency": account.currency,
        "prices": {k: str(v) for k, v in sorted(account.prices.items())},
        "utc_offset_minutes": account.utc_offset_minutes,
        "esms_api_key": account.esms_api_key,
        "nx_access_key": account.nx_access_key,
        "signed": bool(account.signing_secrets),
        "esms_delivered_callback": account.esms_delivered_callback,
        "default_callback_url": account.default_callback_url,
        "created_at": account.created_at.isoformat(),
    }


async def show(hub: hub_.Hub, account_id: str) -> models.Account:
    """The account. Raises errors.UnknownAccount."""
    db: store.Accounts = hub.store
    return await db.get_account(account_id)


async def find(
    hub: hub_.Hub,
    *,
    status: models.AccountStatus | None = None,
    name_contains: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[models.Account]:
    """Accounts oldest first, filtered; a page of at most `limit` (1 to MAX_PAGE) starting after account `after`."""
    if not 1 <= limit <= MAX_PAGE:
        raise errors.InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
    db: store.Accounts = hub.store
    where = store.AccountFilter(status=status, name_contains=name_contains or None, after=after, limit=limit)
    return await db.find_accounts(where)


async def update(hub: hub_.Hub, account_id: str, changes: Mapping[str, Any], *, actor: str) -> models.Account:
    """Change the account's fields named in `changes` (of UPDATABLE) in one write; returns it as changed.

    `prices` is merged into the price list: a key with a price sets it, a key with None removes it. A
    `default_callback_url` passes the URL guard (None or "" removes it). Raises errors.InvalidInput,
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
    if name == "default_callback_url":
        if not value:
            return None
        try:
            urls.check_target(str(value), urls.allowlist(hub.settings.callback_allow))
        except errors.BlockedURL as exc:
            raise errors.InvalidInput("default_callback_url", str(exc)) from None
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
