"""One account's endpoint never decides for another's (issue 15): two accounts share a host, a real dispatcher and a
real receiver; account A's endpoint answers 410 or fails until paused, and account B's callbacks to the same host,
on another path and on A's very path, keep being delivered. The host's connection cap stays shared."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import breaker, models, urls
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running, states
from tests.receivers import HANG, Receiver

S = models.CallbackState
E = models.EndpointState


async def accounts(db: store.Store) -> tuple[models.Account, models.Account]:
    a, b = make_account(), make_account()
    for account in (a, b):
        await db.create_account(account, [])
    return a, b


async def all_in(db: store.Store, prefix: str, n: int, state: S) -> bool:
    return all([await states(db, f"{prefix}{i}") == [state] for i in range(n)])


async def test_one_accounts_410_cancels_none_of_anothers_callbacks_on_the_same_host(db):
    a, b = await accounts(db)
    async with Receiver() as rec:
        # The same path for both accounts; the query (no part of an endpoint) tells the receiver who is calling.
        rec.script("/dr?from=a", 410)
        for i in range(3):
            await ingest(db, a, f"a{i}", models.EventKind.SUCCESS, rec.url("/dr?from=a"))
            await ingest(db, b, f"bsame{i}", models.EventKind.SUCCESS, rec.url("/dr?from=b"))
            await ingest(db, b, f"bother{i}", models.EventKind.SUCCESS, rec.url("/another-customer"))
        async with running(db, config()):

            async def settled():
                return (
                    await states(db, "a0") in ([S.FAILED], [S.CANCELLED])
                    and await all_in(db, "bsame", 3, S.SUCCEEDED)
                    and await all_in(db, "bother", 3, S.SUCCEEDED)
                )

            await eventually(settled)

            # A's endpoint is disabled: its new callback is cancelled without an attempt; B's new ones go out.
            async def a_disabled():
                found = await db.get_endpoints([urls.health_key(a.id, rec.url("/dr"))])
                return [e.state for e in found.values()] == [E.DISABLED]

            await eventually(a_disabled)
            await ingest(db, a, "a-new", models.EventKind.SUCCESS, rec.url("/dr?from=a"))
            await ingest(db, b, "b-new-same", models.EventKind.SUCCESS, rec.url("/dr?from=b"))
            await ingest(db, b, "b-new-other", models.EventKind.SUCCESS, rec.url("/another-customer"))

            async def new_ones():
                return (
                    await states(db, "a-new") == [S.CANCELLED]
                    and await states(db, "b-new-same") == [S.SUCCEEDED]
                    and await states(db, "b-new-other") == [S.SUCCEEDED]
                )

            await eventually(new_ones)
    [a_new] = await db.list_callbacks("a-new")
    assert a_new.attempts == 0
    # Every callback of A ended without a success; every one of B's was delivered once.
    for i in range(3):
        assert (await states(db, f"a{i}"))[0] in (S.FAILED, S.CANCELLED)
    b_hits = [h for h in rec.hits if h.params.get("from") != "a"]
    assert len(b_hits) == 8 and {h.status for h in b_hits} == {200}
    # Only A's endpoint is judged unhealthy; B's are untouched.
    judged = {e.endpoint: e.state for e in await db.list_endpoints() if e.state is not E.HEALTHY}
    assert judged == {urls.health_key(a.id, rec.url("/dr")): E.DISABLED}
    assert await db.list_endpoints(account_id=b.id) == []


async def test_one_accounts_failing_endpoint_pauses_only_its_own_callbacks(db):
    a, b = await accounts(db)
    cfg = config(breaker=breaker.BreakerConfig(failures=3, pause=dt.timedelta(minutes=5)))
    async with Receiver() as rec:
        rec.script("/dr?from=a", 503)
        for i in range(12):
            await ingest(db, a, f"a{i}", models.EventKind.SUCCESS, rec.url("/dr?from=a"))
        for i in range(6):
            await ingest(db, b, f"bsame{i}", models.EventKind.SUCCESS, rec.url("/dr?from=b"))
            await ingest(db, b, f"bother{i}", models.EventKind.SUCCESS, rec.url("/another-customer"))
        key_a = urls.health_key(a.id, rec.url("/dr"))
        async with running(db, cfg):

            async def paused():
                found = await db.get_endpoints([key_a])
                return [e.state for e in found.values()] == [E.PAUSED]

            await eventually(paused)

            async def b_delivered():
                return await all_in(db, "bsame", 6, S.SUCCEEDED) and await all_in(
                    db, "bother", 6, S.SUCCEEDED
                )

            # Delivered while A is paused for minutes: nothing of B waited for A's pause.
            await eventually(b_delivered)
            await ingest(db, b, "b-new-same", models.EventKind.SUCCESS, rec.url("/dr?from=b"))

            async def b_new():
                return await states(db, "b-new-same") == [S.SUCCEEDED]

            await eventually(b_new)
        [pause] = (await db.get_endpoints([key_a])).values()
        assert pause.state is E.PAUSED and pause.paused_until is not None
    # Only A's callbacks are left waiting; B has no pending callback and no unhealthy endpoint.
    pending = await db.find_callbacks(store.CallbackFilter(states=(S.PENDING,)))
    assert pending and {cb.account_id for cb in pending} == {a.id}
    assert [e for e in await db.list_endpoints(account_id=b.id) if e.state is not E.HEALTHY] == []
    assert all(cb.attempts == 1 for cb in await db.find_callbacks(store.CallbackFilter(account_id=b.id)))


async def test_accounts_on_one_host_share_its_connection_cap(db):
    a, b = await accounts(db)
    async with Receiver() as rec:
        rec.script("/hold", HANG)
        for i in range(3):
            await ingest(db, a, f"a{i}", models.EventKind.SUCCESS, rec.url("/hold?from=a"))
            await ingest(db, b, f"b{i}", models.EventKind.SUCCESS, rec.url("/hold?from=b"))
        async with running(db, config(per_endpoint=2), timeout_s=5.0):
            await rec.wait_hanging(2)
            # Two different accounts' endpoints, one host: two connections at most, whoever's callbacks they carry.
            await rec.wait(count=2)
            assert rec.hanging == 2 and rec.max_hanging == 2
            rec.release.set()

            async def delivered():
                return await all_in(db, "a", 3, S.SUCCEEDED) and await all_in(db, "b", 3, S.SUCCEEDED)

            await eventually(delivered)
    assert rec.max_hanging == 2
