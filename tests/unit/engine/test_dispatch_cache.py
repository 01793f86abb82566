"""The dispatcher's caches: an entry in use is read again ahead of its age, in the background, so a claim seldom
waits for a read; nothing older than its age is used."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from dlrhub.core import breaker, models
from dlrhub.workers import dispatch_cache
from dlrhub.workers import dispatch_config as config_

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
KEY = "acc_1 http://h:80/hook"


class Store:
    """Endpoints and accounts whose reads are counted, and held until `open` is set."""

    def __init__(self) -> None:
        self.reads = 0
        self.open = asyncio.Event()
        self.open.set()

    async def get_endpoints(self, keys: list[str]) -> dict[str, models.Endpoint]:
        self.reads += 1
        await self.open.wait()
        return {k: breaker.fresh(k, NOW) for k in keys}


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr("dlrhub.workers.dispatch_cache.time.monotonic", found)
    return found


async def settled(task: asyncio.Task[object]) -> bool:
    for _ in range(10):
        await asyncio.sleep(0)
    return task.done()


async def test_health_in_use_is_read_ahead_and_a_claim_does_not_wait_for_it(clock: Clock) -> None:
    db = Store()
    cache = dispatch_cache.DispatchCache(db, config_.DispatchConfig(endpoint_cache_s=2.0))  # type: ignore[arg-type]
    await cache.health({KEY}, NOW, ())
    assert db.reads == 1
    clock.t += 1.5  # past half its age: read again in the background, the known health used meanwhile
    db.open.clear()
    claim = asyncio.create_task(cache.health({KEY}, NOW, ()))
    assert await settled(claim) and db.reads == 2  # the read is held, the claim is not
    db.open.set()
    await asyncio.sleep(0)
    clock.t += 1.0  # the first read's age is up, the one ahead's is not: no read
    await cache.health({KEY}, NOW, ())
    assert db.reads == 2
    cache.close()


async def test_health_past_its_age_is_read_before_it_is_used(clock: Clock) -> None:
    db = Store()
    cache = dispatch_cache.DispatchCache(db, config_.DispatchConfig(endpoint_cache_s=2.0))  # type: ignore[arg-type]
    await cache.health({KEY}, NOW, ())
    clock.t += 2.5  # never read ahead (not in use): the claim waits for the read, as promised
    db.open.clear()
    claim = asyncio.create_task(cache.health({KEY}, NOW, ()))
    assert not await settled(claim) and db.reads == 2
    db.open.set()
    await claim
    cache.close()
