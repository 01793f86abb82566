"""Managing accounts: creating one with its credentials, default app and OA; showing and listing them; the demo
account. Changes are `account_changes`; balances move only through `ledger`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from dlrhub import store
from dlrhub.core import errors, ids, models
from dlrhub.services import apps, audit, keys, zalo_wiring
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
    #: The demo OA made with it (simulator mode), or None: a real OA is registered afterwards (`services.oas`).
    demo_oa: models.OA | None

    @property
    def oa(self) -> models.OA:
        """The demo OA; raises errors.NotFound when the account was made without one."""
        if self.demo_oa is None:
            raise errors.NotFound(f"account {self.account.id} has no demo OA")
        return self.demo_oa

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
                "OAID": None if self.demo_oa is None else self.demo_oa.oa_id,
                "TempIDs": [] if self.demo_oa is None else list(self.demo_oa.template_ids),
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
    with_demo_oa: bool | None = None,
    demo: bool = False,
) -> NewAccount:
    """Create an active account with fresh credentials, one app and, with `with_demo_oa`, a demo OA registered
    with DEFAULT_TEMPLATES and made-up tokens (which only the simulator accepts). `with_demo_oa` defaults to
    whether this process talks to the simulator; with the real Zalo, register the account's OA afterwards
    (`services.oas.register`), which routes the app to it.

    `esms_delivered_callback` gives its eSMS messages a second GET callback on a Zalo delivery receipt. The
    opening balance is the ledger's first row, by `actor`. `demo`
    gives it a demo account id (`ids.demo_account_id`): only `ensure_demo` passes it.

    Raises errors.InvalidInput when a value is out of range or malformed (the name, the currency and the DR URL
    are checked as `services.apps` checks an app's), errors.BlockedURL when the URL guard refuses `dr_url`.
    """
    name = apps.checked_name(name)
    currency = apps.checked_currency(currency)
    dr_url = apps.checked_dr_url(hub, dr_url)
    if balance < 0:
        raise errors.InvalidInput("balance", "must not be negative")
    if not -720 <= utc_offset_minutes <= 840:
        raise errors.InvalidInput("utc_offset_minutes", "must be between -720 and 840")
    if with_demo_oa is None:
        with_demo_oa = zalo_wiring.uses_simulator(hub.settings)
    now = hub.clock()
    oa_id = _digits(19) if with_demo_oa else None
    account = models.Account(
        id=ids.demo_account_id() if demo else ids.account_id(),
        name=name,
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
    oa = (
        None
        if oa_id is None
        else models.OA(
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
            refresh_expires_at=now + dt.timedelta(days=90),
        )
    )
    db: store.Accounts = hub.store
    await db.create_account(account, [app], actor=actor)
    if oa is not None:
        await db.put_oa(oa)
    details = {"name": account.name, "balance": str(balance), "currency": currency, "appkey": app.appkey}
    await audit.record(hub, actor, action="account.create", target=account.id, details=details)
    return NewAccount(account, app, oa)


async def ensure_demo(hub: hub_.Hub) -> NewAccount | None:
    """Create the demo account when the store has no account yet; None when accounts exist."""
    db: store.Accounts = hub.store
    if await db.list_accounts():
        return None
    return await create(hub, "demo", demo=True)


async def sole_demo(hub: hub_.Hub) -> models.Account | None:
    """The demo account `ensure_demo` made on the store's first start, when it is the store's one account: a demo
    store, where `dlrhub serve` may open callbacks to loopback. Any other account makes it a real one, for good."""
    db: store.Accounts = hub.store
    found = await db.list_accounts()
    return found[0] if len(found) == 1 and found[0].id.startswith(ids.DEMO_ACCOUNT_PREFIX) else None


# -- showing and listing (changing: `account_changes`) ---------------------------------------------------------------------------------

#: The most accounts one page lists.
MAX_PAGE = 500


def public(account: models.Account) -> dict[str, Any]:
    """An account as list and show print it: no secret, and its keys as hints (their last 4 characters)."""
    return {
        "id": account.id,
        "name": account.name,
        "status": account.status.value,
        "balance": str(account.balance),
        "currency": account.currency,
        "prices": {k: str(v) for k, v in sorted(account.prices.items())},
        "utc_offset_minutes": account.utc_offset_minutes,
        "esms_api_key": keys.hint(account.esms_api_key),
        "nx_access_key": keys.hint(account.nx_access_key),
        "signed": bool(account.signing_secrets),
        "esms_delivered_callback": account.esms_delivered_callback,
        "default_callback_url": account.default_callback_url,
        "notify_url": account.notify_url,
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
