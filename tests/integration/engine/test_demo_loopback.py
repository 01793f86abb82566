"""`dlrhub serve` on a demo store opens loopback to the demo account's callbacks only (`Hub.demo_allow`): an
account made while the process runs, a real customer, never gets callbacks sent to this machine's loopback."""

from __future__ import annotations

import asyncio
import ipaddress

from dlrhub import settings
from dlrhub.core import ids, models
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatcher
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import eventually, ingest
from tests.receivers import Receiver

LOOPBACK_IP = ipaddress.ip_address("127.0.0.1")


async def test_loopback_opened_for_the_demo_reaches_no_other_account(db):
    demo = make_account(name="demo", id=ids.demo_account_id())
    real = make_account(name="acme")  # made after `serve` opened loopback for the demo
    for account in (demo, real):
        await db.create_account(account, [])
    config = settings.Settings(callback_timeout_s=2.0, dispatch_lease_s=10.0)
    hub = hub_.Hub(settings=config, store=db, demo_allow=("127.0.0.1", "::1"))
    # A door checks an address before it knows the account: the widest allow-list; the sender, each account's.
    assert hub.allow().admits(LOOPBACK_IP)
    assert not hub.allow(real.id).admits(LOOPBACK_IP)
    stop = asyncio.Event()
    async with Receiver() as rec:
        await ingest(db, demo, "m-demo", models.EventKind.SUCCESS, rec.url("/demo"))
        await ingest(db, real, "m-real", models.EventKind.SUCCESS, rec.url("/internal-admin"))
        task = asyncio.create_task(dispatcher.run(hub, stop))
        try:

            async def both_tried():
                for mid in ("m-demo", "m-real"):
                    [cb] = await db.list_callbacks(mid)
                    if not await db.list_attempts(cb.id):
                        return False
                return True

            await eventually(both_tried)
        finally:
            stop.set()
            await task
    assert [hit.path for hit in rec.hits] == ["/demo"]
    [real_cb] = await db.list_callbacks("m-real")
    [attempt] = await db.list_attempts(real_cb.id)
    assert attempt.outcome is models.AttemptOutcome.BLOCKED_URL
    [demo_cb] = await db.list_callbacks("m-demo")
    assert demo_cb.state is models.CallbackState.SUCCEEDED
