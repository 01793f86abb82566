"""The pool's cap is kept in the lanes: no more attempts start than the pool has slots, the others wait in their
destinations' lanes (counted with a stand-in sender that has no cap of its own), on each backend."""

from __future__ import annotations

import asyncio

from dlrhub.core import models, urls
from tests.conftest import make_account
from tests.integration.engine.test_dispatch_lanes import HoldingSender, running
from tests.integration.engine.test_dispatcher import S, eventually, ingest, states

URLS = ("http://a.example/hook", "http://b.example/hook", "http://c.example/hook")


async def test_no_more_attempts_start_than_the_pool_has_slots_and_a_freed_slot_starts_one(db):
    account = make_account()
    await db.create_account(account, [])
    for n, url in enumerate(URLS):
        for i in range(4):
            await ingest(db, account, f"m{n}-{i}", models.EventKind.SUCCESS, url)
    endpoints = [urls.check_url(u).endpoint for u in URLS]
    snd = HoldingSender(hold=True)
    async with running(db, snd, per_endpoint=4, concurrency=3) as d:

        async def filled() -> bool:
            return len(d.holding) == 6 and len(snd.held) >= 3

        await eventually(filled)
        # The pool's three in flight, each on its own task; the rest of the backlog (twice the pool) waits in
        # the lanes, not in tasks parked on the sender's slots.
        assert sum(snd.in_flight.values()) == 3 and len(d._tasks) == 3
        assert sum(d.lanes.waiting(e) for e in endpoints) == 3
        for _ in range(12):

            async def one_held() -> bool:
                return len(snd.held) > 0

            await eventually(one_held)
            snd.answer_one()
            await asyncio.sleep(0)
            assert sum(snd.in_flight.values()) <= 3

        async def all_done() -> bool:
            return all([await states(db, f"m{n}-{i}") == [S.SUCCEEDED] for n in range(3) for i in range(4)])

        await eventually(all_done)
    assert snd.peak_total == 3 and len(snd.started) == 12
