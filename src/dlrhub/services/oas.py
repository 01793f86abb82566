"""Real Zalo OAs: register one (checked against Zalo at once), update its secrets, deactivate it, show it.

Registering an OA spends the refresh token the operator gives: dlrhub refreshes it at once through the configured
Zalo (the real one or the simulator), so a wrong app secret or a dead token is refused with Zalo's own error and
nothing is stored. Every change is written in one statement and then audited; secrets and tokens are never
rendered, logged or audited (only masked).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from dlrhub import store
from dlrhub.adapters.zalo import client, tokens
from dlrhub.core import chars, errors, models
from dlrhub.dialects.zalo import wire
from dlrhub.services import audit
from dlrhub.services import hub as hub_

#: Zalo's ids are digits (an OA id, an app id).
ZALO_ID = re.compile(r"[0-9]{1,32}")
MAX_SECRET = 512


class ZaloRefused(errors.InvalidInput):
    """Zalo refused the credentials (its error code and message kept), or did not answer."""

    def __init__(self, field: str, answer: wire.Answer[Any]) -> None:
        if answer.timed_out:
            problem = "Zalo did not answer; nothing was stored (try again)"
        else:
            problem = f"Zalo refused the credentials: {answer.error} {answer.message or ''}".rstrip()
        super().__init__(field, problem)
        self.zalo_error = answer.error
        self.zalo_message = answer.message
        self.timed_out = answer.timed_out


@dataclasses.dataclass(frozen=True, slots=True)
class Registration:
    """What a registration asks for. Secrets are the operator's, given once."""

    oa_id: str
    app_id: str
    app_secret: str
    oa_secret: str
    refresh_token: str


def mask(secret: str) -> str:
    """The first 4 characters and an ellipsis (nothing of a short secret)."""
    return secret[:4] + "…" if len(secret) > 8 else "…"


def view(oa: models.OA, now: dt.datetime, quota: wire.Quota | None = None) -> dict[str, Any]:
    """An OA as list and show print it: secrets masked, tokens omitted, expiries shown."""
    refresh_left = None if oa.refresh_expires_at is None else oa.refresh_expires_at - now
    out: dict[str, Any] = {
        "oa_id": oa.oa_id,
        "account_id": oa.account_id,
        "app_id": oa.app_id,
        "app_secret": mask(oa.app_secret),
        "oa_secret": mask(oa.oa_secret),
        "active": oa.active,
        "token_expires_at": oa.token_expires_at.isoformat(),
        "refresh_expires_at": None if oa.refresh_expires_at is None else oa.refresh_expires_at.isoformat(),
        "refresh_expires_in_days": None
        if refresh_left is None
        else round(refresh_left.total_seconds() / 86400, 1),
        "daily_quota": oa.daily_quota,
        "template_ids": list(oa.template_ids),
    }
    if quota is not None:
        out["quota"] = {"daily": quota.daily, "remaining": quota.remaining}
    return out


def _secret(field: str, value: str) -> str:
    if not value or len(value) > MAX_SECRET or value != value.strip():
        raise errors.InvalidInput(field, f"must be 1 to {MAX_SECRET} characters without surrounding spaces")
    # Checked before Zalo is asked (a refresh token is spent then), not when PostgreSQL refuses NUL after.
    problem = chars.id_fault(value)
    if problem is not None:
        raise errors.InvalidInput(field, problem)
    return value


def _zalo_id(field: str, value: str) -> str:
    if not ZALO_ID.fullmatch(value):
        raise errors.InvalidInput(field, "must be Zalo's id: 1 to 32 digits")
    return value


async def _grant(
    zalo: client.ZaloClient,
    app_id: str,
    app_secret: str,
    refresh_token: str,
    now: dt.datetime,
    field: str = "refresh_token",
) -> tokens.TokenState:
    """The token pair Zalo grants; ZaloRefused names `field`, the value the operator gave that Zalo judged."""
    answer = await zalo.refresh_token(app_id, app_secret, refresh_token)
    if answer.value is None:
        raise ZaloRefused(field, answer)
    return tokens.after_grant(answer.value, now, refresh_token)


