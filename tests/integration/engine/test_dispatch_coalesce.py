"""Answers that trickle in one by one are recorded, and their slots claimed for, in batches: counted per
transaction, on each backend."""

from __future__ import annotations

import asyncio
import contextlib
import typing
from collections.abc import AsyncIterator

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import models
from dlrhub.workers import dispatcher
from tests.conftest import make_account
from tests.integration.engine.test_dispatch_lanes import ONE, HoldingSender
from tests.integration.engine.test_dispatcher import S, config, eventually, ingest, states


class Transactions:
    """Wraps a store's claims and attempt records: the rows each transaction carried."""

    def __init__(self, db: store.Store) -> None:
        self.claims: list[int] = []
        self.records: list[int] = []
        claim, refill, record = db.claim_due_callbacks, db.claim_endpoint_callbacks, db.record_attempts

        def claiming(step: typing.Any) -> typing.Any:
            async def counted(*args: typing.Any, **kwargs: typing.Any) -> list[models.Callback]:
                found: list[models.Callback] = await step(*args, **kwargs)
                if found:
                    self.claims.append(len(found))
                return found

            return counted

        async def recording(results: list[store.AttemptResult], now: typing.Any) -> None:
            self.records.append(len(results))
            await record(results, now)

        db.claim_due_callbacks = claiming(claim)  # type: ignore[method-assign]
        db.claim_endpoint_callbacks = claiming(refill)  # type: ignore[method-assign]
        db.record_attempts = recording  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def running(db: store.Store, snd: HoldingSender, **changes: typing.Any) -> AsyncIterator[None]:
    stop = asyncio.Event()
    d = dispatcher.Dispatcher(db, typing.cast(sender.Sender, snd), config(**changes))
    task = asyncio.create_task(d.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def settle() -> None:
    """Let every task that can run do so (the answer's task, the flush, a claim)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def answered_one_by_one(db: store.Store, n: int, **changes: typing.Any) -> list[int]:
    """Send `n` callbacks, answer them one at a time, wait until all are recorded: the rows of each record."""
    account = make_account()
    await db.create_account(account, [])
    for i in range(n):
        await ingest(db, account, f"m{i}", models.EventKind.SUCCESS, ONE)
    tx = Transactions(db)
    snd = HoldingSender(hold=True)
    async with running(db, snd, per_endpoint=16, **changes):
        await eventually(lambda: _true(len(snd.held) == n))
        for _ in range(n):
            snd.answer_one()
            await settle()

        async def all_sent() -> bool:
            return all([await states(db, f"m{i}") == [S.SUCCEEDED] for i in range(n)])

        await eventually(all_sent)
    return tx.records


async def test_answers_that_trickle_in_are_recorded_in_one_transaction(db):
    # A window far longer than the test: only `flush_rows` waiting ends it.
    assert await answered_one_by_one(db, 10, flush_window_s=60.0, flush_rows=10) == [10]


async def test_a_few_answers_are_recorded_once_the_window_ends(db):
    assert await answered_one_by_one(db, 3, flush_window_s=0.2, flush_rows=100) == [3]


async def test_slots_that_free_one_by_one_are_claimed_for_together(db):
    account = make_account()
    await db.create_account(account, [])
    for i in range(60):
        await ingest(db, account, f"m{i}", models.EventKind.SUCCESS, ONE)
    tx = Transactions(db)
    snd = HoldingSender(hold=True)
    # A backlog of 32 (min_claim 4), every answer recorded at once, no claim timer within the test.
    async with running(
        db, snd, concurrency=16, per_endpoint=32, flush_window_s=0.0, flush_rows=1, claim_wait_s=60.0
    ):
        await eventually(lambda: _true(len(snd.held) == 32))
        for _ in range(60):
            await eventually(lambda: _true(bool(snd.held)))
            snd.answer_one()
            await settle()

        async def all_sent() -> bool:
            return all([await states(db, f"m{i}") == [S.SUCCEEDED] for i in range(60)])

        await eventually(all_sent)
    assert sum(tx.claims) == 60
    assert tx.claims[0] == 32
    assert min(tx.claims) >= 4, tx.claims


async def _true(value: bool) -> bool:
    return value
