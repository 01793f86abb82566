"""Alerts through the outbox on each backend: a paused or disabled endpoint reaches the operator's webhook and the
customer's own `notify_url`, signed, and another customer hears nothing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import standardwebhooks

from dlrhub import settings, store
from dlrhub.adapters import sender
from dlrhub.core import breaker, ids, models, urls
from dlrhub.planning import alerts as planning
from dlrhub.services import alerts
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher
from tests.conftest import make_account, signing_secret
from tests.integration.engine.test_dispatcher import LOOPBACK, config, eventually, ingest
from tests.receivers import Receiver

OPERATOR_SECRET = signing_secret(b"o" * 32)
S = models.CallbackState


def alert_hub(db: store.Store, url: str) -> hub_.Hub:
    return hub_.Hub(
        settings=settings.Settings(
            alert_url=url, alert_secret=OPERATOR_SECRET, callback_allow=("127.0.0.1",)
        ),
        store=db,
    )


@contextlib.asynccontextmanager
async def running(hub: hub_.Hub, cfg: config_.DispatchConfig) -> AsyncIterator[None]:
    """A dispatcher with the alert hook and the operator's secret, as `dispatcher.run` makes it."""
    stop = asyncio.Event()
    scfg = sender.SenderConfig(
        timeout_s=2.0, pool_size=cfg.concurrency, per_endpoint=cfg.per_endpoint, allow=LOOPBACK
    )
    watch = alerts.EndpointAlerts(hub)
    async with sender.Sender(scfg) as snd:
        d = dispatcher.Dispatcher(hub.store, snd, cfg, rand=lambda: 0.5, on_endpoint=watch.changed)
        task = asyncio.create_task(d.run(stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await watch.drain()


def operator_config(**changes: object) -> config_.DispatchConfig:
    return config(operator_secrets=(OPERATOR_SECRET,), **changes)


async def test_a_disabled_endpoint_alerts_the_operator_signed_once(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as customer, Receiver() as ops:
        hub = alert_hub(db, ops.url("/alerts"))
        customer.scripts["/gone"] = [410]
        await ingest(db, account, "m1", models.EventKind.SUCCESS, customer.url("/gone"))
        await ingest(db, account, "m2", models.EventKind.SUCCESS, customer.url("/gone"))
        async with running(hub, operator_config()):

            async def alerted():
                return len(ops.hits) >= 1

            await eventually(alerted)
            await asyncio.sleep(0.3)  # a second 410 (from m2's callback, if sent) must not alert again
        [hit] = ops.hits
        payload = standardwebhooks.Webhook(OPERATOR_SECRET).verify(hit.body, hit.headers)
        assert payload["type"] == "alert.endpoint.disabled"
        # The endpoint's label: its origin, its path only as a digest (paths hold customers' tokens).
        assert payload["data"]["endpoint"] == urls.health_label(urls.health_target(customer.url("/gone")))
        assert "/gone" not in hit.body.decode()
        assert payload["data"]["account_id"] == account.id
        assert payload["data"]["reason"] == "gone"
        assert payload["timestamp"].endswith("Z")
        # It is a callback like any other: recorded, succeeded, under the operator's pseudo-account.
        [cb] = await db.find_callbacks(store.CallbackFilter(account_id=ids.OPERATOR_ACCOUNT))
        assert cb.state is S.SUCCEEDED and cb.id == hit.headers["webhook-id"]


async def test_a_failing_endpoint_alerts_once_when_paused(db):
    account = make_account()
    await db.create_account(account, [])
    cfg = operator_config(breaker=breaker.BreakerConfig(failures=2, pause=dt.timedelta(seconds=0.3)))
    async with Receiver() as customer, Receiver() as ops:
        hub = alert_hub(db, ops.url("/alerts"))
        customer.scripts["/down"] = [503]
        for i in range(6):
            await ingest(db, account, f"md{i}", models.EventKind.SUCCESS, customer.url("/down"))
        async with running(hub, cfg):

            async def alerted():
                return len(ops.hits) >= 1

            await eventually(alerted)
            await asyncio.sleep(1.0)  # failed probes pause it again: still the one streak, no second alert
        types = [
            standardwebhooks.Webhook(OPERATOR_SECRET).verify(h.body, h.headers)["type"] for h in ops.hits
        ]
        assert types == ["alert.endpoint.paused"]
        data = ops.hits[0].json()["data"]
        assert data["consecutive_failures"] >= 2 and data["paused_until"] is not None


async def test_the_customer_hears_of_its_own_disabled_endpoint_and_not_of_anothers(db):
    secret_a = signing_secret(b"a" * 24)
    async with Receiver() as shared, Receiver() as notify_a, Receiver() as notify_b, Receiver() as ops:
        a = make_account(signing_secrets=(secret_a,), notify_url=notify_a.url("/a"))
        b = make_account(notify_url=notify_b.url("/b"))
        await db.create_account(a, [])
        await db.create_account(b, [])
        shared.scripts["/gone"] = [410]
        hub = alert_hub(db, ops.url("/alerts"))
        await ingest(db, a, "ma", models.EventKind.SUCCESS, shared.url("/gone"))
        async with running(hub, operator_config()):

            async def told():
                return len(notify_a.hits) >= 1 and len(ops.hits) >= 1

            await eventually(told)
            await asyncio.sleep(0.3)
        [hit] = notify_a.hits
        payload = standardwebhooks.Webhook(secret_a).verify(hit.body, hit.headers)
        assert payload["type"] == "alert.destination.disabled"
        assert payload["data"]["account_id"] == a.id
        assert payload["data"]["endpoint"] == urls.health_label(urls.health_target(shared.url("/gone")))
        assert notify_b.hits == []
        # The operator's secret does not sign the customer's copy, nor the customer's the operator's.
        assert standardwebhooks.Webhook(OPERATOR_SECRET).verify(ops.hits[0].body, ops.hits[0].headers)
        mine = await db.find_callbacks(store.CallbackFilter(account_id=a.id))
        assert [c.event_id.startswith(planning.EVENT_PREFIX) for c in mine].count(True) == 1
        assert await db.find_callbacks(store.CallbackFilter(account_id=b.id)) == []


async def test_no_alert_url_writes_no_operator_alert(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as customer:
        hub = hub_.Hub(settings=settings.Settings(), store=db)
        customer.scripts["/gone"] = [410]
        await ingest(db, account, "m1", models.EventKind.SUCCESS, customer.url("/gone"))
        async with running(hub, config()):

            async def disabled():
                return [e.state for e in await db.list_endpoints()] == [models.EndpointState.DISABLED]

            await eventually(disabled)
    assert await db.find_callbacks(store.CallbackFilter(account_id=ids.OPERATOR_ACCOUNT)) == []
