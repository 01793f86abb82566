"""The dispatcher on each backend, against loopback receivers: delivery, order, retries, 410, isolation."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable

import orjson
import standardwebhooks

from dlrhub import settings, store
from dlrhub.adapters import sender
from dlrhub.core import breaker, models, retry, urls
from dlrhub.core import signing as webhook_signing
from dlrhub.dialects import registry
from dlrhub.services import events
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher
from tests.conftest import make_account, signing_secret
from tests.receivers import Receiver

LOOPBACK = urls.parse_allowlist(["127.0.0.1"])
FAST = registry.retry_policies({p.name: (0.05, 0.05, 0.05) for p in (retry.ESMS, retry.STANDARD_WEBHOOKS)})
S = models.CallbackState


def config(**changes: object) -> config_.DispatchConfig:
    base = config_.DispatchConfig(
        batch_size=50, lease_s=30, concurrency=32, per_endpoint=8, idle_s=0.05, defer_s=0.2, policies=FAST
    )
    return config_.DispatchConfig(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})


@contextlib.asynccontextmanager
async def running(
    db: store.Store, cfg: config_.DispatchConfig, timeout_s: float = 2.0
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    scfg = sender.SenderConfig(
        timeout_s=timeout_s, pool_size=cfg.concurrency, per_endpoint=cfg.per_endpoint, allow=LOOPBACK
    )
    async with sender.Sender(scfg) as snd:
        d = dispatcher.Dispatcher(db, snd, cfg, rand=lambda: 0.5)
        task = asyncio.create_task(d.run(stop))
        try:
            yield
        finally:
            stop.set()
            await task


async def eventually(check: Callable[[], object], within_s: float = 20.0) -> None:
    for _ in range(int(within_s / 0.02)):
        if await check():  # type: ignore[misc]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def ingest(
    db: store.Store,
    account: models.Account,
    message_id: str,
    kind: models.EventKind,
    url: str,
    dialect: models.Dialect = models.Dialect.NATIVE,
):
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    return await events.ingest_external(
        hub,
        events.ExternalEvent(
            event_id=f"{message_id}:{kind.value}",
            message_id=message_id,
            account_id=account.id,
            kind=kind,
            type_id=24,
            dialect=dialect,
            occurred_at=dt.datetime.now(dt.UTC),
            callback_url=url,
        ),
    )


async def states(db: store.Store, message_id: str) -> list[S]:
    return [c.state for c in await db.list_callbacks(message_id)]


async def test_delivers_signed_and_records_the_attempt(db):
    secret = signing_secret(b"k" * 24)
    account = make_account(signing_secrets=(secret,))
    await db.create_account(account, [])
    async with Receiver() as rec, running(db, config()):
        await ingest(db, account, "m1", models.EventKind.SUCCESS, rec.url("/hook"))

        async def done():
            return await states(db, "m1") == [S.SUCCEEDED]

        await eventually(done)
    [cb] = await db.list_callbacks("m1")
    [attempt] = await db.list_attempts(cb.id)
    assert attempt.outcome is models.AttemptOutcome.OK
    assert attempt.number == 1
    [hit] = rec.hits
    assert hit.headers["webhook-id"] == cb.id
    payload = standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)
    assert payload["type"] == "message.success"
    assert payload["data"]["message_id"] == "m1"


async def test_callbacks_of_one_message_go_in_order_through_retries(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec:
        rec.scripts["/a"] = [500, 500, 200]
        await ingest(db, account, "m2", models.EventKind.SUCCESS, rec.url("/a"))
        await ingest(db, account, "m2", models.EventKind.DELIVERED, rec.url("/a"))
        async with running(db, config()):

            async def done():
                return await states(db, "m2") == [S.SUCCEEDED, S.SUCCEEDED]

            await eventually(done)
    kinds = [orjson.loads(b)["type"] for b in rec.bodies("/a")]
    assert kinds == ["message.success"] * 3 + ["message.delivered"]


async def test_a_later_callback_goes_after_the_earlier_gives_up_and_other_messages_never_wait(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec:
        rec.scripts["/a"] = [500, 500, 500, 500, 200]
        await ingest(db, account, "ma", models.EventKind.SUCCESS, rec.url("/a"))
        await ingest(db, account, "ma", models.EventKind.DELIVERED, rec.url("/a"))
        await ingest(db, account, "mb", models.EventKind.SUCCESS, rec.url("/b"))
        async with running(db, config()):

            async def done():
                return await states(db, "ma") == [S.FAILED, S.SUCCEEDED]

            await eventually(done)
    assert await states(db, "mb") == [S.SUCCEEDED]
    kinds = [orjson.loads(b)["type"] for b in rec.bodies("/a")]
    assert kinds == ["message.success"] * 4 + ["message.delivered"]
    # mb was not held behind ma's retries.
    first_b = next(i for i, h in enumerate(rec.hits) if h.path == "/b")
    last_a_success = max(i for i, h in enumerate(rec.hits) if h.path == "/a" and b"message.success" in h.body)
    assert first_b < last_a_success


async def test_410_disables_the_endpoint_and_cancels_its_callbacks(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec:
        rec.scripts["/gone"] = [410]
        await ingest(db, account, "mg", models.EventKind.SUCCESS, rec.url("/gone"))
        await ingest(db, account, "mg", models.EventKind.DELIVERED, rec.url("/gone"))
        async with running(db, config()):

            async def done():
                return await states(db, "mg") == [S.FAILED, S.CANCELLED]

            await eventually(done)
        [endpoint] = await db.list_endpoints()
        assert endpoint.endpoint == f"{account.id}:http://127.0.0.1:{rec.port}/gone"
        assert endpoint.state is models.EndpointState.DISABLED
        assert len(rec.hits) == 1
        # A new callback to a disabled endpoint (its query is no part of it) is cancelled without being sent; one
        # to another path of the same host is another endpoint, and is sent.
        await ingest(db, account, "mg2", models.EventKind.SUCCESS, rec.url("/gone?again=1"))
        await ingest(db, account, "mg3", models.EventKind.SUCCESS, rec.url("/other"))
        async with running(db, config()):

            async def cancelled():
                return await states(db, "mg2") == [S.CANCELLED] and await states(db, "mg3") == [S.SUCCEEDED]

            await eventually(cancelled)
        assert [h.path for h in rec.hits] == ["/gone", "/other"]


async def test_a_failing_endpoint_is_paused_and_seen_in_the_store(db):
    account = make_account()
    await db.create_account(account, [])
    cfg = config(breaker=breaker.BreakerConfig(failures=3, pause=dt.timedelta(minutes=5)))
    async with Receiver() as rec:
        rec.scripts["/down"] = [503]
        for i in range(30):
            await ingest(db, account, f"md{i}", models.EventKind.SUCCESS, rec.url("/down"))
        async with running(db, cfg):

            async def paused():
                return [e.state for e in await db.list_endpoints()] == [models.EndpointState.PAUSED]

            await eventually(paused)
            await asyncio.sleep(0.5)
        # Without the breaker, 30 callbacks x 4 attempts (50 ms apart) would all have gone out by now. With it,
        # only what was already on its way when the breaker opened: at most twice the destination's cap.
        assert len(rec.hits) <= 2 * cfg.per_endpoint
        [endpoint] = await db.list_endpoints()
        assert endpoint.consecutive_failures >= 3
        counts = await db.count_endpoints()
        assert counts[models.EndpointState.PAUSED] == 1
        # Its whole backlog waits for the pause to end, without being claimed batch by batch meanwhile.
        assert endpoint.paused_until is not None
        pending = await db.find_callbacks(store.CallbackFilter(states=(S.PENDING,)))
        assert len(pending) == 30
        assert all(cb.due_at >= endpoint.paused_until - dt.timedelta(milliseconds=1) for cb in pending)


async def test_a_hanging_endpoint_does_not_slow_the_healthy_ones(db):
    account = make_account()
    await db.create_account(account, [])
    cfg = config(per_endpoint=2, concurrency=16)
    async with Receiver() as bad, Receiver() as good:
        bad.scripts["/hang"] = [0]
        for i in range(30):
            await ingest(db, account, f"bad{i}", models.EventKind.SUCCESS, bad.url("/hang"))
        for i in range(30):
            await ingest(db, account, f"good{i}", models.EventKind.SUCCESS, good.url("/ok"))
        async with running(db, cfg, timeout_s=60):

            async def all_good():
                return all([await states(db, f"good{i}") == [S.SUCCEEDED] for i in range(30)])

            await eventually(all_good)
            # Still stuck at the bad destination, two at a time (its cap), and nothing of it finished.
            assert bad.hanging == 2
            assert all([await states(db, f"bad{i}") == [S.PENDING] for i in range(30)])
            bad.release.set()


async def test_esms_get_callbacks_follow_the_esms_policy_and_are_signed_over_the_query(db):
    secret = signing_secret(b"e" * 24)
    account = make_account(signing_secrets=(secret,))
    await db.create_account(account, [])
    async with Receiver() as rec:
        rec.scripts["/final"] = [404]
        rec.scripts["/flaky"] = [502, 200]
        await ingest(db, account, "e1", models.EventKind.SUCCESS, rec.url("/final"), models.Dialect.ESMS)
        await ingest(db, account, "e2", models.EventKind.SUCCESS, rec.url("/flaky"), models.Dialect.ESMS)
        async with running(db, config()):

            async def done():
                return await states(db, "e1") == [S.FAILED] and await states(db, "e2") == [S.SUCCEEDED]

            await eventually(done)
    # eSMS: a 404 is final (one attempt, the endpoint stays enabled); a 502 is retried.
    assert [h.status for h in rec.hits if h.path == "/final"] == [404]
    assert [h.status for h in rec.hits if h.path == "/flaky"] == [502, 200]
    assert {e.state for e in await db.list_endpoints()} <= {models.EndpointState.HEALTHY}
    for hit in rec.hits:
        assert hit.body == b""
        assert "SMSID=" in hit.query
        [cb] = await db.list_callbacks("e1" if hit.path == "/final" else "e2")
        assert webhook_signing.verify(
            (secret,), hit.headers, cb.request, now=int(dt.datetime.now(dt.UTC).timestamp())
        )