async def register(
    hub: hub_.Hub, zalo: client.ZaloClient, account_id: str, reg: Registration, actor: str
) -> dict[str, Any]:
    """Register a real OA for `account_id`: refresh its token through Zalo at once, read its quota, store it.

    The account's apps that have no OA are routed to it. Returns `view` with the quota read. Raises
    errors.InvalidInput on a malformed value, errors.UnknownAccount, errors.Conflict when the OA exists (checked
    before the token is spent), ZaloRefused when Zalo refuses (nothing stored). A quota Zalo does not give leaves
    the default daily quota: the refresh token is spent by then, so the fresh pair is stored anyway.
    """
    _zalo_id("oa_id", reg.oa_id)
    _zalo_id("app_id", reg.app_id)
    for field in ("app_secret", "oa_secret", "refresh_token"):
        _secret(field, getattr(reg, field))
    db: store.Store = hub.store
    await db.get_account(account_id)
    if await db.get_oa(reg.oa_id) is not None:
        raise errors.Conflict(f"OA {reg.oa_id} is already registered")
    state = await _grant(zalo, reg.app_id, reg.app_secret, reg.refresh_token, hub.clock())
    quota = (await zalo.quota(state.access_token)).value
    oa = models.OA(
        oa_id=reg.oa_id,
        account_id=account_id,
        app_id=reg.app_id,
        app_secret=reg.app_secret,
        oa_secret=reg.oa_secret,
        access_token=state.access_token,
        refresh_token=state.refresh_token,
        token_expires_at=state.expires_at,
        template_ids=(),
        daily_quota=quota.daily if quota is not None else 5000,
        active=True,
        mode3_allowed=False,
        refresh_expires_at=state.refresh_expires_at,
    )
    await db.insert_oa(oa)
    details = {"account_id": account_id, "app_id": reg.app_id, "quota_read": quota is not None}
    await audit.record(hub, actor, action="oa.register", target=oa.oa_id, details=details)
    return view(oa, hub.clock(), quota)


async def get(hub: hub_.Hub, oa_id: str) -> models.OA:
    """The OA; raises errors.NotFound."""
    db: store.Accounts = hub.store
    oa = await db.get_oa(oa_id)
    if oa is None:
        raise errors.NotFound(f"no OA {oa_id!r}")
    return oa


async def show(hub: hub_.Hub, zalo: client.ZaloClient | None, oa_id: str) -> dict[str, Any]:
    """`view` of the OA, with today's quota asked of Zalo when `zalo` is given and the OA is active (none when
    Zalo does not give it). Raises errors.NotFound."""
    oa = await get(hub, oa_id)
    quota = None
    if zalo is not None and oa.active and oa.token_expires_at > hub.clock():
        quota = (await zalo.quota(oa.access_token)).value
    return view(oa, hub.clock(), quota)


async def listing(hub: hub_.Hub, account_id: str | None = None) -> list[dict[str, Any]]:
    """Every OA (or one account's), by id, as `view` shows it."""
    db: store.Accounts = hub.store
    now = hub.clock()
    return [view(oa, now) for oa in await db.list_oas(account_id)]


async def update_secrets(
    hub: hub_.Hub, zalo: client.ZaloClient, oa_id: str, given: Mapping[str, str | None], actor: str
) -> dict[str, Any]:
    """Replace any of the OA's `app_secret`, `oa_secret` and `refresh_token` (the others in `given` are None).

    A new app secret or refresh token is checked by refreshing at once (with the new refresh token, else the
    stored one), under the OA's refresh lock, and the new pair is stored with the secrets in one statement; Zalo
    refusing stores nothing (ZaloRefused). An OA secret alone (it only signs webhooks) is stored as given.
    Raises errors.NotFound, errors.InvalidInput when nothing or a malformed value is given.
    """
    wanted = {k: v for k, v in given.items() if v is not None}
    unknown = set(wanted) - {"app_secret", "oa_secret", "refresh_token"}
    if unknown or not wanted:
        raise errors.InvalidInput("secrets", "give app_secret, oa_secret and/or refresh_token")
    for field, value in wanted.items():
        _secret(field, value)
    oa = await get(hub, oa_id)
    db: store.Store = hub.store
    changes = store.OAChanges(app_secret=wanted.get("app_secret"), oa_secret=wanted.get("oa_secret"))
    if "app_secret" in wanted or "refresh_token" in wanted:
        async with db.oa_token_lock(oa_id):
            current = await get(hub, oa_id)
            refresh = wanted.get("refresh_token") or current.refresh_token
            # Zalo's refusal is blamed on the value the operator gave: a new refresh token, else the app secret.
            judged = "refresh_token" if "refresh_token" in wanted else "app_secret"
            state = await _grant(
                zalo, oa.app_id, wanted.get("app_secret") or oa.app_secret, refresh, hub.clock(), judged
            )
            changes = dataclasses.replace(
                changes,
                access_token=state.access_token,
                refresh_token=state.refresh_token,
                token_expires_at=state.expires_at,
                refresh_expires_at=state.refresh_expires_at,
            )
            await db.change_oa(oa_id, changes)
    else:
        await db.change_oa(oa_id, changes)
    await audit.record(
        hub, actor, action="oa.update_secrets", target=oa_id, details={"changed": sorted(wanted)}
    )
    return view(await get(hub, oa_id), hub.clock())


async def deactivate(hub: hub_.Hub, oa_id: str, actor: str) -> dict[str, Any]:
    """Stop sends through the OA: each door then refuses them with its code for an OA it cannot use (eSMS 799,
    NXCloud 9005), within the doors' cache time. Raises errors.NotFound."""
    await get(hub, oa_id)
    db: store.Accounts = hub.store
    await db.change_oa(oa_id, store.OAChanges(active=False))
    await audit.record(hub, actor, action="oa.deactivate", target=oa_id)
    return view(await get(hub, oa_id), hub.clock())
