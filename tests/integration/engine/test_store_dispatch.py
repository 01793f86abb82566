"""The dispatcher's store methods on each backend: release, defer, cancel, find, requeue, endpoint health."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import breaker, models
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest

S = models.CallbackState
A = "http://a.example:80"
B = "http://b.example:80"


async def setup(db: store.Store) -> dict[str, models.Callback]:
    account = make_account()
    await db.create_account(account, [])
    for name, url in (
        ("a1", "http://a.example/x"),
        ("a2", "http://a.example/y"),
        ("b1", "http://b.example/z"),
    ):
        await ingest(db, account, name, models.EventKind.SUCCESS, url)
    return {name: (await db.list_callbacks(name))[0] for name in ("a1", "a2", "b1")}


async def test_release_defer_and_cancel(db):
    cbs = await setup(db)
    now = dt.datetime.now(dt.UTC)
    claimed = await db.claim_due_callbacks("w1", now, 10, 30)
    assert {c.id for c in claimed} == {c.id for c in cbs.values()}
    assert await db.claim_due_callbacks("w2", now, 10, 30) == []  # all leased
    later = now + dt.timedelta(minutes=5)
    # Only the lease holder can give a callback back.
    await db.release_callbacks("w2", [(cbs["a1"].id, later)], now)
    assert (await db.get_callback(cbs["a1"].id)).due_at < later
    await db.release_callbacks("w1", [(cbs["a1"].id, now)], now)
    assert [c.id for c in await db.claim_due_callbacks("w2", now, 10, 30)] == [cbs["a1"].id]
    await db.release_callbacks("w2", [(cbs["a1"].id, now)], now)
    # Deferring an endpoint moves its unleased callbacks only (a2 is still leased by w1).
    assert await db.defer_endpoint_callbacks(A, later, now) == 1
    assert (await db.get_callback(cbs["a1"].id)).due_at == later
    assert (await db.get_callback(cbs["b1"].id)).due_at < later
    assert await db.cancel_endpoint_callbacks(A, now) == 2
    assert await db.cancel_callbacks([cbs["b1"].id, "cb_nope"], now) == 1
    assert [(await db.get_callback(c.id)).state for c in cbs.values()] == [S.CANCELLED] * 3


async def test_find_and_requeue(db):
    cbs = await setup(db)
    now = dt.datetime.now(dt.UTC)
    await db.cancel_callbacks([cbs["a1"].id], now)
    everything = await db.find_callbacks(store.CallbackFilter())
    assert len(everything) == 3
    by_message = await db.find_callbacks(store.CallbackFilter(message_id="a2"))
    assert [c.id for c in by_message] == [cbs["a2"].id]
    cancelled = await db.find_callbacks(
        store.CallbackFilter(created_from=now - dt.timedelta(hours=1), states=(S.CANCELLED,))
    )
    assert [c.id for c in cancelled] == [cbs["a1"].id]
    assert await db.find_callbacks(store.CallbackFilter(created_from=now + dt.timedelta(hours=1))) == []
    assert len(await db.find_callbacks(store.CallbackFilter(ids=(cbs["a1"].id, cbs["b1"].id)))) == 2
    assert len(await db.find_callbacks(store.CallbackFilter(limit=2))) == 2
    assert (
        await db.requeue_callbacks([(cbs["a1"].id, "http://c.example/new", "http://c.example:80")], now) == 1
    )
    moved = await db.get_callback(cbs["a1"].id)
    assert (moved.state, moved.request.url, moved.endpoint) == (
        S.PENDING,
        "http://c.example/new",
        "http://c.example:80",
    )
    assert moved.retry_from == moved.attempts


async def test_endpoint_health_round_trip(db):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    config = breaker.BreakerConfig(failures=1)
    paused = breaker.record(breaker.fresh(A, now), models.AttemptOutcome.TIMEOUT, None, now, config)
    disabled = breaker.disable(breaker.fresh(B, now), now)
    await db.put_endpoints([paused, disabled])
    assert await db.get_endpoints([A, B, "http://x:80"]) == {A: paused, B: disabled}
    assert await db.list_endpoints((models.EndpointState.PAUSED,)) == [paused]
    assert [e.endpoint for e in await db.list_endpoints()] == [A, B]
    healed = breaker.reset(paused, now)
    await db.put_endpoints([healed])
    counts = await db.count_endpoints()
    assert (counts[models.EndpointState.HEALTHY], counts[models.EndpointState.DISABLED]) == (1, 1)
