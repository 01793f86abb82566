"""A fresh callback beside a backlog: the dispatcher reaches it in few steps of the event loop, and claims and
starts it before it refills the backlogged destination (each step costs a full turn of a loop busy sending the
backlog, so these are counted, not timed)."""

from __future__ import annotations

import asyncio
import datetime as dt
import typing
from collections.abc import Coroutine

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import models, urls
from dlrhub.workers import dispatcher
from tests.conftest import make_account
from tests.integration.engine.test_dispatch_lanes import HoldingSender
from tests.integration.engine.test_dispatcher import config, ingest

K = models.EventKind.SUCCESS
SMALL = "http://small.example/hook"
#: Steps of the loop from a write's wake-up to the claim that finds it (asyncio.wait over three tasks took 8, a task between the store and the loop 2).
WAKE_STEPS = 1
#: Times a claim of fresh callbacks waits for the loop, at most: on PostgreSQL one statement scans the accounts
#: (after the last claim's first and, wrapping, from the first: a statement each before) and one claims (the
#: connection is given back after: the pool's release, a turn of its own, was waited for); SQLite's runs inline.
CLAIM_WAITS = 2
T = typing.TypeVar("T")


def later() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


async def waits(coro: Coroutine[typing.Any, typing.Any, T]) -> tuple[T, int]:
    """Run `coro` as a task would, counting the times it waits for the loop (each a turn of a busy one)."""
    steps = coro.__await__()
    count = 0
    while True:
        try:
            future = steps.send(None)
        except StopIteration as done:
            return typing.cast(T, done.value), count
        count += 1
        if future is None:  # a bare yield (`asyncio.sleep(0)`)
            await asyncio.sleep(0)
        else:
            future._asyncio_future_blocking = False
            await asyncio.wait([future])


async def test_a_fresh_callback_is_claimed_and_started_before_a_backlog_is_refilled(db):
    big, small = make_account(), make_account()
    for account in (big, small):
        await db.create_account(account, [])
    for i in range(40):
        await ingest(db, big, f"big{i}", K, "http://big.example/hook")
    snd = HoldingSender(hold=True)
    d = dispatcher.Dispatcher(db, typing.cast(sender.Sender, snd), config(per_endpoint=4, batch_size=50))
    d.clock = later
    assert await d.tick() == 4  # the backlog's first quota: all four in flight, its queue dry
    big_endpoint = urls.check_url("http://big.example/hook").endpoint
    assert big_endpoint in d.lanes.backlogged
    await ingest(db, small, "fresh", K, SMALL)
    small_endpoint = urls.check_url(SMALL).endpoint
    calls: list[tuple[str, int]] = []
    claim, refill = db.claim_due_callbacks, db.claim_endpoint_callbacks

    async def claiming(*args: typing.Any, **kwargs: typing.Any) -> list[models.Callback]:
        calls.append(("claim", snd.in_flight[small_endpoint]))
        return typing.cast(list[models.Callback], await claim(*args, **kwargs))

    async def refilling(*args: typing.Any, **kwargs: typing.Any) -> list[models.Callback]:
        calls.append(("refill", snd.in_flight[small_endpoint]))
        return typing.cast(list[models.Callback], await refill(*args, **kwargs))

    typing.cast(typing.Any, db).claim_due_callbacks = claiming
    typing.cast(typing.Any, db).claim_endpoint_callbacks = refilling
    assert await d.tick() == 5
    # The fair claim first; the fresh callback's attempt has begun before the refill is even asked for.
    assert calls == [("claim", 0), ("refill", 1)]
    assert "fresh" in {cb.message_id for cb in d.holding.values()}


async def test_a_new_callback_reaches_an_idle_dispatchers_claim_in_few_steps_of_the_loop(sqlite_url):
    # SQLite: the wake-up is in-process, so the steps are the dispatcher's alone (NOTIFY crosses a socket).
    db = store.from_url(sqlite_url)
    account = make_account()
    await db.create_account(account, [])
    snd = HoldingSender(hold=True)
    d = dispatcher.Dispatcher(db, typing.cast(sender.Sender, snd), config(idle_s=3600))
    claims: list[int] = []
    claim = db.claim_due_callbacks

    async def claiming(*args: typing.Any, **kwargs: typing.Any) -> list[models.Callback]:
        claims.append(len(claims))
        return await claim(*args, **kwargs)

    typing.cast(typing.Any, db).claim_due_callbacks = claiming
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    try:
        for _ in range(100):  # its first claim finds nothing; then it waits
            await asyncio.sleep(0)
        before = len(claims)
        assert before >= 1
        await ingest(db, account, "fresh", K, SMALL)
        steps = 0
        while len(claims) == before and steps < 50:
            await asyncio.sleep(0)
            steps += 1
        assert len(claims) > before
        assert steps <= WAKE_STEPS
    finally:
        stop.set()
        await task
        await db.close()


async def test_a_claim_of_fresh_callbacks_waits_for_the_loop_only_for_its_statements(db):
    first, second = make_account(), make_account()
    for account in (first, second):
        await db.create_account(account, [])
    for n, account in enumerate((first, second)):
        await ingest(db, account, f"warm{n}", K, f"http://{n}.example/hook")
    for _ in range(2):  # warm: the connection, its prepared statements, and the turns past the first account
        assert await db.claim_due_callbacks("w1", later(), 1, 30)
    for n, account in enumerate((first, second)):
        await ingest(db, account, f"fresh{n}", K, f"http://{n}.example/hook")
    found, count = await waits(db.claim_due_callbacks("w1", later(), 10, 30))
    assert {cb.message_id for cb in found} == {"fresh0", "fresh1"}
    # Each wait is a turn of a loop busy sending a backlog: the fresh callbacks' claim makes no more than it must.
    assert count <= CLAIM_WAITS
    # A refill is one statement: one wait.
    refill = {urls.check_url("http://0.example/hook").endpoint: 5}
    assert await db.claim_endpoint_callbacks("w1", later(), refill, 30) == []  # warm: its prepared statement
    await ingest(db, first, "refill", K, "http://0.example/hook")
    found, count = await waits(db.claim_endpoint_callbacks("w1", later(), refill, 30))
    assert [cb.message_id for cb in found] == ["refill"]
    assert count <= CLAIM_WAITS - 1
