"""The per-destination cap limits concurrency, not throughput: counted in flight per destination, on each backend."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import typing
from collections.abc import AsyncIterator

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import models, urls
from dlrhub.workers import dispatcher
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import S, config, eventually, ingest, states

ONE = "http://one.example/hook"
BAD = "http://bad.example/hook"
GOOD = "http://good.example/hook"


class HoldingSender:
    """A stand-in sender that counts requests in flight per destination and holds them until told (or forever)."""

    def __init__(self, *, hold: bool = False, hang: tuple[str, ...] = ()) -> None:
        self.config = sender.SenderConfig(timeout_s=0.5)
        self.hold = hold
        self.hang = {urls.check_url(u).endpoint for u in hang}
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.peak: collections.Counter[str] = collections.Counter()
        self.held: collections.deque[asyncio.Future[None]] = collections.deque()

    async def send(self, cb: models.Callback, secrets: object = (), url: str | None = None) -> models.Attempt:
        endpoint = cb.endpoint
        self.in_flight[endpoint] += 1
        self.peak[endpoint] = max(self.peak[endpoint], self.in_flight[endpoint])
        try:
            if self.hold or endpoint in self.hang:
                answer = asyncio.get_running_loop().create_future()
                if endpoint not in self.hang:
                    self.held.append(answer)
                await answer
            else:
                await asyncio.sleep(0)
        finally:
            self.in_flight[endpoint] -= 1
        return models.Attempt(
            callback_id=cb.id,
            number=cb.attempts + 1,
            started_at=dt.datetime.now(dt.UTC),
            duration_ms=1.0,
            outcome=models.AttemptOutcome.OK,
            status_code=200,
        )

    def answer_one(self) -> None:
        self.held.popleft().set_result(None)


class Counting:
    """Wraps a store's claims (both kinds) and give-backs: how often each callback was claimed, which were given
    back."""

    def __init__(self, db: store.Store) -> None:
        self.claims: collections.Counter[str] = collections.Counter()
        self.given_back: list[str] = []
        #: Cleared to hold claims back (they wait until it is set again).
        self.open = asyncio.Event()
        self.open.set()
        claim, refill, release = db.claim_due_callbacks, db.claim_endpoint_callbacks, db.release_callbacks

        def counted(step: typing.Any) -> typing.Any:
            async def claiming(*args: typing.Any, **kwargs: typing.Any) -> list[models.Callback]:
                await self.open.wait()
                found: list[models.Callback] = await step(*args, **kwargs)
                self.claims.update(c.id for c in found)
                return found

            return claiming

        async def releasing(owner: str, due: list[tuple[str, dt.datetime]], now: dt.datetime) -> None:
            self.given_back.extend(cid for cid, _ in due)
            await release(owner, due, now)

        db.claim_due_callbacks = counted(claim)  # type: ignore[method-assign]
        db.claim_endpoint_callbacks = counted(refill)  # type: ignore[method-assign]
        db.release_callbacks = releasing  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def running(
    db: store.Store, snd: HoldingSender, per_endpoint: int
) -> AsyncIterator[dispatcher.Dispatcher]:
    stop = asyncio.Event()
    d = dispatcher.Dispatcher(
        db, typing.cast(sender.Sender, snd), config(per_endpoint=per_endpoint, concurrency=32, batch_size=50)
    )
    task = asyncio.create_task(d.run(stop))
    try:
        yield d
    finally:
        stop.set()
        await task


async def test_one_destination_keeps_its_slots_full_from_its_queue_and_nothing_is_claimed_twice(db):
    account = make_account()
    await db.create_account(account, [])
    for i in range(40):
        await ingest(db, account, f"m{i}", models.EventKind.SUCCESS, ONE)
    endpoint = urls.check_url(ONE).endpoint
    counting = Counting(db)
    snd = HoldingSender(hold=True)
    async with running(db, snd, per_endpoint=4) as d:
        # Filled: its cap in flight, as many waiting for a slot, and no more claimed.
        async def filled() -> bool:
            return snd.in_flight[endpoint] == 4 and d.lanes.waiting(endpoint) == 4

        await eventually(filled)
        assert len(counting.claims) == 8
        # With claims held back, every answer still starts the next waiting callback: the slots stay full.
        counting.open.clear()
        for left in (3, 2, 1, 0):
            snd.answer_one()

            async def refilled(left: int = left) -> bool:
                return snd.in_flight[endpoint] == 4 and d.lanes.waiting(endpoint) == left

            await eventually(refilled)
        assert len(counting.claims) == 8
        counting.open.set()
        snd.hold = False
        while snd.held:
            snd.answer_one()

        async def all_sent() -> bool:
            return all([await states(db, f"m{i}") == [S.SUCCEEDED] for i in range(40)])

        await eventually(all_sent)
    assert snd.peak[endpoint] == 4
    # Each callback claimed once, never given back for want of a slot.
    assert len(counting.claims) == 40
    assert set(counting.claims.values()) == {1}
    assert counting.given_back == []


async def test_a_hanging_neighbour_holds_only_its_own_slots(db):
    account = make_account()
    await db.create_account(account, [])
    # The hanging destination's backlog is due first.
    for i in range(30):
        await ingest(db, account, f"bad{i}", models.EventKind.SUCCESS, BAD)
    for i in range(30):
        await ingest(db, account, f"good{i}", models.EventKind.SUCCESS, GOOD)
    bad, good = urls.check_url(BAD).endpoint, urls.check_url(GOOD).endpoint
    counting = Counting(db)
    snd = HoldingSender(hang=(BAD,))
    async with running(db, snd, per_endpoint=4) as d:

        async def all_good() -> bool:
            return all([await states(db, f"good{i}") == [S.SUCCEEDED] for i in range(30)])

        await eventually(all_good)
        # The hanging one holds its cap in flight and at most as many waiting; nothing of it finished.
        assert snd.in_flight[bad] == 4
        assert d.lanes.held(bad) <= 8
        assert all([await states(db, f"bad{i}") == [S.PENDING] for i in range(30)])
    assert snd.peak[bad] == 4
    assert snd.peak[good] <= 4
    bad_ids = {c.id for i in range(30) for c in await db.list_callbacks(f"bad{i}")}
    good_ids = {c.id for i in range(30) for c in await db.list_callbacks(f"good{i}")}
    assert len(bad_ids & set(counting.claims)) <= 8
    assert all(counting.claims[cid] == 1 for cid in good_ids)
    # Only on shutdown are the unsent ones given back.
    assert set(counting.given_back) <= bad_ids
