"""Alerts to people: the operator's webhook (`alert_url`) and a customer's `notify_url`, written into the outbox.

Each alert is a callback (`planning.alerts.callback`), so the dispatcher delivers it as it delivers status
callbacks: retried, in order, signed (the operator's with `alert_secret`, a customer's with its own secrets) and
through the URL guard. An alert's id comes from what it is about, so the same alert is written once however often
it is raised: an endpoint's pause or disable once per failing streak, the backlog alert once per crossing, a
token's once per token, a quota's once per OA and Zalo day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import typing
from typing import Any

from dlrhub import store
from dlrhub.core import errors, ids, models, urls
from dlrhub.dialects.native import render as native
from dlrhub.dialects.zalo import wire
from dlrhub.planning import alerts as planning
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)

Kind = planning.Kind
#: The backlog alert is resolved once the oldest due callback is younger than this share of the threshold, so
#: an age hovering at the threshold does not raise and resolve it on every check.
RESOLVE_BELOW = 0.8


class AlertStore(store.Accounts, store.Callbacks, typing.Protocol):
    """What alerts use of the store: accounts (a customer's `notify_url`) and the outbox."""


def _stamp(moment: dt.datetime | None) -> str | None:
    return None if moment is None else native.timestamp(moment)


async def raise_operator(hub: hub_.Hub, kind: Kind, key: str, data: dict[str, Any], now: dt.datetime) -> bool:
    """Write alert `kind` about `key` to the operator's `alert_url`; False when alerts are off or it was written
    before."""
    url = hub.settings.alert_url
    if not url:
        return False
    return await _enqueue(hub, [planning.callback(kind, key, data, url, ids.OPERATOR_ACCOUNT, now)])


async def _enqueue(hub: hub_.Hub, callbacks: list[models.Callback]) -> bool:
    if not callbacks:
        return False
    db: AlertStore = hub.store
    added = await db.enqueue_callbacks(callbacks)
    for cb in callbacks:
        log.info("alert %s queued for %s (%s)", cb.event_id.split(":", 2)[1], cb.account_id, cb.id)
    return added > 0


# -- endpoints (the dispatcher's breaker) ------------------------------------------------------------------------
def _transition(before: models.Endpoint, after: models.Endpoint) -> Kind | None:
    """The alert of an endpoint's change: just disabled, just paused (not paused again), or none."""
    if after.state is models.EndpointState.DISABLED and before.state is not models.EndpointState.DISABLED:
        return Kind.ENDPOINT_DISABLED
    if after.state is models.EndpointState.PAUSED and before.state is not models.EndpointState.PAUSED:
        return Kind.ENDPOINT_PAUSED
    return None


def endpoint_alerts(
    hub: hub_.Hub,
    cb: models.Callback,
    before: models.Endpoint,
    after: models.Endpoint,
    account: models.Account | None,
) -> list[models.Callback]:
    """The alerts of `cb`'s endpoint (its account's, by health key) moving from `before` to `after` (none unless
    it was just paused or disabled): the operator's, and for a disable the customer's at `account.notify_url`.
    `endpoint` in the data is the endpoint's `urls.health_label` (its origin, its path only as a digest: paths
    hold customers' tokens); `GET /v1/endpoints?account=` lists it with its health key.

    Keyed by the start of the failing streak, so a paused endpoint whose probes fail again is one alert.
    """
    kind = _transition(before, after)
    if kind is None:
        return []
    now = after.updated_at
    since = after.failing_since or after.updated_at
    key = f"{after.endpoint}@{since.isoformat()}"
    data: dict[str, Any] = {
        "endpoint": urls.health_label(after.endpoint),
        "account_id": cb.account_id,
        "consecutive_failures": after.consecutive_failures,
        "failing_since": _stamp(after.failing_since),
    }
    if kind is Kind.ENDPOINT_PAUSED:
        data["paused_until"] = _stamp(after.paused_until)
    else:
        # A 410 disables without counting a failure; failing too long counts the last one.
        gone = after.consecutive_failures == before.consecutive_failures
        data["reason"] = "gone" if gone else "failing"
        data["disabled_at"] = _stamp(now)
    out: list[models.Callback] = []
    if hub.settings.alert_url and cb.account_id != ids.OPERATOR_ACCOUNT:
        out.append(planning.callback(kind, key, data, hub.settings.alert_url, ids.OPERATOR_ACCOUNT, now))
    if (
        kind is Kind.ENDPOINT_DISABLED
        and account is not None
        and account.notify_url
        and not planning.is_alert(cb)
    ):
        own = {k: v for k, v in data.items() if k != "account_id"}
        out.append(
            planning.callback(
                Kind.DESTINATION_DISABLED,
                key,
                {"account_id": account.id, **own},
                account.notify_url,
                account.id,
                now,
            )
        )
    return out


class EndpointAlerts:
    """The dispatcher's hook (`changed`) for an endpoint whose health changed: queues its alerts in the background,
    so the dispatcher's judging of attempts never waits for the store. `drain` waits for the ones in flight."""

    def __init__(self, hub: hub_.Hub) -> None:
        self.hub = hub
        self._tasks: set[asyncio.Task[None]] = set()

    def changed(self, cb: models.Callback, before: models.Endpoint, after: models.Endpoint) -> None:
        """`cb`'s attempt moved its endpoint from `before` to `after`."""
        if cb.account_id == ids.OPERATOR_ACCOUNT or _transition(before, after) is None:
            return
        task = asyncio.create_task(self._raise(cb, before, after), name="dlrhub-endpoint-alert")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _raise(self, cb: models.Callback, before: models.Endpoint, after: models.Endpoint) -> None:
        try:
            account = None
            if after.state is models.EndpointState.DISABLED and not planning.is_alert(cb):
                db: AlertStore = self.hub.store
                try:
                    account = await db.get_account(cb.account_id)
                except errors.UnknownAccount:
                    account = None
            await _enqueue(self.hub, endpoint_alerts(self.hub, cb, before, after, account))
        except Exception:
            log.exception("alert for endpoint %s could not be queued", after.endpoint)

    async def drain(self) -> None:
        """Wait for the alerts being queued."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


# -- the backlog's age (a worker checks it) ----------------------------------------------------------------------
class BacklogWatch:
    """Raises `alert.backlog.age` when the oldest due callback gets older than `alert_backlog_age_s`, once, and
    `alert.backlog.age.resolved` when it is back under RESOLVE_BELOW of it. One per process: processes looking
    at the same oldest callback write one alert (its id is in the key)."""

    def __init__(self, hub: hub_.Hub) -> None:
        self.hub = hub
        #: The key of the alert raised and not yet resolved, and when it was raised.
        self.firing: tuple[str, dt.datetime] | None = None

    async def check(self, now: dt.datetime) -> Kind | None:
        """Look at the backlog once; the alert raised, if any."""
        if not self.hub.settings.alert_url:
            return None
        threshold = self.hub.settings.alert_backlog_age_s
        db: AlertStore = self.hub.store
        oldest = await db.oldest_due_callback(now)
        age = 0.0 if oldest is None else max(0.0, (now - oldest.due_at).total_seconds())
        if self.firing is None and oldest is not None and age >= threshold:
            data = {
                "age_s": round(age, 3),
                "threshold_s": threshold,
                "oldest_due_at": _stamp(oldest.due_at),
                "callback_id": oldest.id,
                "account_id": oldest.account_id,
                "endpoint": oldest.endpoint,
            }
            await raise_operator(self.hub, Kind.BACKLOG_AGE, oldest.id, data, now)
            self.firing = (oldest.id, now)
            return Kind.BACKLOG_AGE
        if self.firing is not None and age < threshold * RESOLVE_BELOW:
            key, since = self.firing
            data = {"age_s": round(age, 3), "threshold_s": threshold, "fired_at": _stamp(since)}
            await raise_operator(self.hub, Kind.BACKLOG_AGE_RESOLVED, key, data, now)
            self.firing = None
            return Kind.BACKLOG_AGE_RESOLVED
        return None


# -- Zalo OAs (the channel worker) -------------------------------------------------------------------------------
async def token_expiring(hub: hub_.Hub, oa: models.OA, now: dt.datetime) -> bool:
    """Raise `alert.oa.token_expiring` for `oa` (once per refresh token); the expiry watch calls it inside its
    warning window (`zalo_refresh_warn_days`)."""
    if oa.refresh_expires_at is None:
        return False
    left = (oa.refresh_expires_at - now).total_seconds()
    data = {
        "oa_id": oa.oa_id,
        "account_id": oa.account_id,
        "refresh_expires_at": _stamp(oa.refresh_expires_at),
        "seconds_left": max(0, int(left)),
        "expired": left <= 0,
        "warn_days": hub.settings.zalo_refresh_warn_days,
    }
    key = f"{oa.oa_id}@{oa.refresh_expires_at.isoformat()}"
    return await raise_operator(hub, Kind.OA_TOKEN_EXPIRING, key, data, now)


class QuotaWatch:
    """Raises `alert.oa.quota_low` when a Zalo answer shows an OA's remaining quota below
    `alert_quota_low_percent` of its daily quota: once per OA per Zalo (Vietnam) day."""

    def __init__(self, hub: hub_.Hub) -> None:
        self.hub = hub
        #: OA id -> the day it was last raised for (so a low OA's every send does not write).
        self._raised: dict[str, str] = {}

    async def seen(self, oa: models.OA, quota: wire.Quota | None, day: str, now: dt.datetime) -> bool:
        """Zalo answered a send of `oa` with `quota` on Zalo's `day`; True when this raised the alert."""
        percent = self.hub.settings.alert_quota_low_percent
        if quota is None or quota.daily <= 0 or not self.hub.settings.alert_url:
            return False
        if quota.remaining * 100 >= quota.daily * percent or self._raised.get(oa.oa_id) == day:
            return False
        data = {
            "oa_id": oa.oa_id,
            "account_id": oa.account_id,
            "daily": quota.daily,
            "remaining": quota.remaining,
            "remaining_percent": round(quota.remaining * 100 / quota.daily, 2),
            "threshold_percent": percent,
            "day": day,
        }
        raised = await raise_operator(self.hub, Kind.OA_QUOTA_LOW, f"{oa.oa_id}@{day}", data, now)
        self._raised[oa.oa_id] = day
        if len(self._raised) > 10_000:
            self._raised = {k: v for k, v in self._raised.items() if v == day}
        return raised
