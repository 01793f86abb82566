"""The dispatcher's store methods on each backend: release, defer, cancel, find, requeue, endpoint health."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import breaker, models, urls
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
        ("a2", "http://a.example/x?n=2"),
        ("b1", "http://b.example/z"),
    ):
        await ingest(db, account, name, models.EventKind.SUCCESS, url)
    return {name: (await db.list_callbacks(name))[0] for name in ("a1", "a2", "b1")}


async def test_a_callback_carries_its_accounts_health_key(db):
    cbs = await setup(db)
    account_id = cbs["a1"].account_id
    assert cbs["a1"].health_key == f"{account_id}:http://a.example:80/x"
    assert cbs["a2"].health_key == cbs["a1"].health_key  # the query is no part of it
    assert (cbs["a1"].endpoint, cbs["b1"].endpoint) == (A, B)


async def test_pausing_or_cancelling_one_accounts_endpoint_leaves_another_accounts_alone(db):
    mine, theirs = make_account(), make_account()
    for account in (mine, theirs):
        await db.create_account(account, [])
    await ingest(db, mine, "m1", models.EventKind.SUCCESS, "http://a.example/x")
    await ingest(db, theirs, "t1", models.EventKind.SUCCESS, "http://a.example/x")
    await ingest(db, theirs, "t2", models.EventKind.SUCCESS, "http://a.example/other")
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(minutes=5)
    key = urls.health_key(mine.id, "http://a.example/x")
    assert await db.defer_endpoint_callbacks(key, later, now) == 1
    assert await db.cancel_endpoint_callbacks(key, now) == 1
    assert (await db.list_callbacks("m1"))[0].state is S.CANCELLED
    for name in ("t1", "t2"):
        (cb,) = await db.list_callbacks(name)
        assert (cb.state, cb.due_at < later) == (S.PENDING, True)


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
    key = cbs["a1"].health_key
    assert await db.defer_endpoint_callbacks(key, later, now) == 1
    assert (await db.get_callback(cbs["a1"].id)).due_at == later
    assert (await db.get_callback(cbs["b1"].id)).due_at < later
    assert await db.cancel_endpoint_callbacks(key, now) == 2
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
    health = urls.health_key(cbs["a1"].account_id, "http://c.example/new")
    assert (
        await db.requeue_callbacks(
            [(cbs["a1"].id, "http://c.example/new", "http://c.example:80", health)], now
        )
        == 1
    )
    moved = await db.get_callback(cbs["a1"].id)
    assert (moved.state, moved.request.url, moved.endpoint, moved.health_key) == (
        S.PENDING,
        "http://c.example/new",
        "http://c.example:80",
        health,
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
    mine = breaker.fresh("acc_1:http://a.example:80/x", now)
    other = breaker.disable(breaker.fresh("acc_10:http://a.example:80/x", now), now)
    await db.put_endpoints([mine, other])
    assert await db.list_endpoints(account_id="acc_1") == [mine]
    assert await db.list_endpoints((models.EndpointState.DISABLED,), account_id="acc_10") == [other]
    assert await db.list_endpoints((models.EndpointState.PAUSED,), account_id="acc_10") == []
    await db.put_endpoints([breaker.reset(other, now)])
    healed = breaker.reset(paused, now)
    await db.put_endpoints([healed], overrule=True)
    counts = await db.count_endpoints()
    assert (counts[models.EndpointState.HEALTHY], counts[models.EndpointState.DISABLED]) == (3, 1)


async def test_a_claim_skips_excluded_destinations_and_takes_a_quota_of_each(db):
    account = make_account()
    await db.create_account(account, [])
    for i in range(5):
        await ingest(db, account, f"a{i}", models.EventKind.SUCCESS, f"http://a.example/{i}")
    for i in range(3):
        await ingest(db, account, f"b{i}", models.EventKind.SUCCESS, f"http://b.example/{i}")
    await ingest(db, account, "c0", models.EventKind.SUCCESS, "http://c.example/0")
    # A later callback of message a0: it may not be claimed before a0's first one is done, quota or not.
    await ingest(db, account, "a0", models.EventKind.DELIVERED, "http://a.example/0")
    assert [c.seq for c in await db.list_callbacks("a0")] == [1, 2]
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    claimed = await db.claim_due_callbacks("w1", now, 100, 30, quota=2, exclude={"http://c.example:80"})
    by_endpoint = {e: [c.message_id for c in claimed if c.endpoint == e] for e in (A, B)}
    # The earliest two of each destination, nothing of the excluded one.
    assert by_endpoint == {A: ["a0", "a1"], B: ["b0", "b1"]}
    assert [c.seq for c in claimed if c.message_id == "a0"] == [1]
    # The rest was never leased: another dispatcher takes it all (a0's second callback still waits for its first).
    rest = await db.claim_due_callbacks("w2", now, 100, 30)
    assert sorted(c.message_id for c in rest) == ["a2", "a3", "a4", "b2", "c0"]
    # Without a quota nor exclusions, a claim is the plain `limit` first due callbacks.
    await db.release_callbacks("w2", [(c.id, now) for c in rest], now)
    assert len(await db.claim_due_callbacks("w3", now, 4, 30)) == 4


async def test_a_refill_claims_each_destination_from_its_own_callbacks_in_order(db):
    account = make_account()
    await db.create_account(account, [])
    for i in range(4):
        await ingest(db, account, f"a{i}", models.EventKind.SUCCESS, f"http://a.example/{i}")
    await ingest(db, account, "a0", models.EventKind.DELIVERED, "http://a.example/0")
    for i in range(2):
        await ingest(db, account, f"b{i}", models.EventKind.SUCCESS, f"http://b.example/{i}")
    await ingest(db, account, "c0", models.EventKind.SUCCESS, "http://c.example/0")
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    claimed = await db.claim_endpoint_callbacks("w1", now, {A: 2, B: 5}, 30)
    assert sorted((c.message_id, c.seq) for c in claimed) == [("a0", 1), ("a1", 1), ("b0", 1), ("b1", 1)]
    # Leased: another dispatcher gets the rest of A only, and never a0's second callback before its first is done.
    rest = await db.claim_endpoint_callbacks("w2", now, {A: 10}, 30)
    assert sorted(c.message_id for c in rest) == ["a2", "a3"]
    assert await db.claim_endpoint_callbacks("w2", now, {}, 30) == []
    assert [c.message_id for c in await db.claim_due_callbacks("w3", now, 10, 30)] == ["c0"]
