"""A rate limit holds across dispatchers (ADR 0008): two dispatchers share one store and one limited receiver, each
leasing tokens from the bucket in the store. Time is a controlled clock, moved an eighth of a second at a time once
the dispatchers have done what they could: the requests counted in any eight steps (one second) stay within the
limit, though both dispatchers send, where two buckets of their own would send twice the rate."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import control, models, urls
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher, pacing
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import LOOPBACK, config, ingest
from tests.receivers import Receiver

RATE, BURST, STEP = 8.0, 1, 0.125


class Clock:
    """Seconds since the epoch, moved only by the test."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))  # and steps a power of two apart: whole tokens

    def __call__(self) -> float:
        return self.t


class Counting:
    """A sender that counts what its dispatcher sent."""

    def __init__(self, snd: sender.Sender) -> None:
        self.snd = snd
        self.config = snd.config
        self.sent = 0

    async def send(self, callback: models.Callback, secrets: tuple[str, ...] = ()) -> models.Attempt:
        self.sent += 1
        return await self.snd.send(callback, secrets)


@contextlib.asynccontextmanager
async def two_dispatchers(
    db_url: str, cfg: config_.DispatchConfig, clock: Clock
) -> AsyncIterator[list[Counting]]:
    """Two dispatchers, each with a store of its own on the one database, as two workers have."""
    stop = asyncio.Event()
    scfg = sender.SenderConfig(
        timeout_s=2.0, pool_size=cfg.concurrency, per_endpoint=cfg.per_endpoint, allow=LOOPBACK
    )
    stores = [store.from_url(db_url), store.from_url(db_url)]
    async with sender.Sender(scfg) as one, sender.Sender(scfg) as two:
        senders = [Counting(one), Counting(two)]
        ds = [
            dispatcher.Dispatcher(db, s, cfg, rand=lambda: 0.5, owner=f"d{i}")  # type: ignore[arg-type]
            for i, (db, s) in enumerate(zip(stores, senders, strict=True))
        ]
        for d in ds:
            d.pacer.clock = clock
        tasks = [asyncio.create_task(d.run(stop)) for d in ds]
        try:
            yield senders
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            for db in stores:
                await db.close()


async def settled(rec: Receiver) -> int:
    """The receiver's count once nothing has arrived for a while (the dispatchers did what this step allows)."""
    seen, quiet = len(rec.hits), 0
    while quiet < 8:
        await asyncio.sleep(0.025)
        quiet = quiet + 1 if len(rec.hits) == seen else 0
        seen = len(rec.hits)
    return seen


async def test_two_dispatchers_sharing_a_store_keep_one_limit(db, db_url):
    account = make_account()
    await db.create_account(account, [])
    clock = Clock()
    async with Receiver() as rec:
        limited = urls.endpoint_key(rec.url())
        await db.put_endpoint_limit(
            control.EndpointLimit(limited, RATE, BURST, "operator", dt.datetime.now(dt.UTC))
        )
        n = 30
        for i in range(n):
            await ingest(db, account, f"m{i}", models.EventKind.SUCCESS, rec.url("/dr"))
        # Each claims at most 4 of the host's callbacks: both hold some of the backlog.
        async with two_dispatchers(db_url, config(per_endpoint=2, batch_size=4), clock) as senders:
            counts = [await settled(rec)]
            while counts[-1] < n and len(counts) < 20 * n:
                clock.t += STEP
                counts.append(await settled(rec))
    assert counts[-1] == n and all(s.sent > 0 for s in senders)
    per_second = round(1 / STEP)
    most = max(counts[i + per_second] - counts[i] for i in range(len(counts) - per_second))
    # Tokens granted in one second, plus those leased just before it and spent in it.
    assert most <= BURST + RATE * (1 + pacing.LEASE_S)
    # A first burst, then the rate: the limit was reached (so the check above can fail).
    assert most >= RATE
