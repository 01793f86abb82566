"""The alerts raised by watching (the backlog's age, an OA's token, a quota) and the outbox methods they use, on
each backend, with an injected clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from dlrhub import settings, store
from dlrhub.core import ids, models
from dlrhub.dialects.zalo import wire
from dlrhub.planning import alerts as planning
from dlrhub.services import accounts, alerts, oa_expiry
from dlrhub.services import hub as hub_
from tests.conftest import make_account, signing_secret
from tests.integration.engine.test_dispatcher import ingest

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
URL = "https://ops.example/alerts"
SECRET = signing_secret(b"s" * 24)


def hub_at(db: store.Store, clock: list[dt.datetime], **changes: object) -> hub_.Hub:
    config = settings.Settings(alert_url=URL, alert_secret=SECRET, **changes)  # type: ignore[arg-type]
    return hub_.Hub(settings=config, store=db, clock=lambda: clock[0])


async def operator_alerts(db: store.Store) -> list[dict[str, Any]]:
    found = await db.find_callbacks(store.CallbackFilter(account_id=ids.OPERATOR_ACCOUNT))
    assert all(c.request.url == URL and c.dialect is models.Dialect.NATIVE for c in found)
    return [orjson.loads(c.request.body) for c in sorted(found, key=lambda c: (c.seq, c.created_at))]


async def test_enqueue_is_idempotent_and_the_oldest_due_callback_is_found(db):
    assert await db.oldest_due_callback(NOW) is None
    early = planning.callback(planning.Kind.BACKLOG_AGE, "k1", {}, URL, ids.OPERATOR_ACCOUNT, NOW)
    later = planning.callback(
        planning.Kind.BACKLOG_AGE, "k2", {}, URL, ids.OPERATOR_ACCOUNT, NOW + dt.timedelta(1)
    )
    assert await db.enqueue_callbacks([early, later]) == 2
    assert await db.enqueue_callbacks([early]) == 0  # the same alert again: left as it is
    assert await db.enqueue_callbacks([]) == 0
    assert (await db.get_callback(early.id)).state is models.CallbackState.PENDING
    assert await db.oldest_due_callback(NOW - dt.timedelta(seconds=1)) is None
    oldest = await db.oldest_due_callback(NOW + dt.timedelta(days=2))
    assert oldest is not None and oldest.id == early.id
    await db.cancel_callbacks([early.id], NOW)
    oldest = await db.oldest_due_callback(NOW + dt.timedelta(days=2))
    assert oldest is not None and oldest.id == later.id
    # The dispatcher claims them like any callback.
    claimed = await db.claim_due_callbacks("me", NOW + dt.timedelta(days=2), 10, 30)
    assert [c.id for c in claimed] == [later.id]


async def test_the_backlog_alert_fires_once_when_crossing_and_resolves_below(db):
    account = make_account()
    await db.create_account(account, [])
    result = await ingest(db, account, "m1", models.EventKind.SUCCESS, "https://customer.example/dr")
    [cb] = result.callbacks
    clock = [cb.due_at]
    hub = hub_at(db, clock, alert_backlog_age_s=300.0)
    watch = alerts.BacklogWatch(hub)
    assert await watch.check(cb.due_at + dt.timedelta(seconds=299)) is None
    assert await watch.check(cb.due_at + dt.timedelta(seconds=301)) is planning.Kind.BACKLOG_AGE
    # Still over: no second alert, whatever the age.
    assert await watch.check(cb.due_at + dt.timedelta(seconds=900)) is None
    # Another process looking at the same oldest callback writes the same alert (one callback).
    assert (
        await alerts.BacklogWatch(hub).check(cb.due_at + dt.timedelta(seconds=905))
        is planning.Kind.BACKLOG_AGE
    )
    assert len(await operator_alerts(db)) == 1
    # The backlog drains (the callback and the alert itself are sent).
    for c in await db.find_callbacks(store.CallbackFilter(states=(models.CallbackState.PENDING,))):
        await db.cancel_callbacks([c.id], clock[0])
    assert await watch.check(cb.due_at + dt.timedelta(seconds=960)) is planning.Kind.BACKLOG_AGE_RESOLVED
    assert await watch.check(cb.due_at + dt.timedelta(seconds=990)) is None
    fired, resolved = await operator_alerts(db)
    assert fired["type"] == "alert.backlog.age" and resolved["type"] == "alert.backlog.age.resolved"
    assert fired["data"]["callback_id"] == cb.id and fired["data"]["age_s"] == 301.0
    assert fired["data"]["threshold_s"] == 300.0 and resolved["data"]["age_s"] == 0.0


async def test_alerts_off_without_an_alert_url(db):
    account = make_account()
    await db.create_account(account, [])
    result = await ingest(db, account, "m1", models.EventKind.SUCCESS, "https://customer.example/dr")
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    late = result.callbacks[0].due_at + dt.timedelta(hours=1)
    assert await alerts.BacklogWatch(hub).check(late) is None
    oa = (await accounts.create(hub, "quiet")).oa
    assert not await alerts.QuotaWatch(hub).seen(oa, wire.Quota(1000, 1), "2026-12-03", late)
    assert await db.find_callbacks(store.CallbackFilter(account_id=ids.OPERATOR_ACCOUNT)) == []


async def test_a_low_quota_alerts_once_per_oa_per_day(db):
    clock = [NOW]
    hub = hub_at(db, clock, alert_quota_low_percent=10.0)
    oa = (await accounts.create(hub, "busy")).oa
    watch = alerts.QuotaWatch(hub)
    assert not await watch.seen(oa, None, "2026-12-03", NOW)
    assert not await watch.seen(oa, wire.Quota(1000, 100), "2026-12-03", NOW)  # 10 %: not below
    assert await watch.seen(oa, wire.Quota(1000, 99), "2026-12-03", NOW)
    assert not await watch.seen(oa, wire.Quota(1000, 50), "2026-12-03", NOW)
    # A new process the same day writes the same alert again: one callback.
    assert not await alerts.QuotaWatch(hub).seen(oa, wire.Quota(1000, 40), "2026-12-03", NOW)
    assert await watch.seen(oa, wire.Quota(1000, 5), "2026-12-04", NOW + dt.timedelta(days=1))
    first, second = await operator_alerts(db)
    assert first["type"] == "alert.oa.quota_low"
    assert first["data"] == {
        "oa_id": oa.oa_id,
        "account_id": oa.account_id,
        "daily": 1000,
        "remaining": 99,
        "remaining_percent": 9.9,
        "threshold_percent": 10.0,
        "day": "2026-12-03",
    }
    assert second["data"]["day"] == "2026-12-04"


async def test_an_expiring_refresh_token_alerts_once_per_token(db):
    clock = [NOW]
    hub = hub_at(db, clock, zalo_refresh_warn_days=14)
    soon = (await accounts.create(hub, "soon")).oa
    later = (await accounts.create(hub, "later")).oa
    await db.change_oa(soon.oa_id, store.OAChanges(refresh_expires_at=NOW + dt.timedelta(days=3)))
    await db.change_oa(later.oa_id, store.OAChanges(refresh_expires_at=NOW + dt.timedelta(days=60)))
    watch = oa_expiry.ExpiryWatch(hub)
    for day in range(3):  # warned every day; alerted once
        clock[0] = NOW + dt.timedelta(days=day)
        await watch.maybe_check()
    assert watch.warnings == 3
    [alert] = await operator_alerts(db)
    assert alert["type"] == "alert.oa.token_expiring"
    assert alert["data"]["oa_id"] == soon.oa_id
    assert alert["data"]["seconds_left"] == 3 * 86400 and alert["data"]["expired"] is False
    # A new token (from Zalo's console) that nears expiry in its turn is a new alert.
    await db.change_oa(soon.oa_id, store.OAChanges(refresh_expires_at=clock[0] + dt.timedelta(days=5)))
    clock[0] += dt.timedelta(days=1)
    await watch.maybe_check()
    assert len(await operator_alerts(db)) == 2
