"""A rate-limited destination is paced by a real dispatcher (issue 15): a real receiver records when each callback
arrives, and no one-second window holds more than the limit allows (rate + burst); another host is not slowed.
A limit changed while the dispatcher runs is applied within its cache age."""

from __future__ import annotations

import asyncio
import datetime as dt

from dlrhub import store
from dlrhub.core import control, models, urls
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running, states
from tests.receivers import Hit, Receiver

S = models.CallbackState
NOW = dt.datetime.now(dt.UTC)


def most_in_one_second(hits: list[Hit]) -> int:
    times = sorted(h.arrived for h in hits)
    return max(sum(1 for t in times if first <= t < first + 1.0) for first in times)


async def delivered(db: store.Store, prefix: str, n: int) -> bool:
    return all([await states(db, f"{prefix}{i}") == [S.SUCCEEDED] for i in range(n)])


async def test_a_limited_host_is_paced_and_another_host_is_not_slowed(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as slow, Receiver() as fast:
        limited = urls.endpoint_key(slow.url())
        await db.put_endpoint_limit(control.EndpointLimit(limited, 5.0, 1, "operator", NOW))
        n = 16
        for i in range(n):
            await ingest(db, account, f"slow{i}", models.EventKind.SUCCESS, slow.url("/dr"))
            await ingest(db, account, f"fast{i}", models.EventKind.SUCCESS, fast.url("/dr"))
        async with running(db, config(per_endpoint=8)):
            await fast.wait(count=n)
            # The other host got all of its callbacks while the limited one is still being paced.
            assert len(slow.hits) < n
            await eventually(lambda: delivered(db, "slow", n))
            await eventually(lambda: delivered(db, "fast", n))
    assert len(slow.hits) == n and len(fast.hits) == n
    assert most_in_one_second(slow.hits) <= 5 + 1
    # Unlimited, the other host took more than the limit in one second (so the check above can fail).
    assert most_in_one_second(fast.hits) > 5 + 1


async def test_a_limit_set_while_running_reaches_the_dispatcher(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec:
        async with running(db, config(endpoint_cache_s=0.2)):
            await ingest(db, account, "before", models.EventKind.SUCCESS, rec.url("/dr"))
            await rec.wait(count=1)
            limit = control.EndpointLimit(urls.endpoint_key(rec.url()), 2.0, 1, "operator", NOW)
            await db.put_endpoint_limit(limit)
            await asyncio.sleep(0.3)  # past the cache age: the next claim reads the limits again
            for i in range(6):
                await ingest(db, account, f"m{i}", models.EventKind.SUCCESS, rec.url("/dr"))
            await eventually(lambda: delivered(db, "m", 6))
    paced = rec.hits[1:]
    assert len(paced) == 6 and most_in_one_second(paced) <= 2 + 1
