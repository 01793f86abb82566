"""Managing accounts: creating one with its credentials, default app and OA; the demo account."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from decimal import Decimal

from dlrhub import store
from dlrhub.core import errors, ids, models
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
    demo: bool = False,
) -> NewAccount:
    """Create an active account with fresh credentials, one app and one OA registered with DEFAULT_TEMPLATES.

    `esms_delivered_callback` gives its eSMS messages a second GET callback on a Zalo delivery receipt. `demo`
    gives it a demo account id (`ids.demo_account_id`): only `ensure_demo` passes it.

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
        id=ids.demo_account_id() if demo else ids.account_id(),
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
    await db.create_account(account, [app])
    await db.put_oa(oa)
    return NewAccount(account, app, oa)


async def ensure_demo(hub: hub_.Hub) -> NewAccount | None:
    """Create the demo account when the store has no account yet; None when accounts exist."""
    db: store.Accounts = hub.store
    if await db.list_accounts():
        return None
    return await create(hub, "demo", demo=True)


async def only_demo(hub: hub_.Hub) -> bool:
    """Whether the store's one account is the demo account `ensure_demo` made on its first start: a demo store,
    where `dlrhub serve` may open callbacks to loopback. Any other account makes it a real one, for good."""
    db: store.Accounts = hub.store
    found = await db.list_accounts()
    return len(found) == 1 and found[0].id.startswith(ids.DEMO_ACCOUNT_PREFIX)
