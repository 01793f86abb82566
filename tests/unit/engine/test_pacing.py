"""The pacer: limits read through a short cache, tokens leased from the store's shared bucket a few at a time,
lapsing when unspent, and one wake-up per host when the store says the next token is due."""

from __future__ import annotations

import asyncio
import datetime as dt

from dlrhub.core import control, token_bucket
from dlrhub.workers import pacing

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Limits:
    """The store's limits and their buckets (`core.token_bucket` on a dict, as the store runs it on a row)."""

    def __init__(self, *found: control.EndpointLimit) -> None:
        self.found = list(found)
        self.reads = 0
        self.takes: list[tuple[str, int]] = []
        self.buckets: dict[str, tuple[float | None, float | None]] = {}

    async def list_endpoint_limits(self) -> list[control.EndpointLimit]:
        self.reads += 1
        return self.found

    async def take_endpoint_tokens(self, endpoint: str, want: int, now: float) -> token_bucket.Taken | None:
        self.takes.append((endpoint, want))
        lim = next((f for f in self.found if f.endpoint == endpoint), None)
        if lim is None:
            return None
        tokens, at = self.buckets.get(endpoint, (None, None))
        taken = token_bucket.take(tokens, at, lim.rate_per_s, lim.burst, want, now)
        self.buckets[endpoint] = (taken.tokens, taken.at)
        return taken


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def limit(endpoint: str, rate: float, burst: int = 1) -> control.EndpointLimit:
    return control.EndpointLimit(endpoint, rate, burst, "operator", NOW)


class Pumps:
    def __init__(self) -> None:
        self.pumped: list[str] = []
        self.done = asyncio.Event()

    def __call__(self, endpoint: str) -> None:
        self.pumped.append(endpoint)
        self.done.set()


async def test_limits_are_reread_after_max_age_and_tokens_are_leased_a_chunk_at_a_time() -> None:
    db, clock, pump = Limits(limit("http://h:80", 50.0, burst=20)), Clock(), Pumps()
    pacer = pacing.Pacer(db, max_age_s=2.0, clock=clock)  # type: ignore[arg-type]
    await pacer.refresh()
    assert pacer.allowance("http://h:80") == 0 and pacer.allowance("http://other:80") is None
    pacer.wake("http://h:80", pump, want=30)
    pacer.wake("http://h:80", pump, want=30)  # a lease on its way: not twice
    pacer.wake("http://other:80", pump)  # no limit: no lease
    await asyncio.wait_for(pump.done.wait(), 5.0)
    # A tenth of a second of the rate (5), never more than are waiting.
    assert db.takes == [("http://h:80", 5)] and pump.pumped == ["http://h:80"]
    assert pacer.allowance("http://h:80") == 5
    pacer.took("http://h:80", 2)
    assert pacer.allowance("http://h:80") == 3
    clock.t += pacing.LEASE_S  # unspent, the tokens lapse: no window gets them late
    assert pacer.allowance("http://h:80") == 0
    db.found = [limit("http://h:80", 2.0, burst=3)]
    clock.t += 1.0
    await pacer.refresh()
    assert db.reads == 1  # cached
    clock.t += 1.0
    await pacer.refresh()
    assert db.reads == 2
    pump.done.clear()
    pacer.wake("http://h:80", pump, want=2)
    await asyncio.wait_for(pump.done.wait(), 5.0)
    assert db.takes[-1] == ("http://h:80", 1)  # 2/s: one token a lease
    db.found = []
    clock.t += 2.5
    await pacer.refresh()
    assert pacer.allowance("http://h:80") is None


async def test_the_next_lease_is_taken_once_half_of_one_is_spent_and_each_lapses_on_its_own() -> None:
    db, clock, pump = Limits(limit("http://h:80", 50.0, burst=20)), Clock(), Pumps()
    pacer = pacing.Pacer(db, max_age_s=2.0, clock=clock)  # type: ignore[arg-type]
    await pacer.refresh()
    pacer.wake("http://h:80", pump, want=30)
    await asyncio.wait_for(pump.done.wait(), 5.0)
    pacer.took("http://h:80", 2, waiting=28)  # 3 of 5 left: more than half
    await asyncio.sleep(0)
    assert len(db.takes) == 1
    clock.t += 0.05
    pacer.took("http://h:80", 1, waiting=27)  # 2 left: the next lease, for the others waiting
    await asyncio.sleep(0.01)
    assert db.takes[-1] == ("http://h:80", 5) and pacer.allowance("http://h:80") == 2 + 5
    clock.t += 0.06  # the first lease lapses, the second does not yet
    assert pacer.allowance("http://h:80") == 5
    pacer.took("http://h:80", 1)
    assert pacer.allowance("http://h:80") == 4
    clock.t += 0.05
    assert pacer.allowance("http://h:80") == 0
    pacer.took("http://free:80", 3, waiting=10)  # no limit: nothing leased
    await asyncio.sleep(0.01)
    assert len(db.takes) == 2
    pacer.close()


async def test_out_of_tokens_the_lane_is_pumped_once_when_the_next_is_due() -> None:
    db, pump = Limits(limit("http://h:80", 50.0)), Pumps()
    pacer = pacing.Pacer(db, max_age_s=2.0)  # type: ignore[arg-type]
    await pacer.refresh()
    pacer.wake("http://h:80", pump)
    await asyncio.wait_for(pump.done.wait(), 5.0)
    pacer.took("http://h:80", 1)
    pump.done.clear()
    pacer.wake("http://h:80", pump)  # the bucket is empty: the store says when the next token is due
    await asyncio.sleep(0)
    pacer.wake("http://h:80", pump)
    await asyncio.wait_for(pump.done.wait(), 5.0)
    await asyncio.sleep(0.05)
    assert pump.pumped == ["http://h:80", "http://h:80"]
    assert pacer.allowance("http://h:80") == 0  # pumped: the lane leases again
    pacer.wake("http://h:80", pump)
    pacer.close()
    await asyncio.sleep(0.05)
    assert len(pump.pumped) == 2


async def test_a_failed_lease_sends_nothing_and_asks_again_later() -> None:
    db, pump = Limits(limit("http://h:80", 50.0)), Pumps()

    async def down(endpoint: str, want: int, now: float) -> token_bucket.Taken | None:
        raise ConnectionError

    db.take_endpoint_tokens = down  # type: ignore[method-assign]
    pacer = pacing.Pacer(db, max_age_s=2.0)  # type: ignore[arg-type]
    await pacer.refresh()
    pacer.wake("http://h:80", pump)
    await asyncio.sleep(0.01)
    assert pacer.allowance("http://h:80") == 0 and "http://h:80" in pacer._timers
    pacer.close()


async def test_limits_in_use_are_read_again_ahead_so_a_refresh_seldom_waits() -> None:
    db, clock = Limits(limit("http://h:80", 2.0)), Clock()
    pacer = pacing.Pacer(db, max_age_s=2.0, clock=clock)  # type: ignore[arg-type]
    await pacer.refresh()
    db.found = [limit("http://h:80", 2.0, burst=3)]
    clock.t += 1.5  # past half the age: read again in the background, the known limits used meanwhile
    await pacer.refresh()
    assert db.reads == 1 and pacer.limits["http://h:80"] == (2.0, 1)
    await asyncio.sleep(0)
    assert db.reads == 2 and pacer.limits["http://h:80"] == (2.0, 3)
    clock.t += 0.9  # the first read's age is up, but the one ahead is fresh: no read
    await pacer.refresh()
    await asyncio.sleep(0)
    assert db.reads == 2
