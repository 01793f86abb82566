"""eSMS GET callbacks through the real dispatcher against a loopback receiver: up to 5 retries (6 attempts)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import urllib.parse
from collections.abc import AsyncIterator

import pytest

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import models, retry, urls
from dlrhub.dialects import registry
from dlrhub.services import events
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher
from tests import customers
from tests.customers import Customer
from tests.integration.esms.conftest import SEND
from tests.receivers import Receiver

S = models.CallbackState
#: The eSMS schedule's shape (5 retries) at test speed; the standard one is not used here.
FAST_ESMS = registry.retry_policies({retry.ESMS.name: (0.05,) * 5, retry.STANDARD_WEBHOOKS.name: (0.05,)})


@pytest.fixture
async def customer(db: store.Store) -> AsyncIterator[Customer]:
    """The eSMS customer, with the loopback receiver opened by the allow-list (else its URL is refused)."""
    made = await customers.in_process(db, config={"callback_allow": ("127.0.0.1",)})
    try:
        yield made
    finally:
        await made.aclose()


@contextlib.asynccontextmanager
async def running(db: store.Store, timeout_s: float) -> AsyncIterator[None]:
    cfg = config_.DispatchConfig(
        batch_size=50, lease_s=30, concurrency=8, per_endpoint=8, idle_s=0.05, defer_s=0.2, policies=FAST_ESMS
    )
    scfg = sender.SenderConfig(
        timeout_s=timeout_s, pool_size=8, per_endpoint=8, allow=urls.parse_allowlist(["127.0.0.1"])
    )
    stop = asyncio.Event()
    async with sender.Sender(scfg) as snd:
        task = asyncio.create_task(dispatcher.Dispatcher(db, snd, cfg, rand=lambda: 0.5).run(stop))
        try:
            yield
        finally:
            stop.set()
            await task


async def settled(db: store.Store, message_id: str, within_s: float = 30.0) -> models.Callback:
    for _ in range(int(within_s / 0.05)):
        callbacks = await db.list_callbacks(message_id)
        if callbacks and callbacks[-1].state is not S.PENDING:
            return callbacks[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("the callback did not settle")


async def sent_with_callback(customer: Customer, url: str) -> str:
    r = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(CallbackUrl=url))
    sms_id: str = r.json()["SMSID"]
    event = models.StatusEvent(
        id=f"{sms_id}:failed",
        kind=models.EventKind.FAILED,
        occurred_at=dt.datetime.now(dt.UTC),
        message_id=sms_id,
        code=-118,
        zalo_res={"error": -118, "message": "Zalo account does not exist or is deactivated"},
    )
    await events.apply(customer.hub, event, customer.new.account)
    return sms_id


async def test_a_receiver_that_times_out_gets_six_attempts_then_nothing(customer: Customer, db: store.Store):
    async with Receiver() as rec:
        rec.scripts["/hang"] = [0]
        sms_id = await sent_with_callback(customer, rec.url("/hang"))
        async with running(db, timeout_s=0.2):
            cb = await settled(db, sms_id)
            await asyncio.sleep(0.3)  # a seventh attempt would be due by now
        hits = [h for h in rec.hits if h.path == "/hang"]
    assert cb.state is S.FAILED
    attempts = await db.list_attempts(cb.id)
    assert [a.number for a in attempts] == [1, 2, 3, 4, 5, 6]
    assert {a.outcome for a in attempts} == {models.AttemptOutcome.TIMEOUT}
    assert len(hits) == 6
    # Every retry is the same GET, byte for byte.
    assert len({h.query for h in hits}) == 1
    query = dict(urllib.parse.parse_qsl(hits[0].query, keep_blank_values=True))
    assert (query["SMSID"], query["SendStatus"], query["SendFailed"]) == (sms_id, "5", "1")


async def test_server_errors_are_retried_until_success(customer: Customer, db: store.Store):
    async with Receiver() as rec:
        rec.scripts["/flaky"] = [500, 503, 429, 200]
        sms_id = await sent_with_callback(customer, rec.url("/flaky"))
        async with running(db, timeout_s=2.0):
            cb = await settled(db, sms_id)
    assert cb.state is S.SUCCEEDED
    assert [a.status_code for a in await db.list_attempts(cb.id)] == [500, 503, 429, 200]


async def test_a_client_error_is_final(customer: Customer, db: store.Store):
    async with Receiver() as rec:
        rec.scripts["/gone"] = [404]
        sms_id = await sent_with_callback(customer, rec.url("/gone"))
        async with running(db, timeout_s=2.0):
            cb = await settled(db, sms_id)
    assert cb.state is S.FAILED
    assert len(await db.list_attempts(cb.id)) == 1
