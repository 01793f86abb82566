"""The pacer: limits read through a short cache, a bucket per limited host, one wake-up timer per host."""

from __future__ import annotations

import asyncio
import datetime as dt

from dlrhub.core import control
from dlrhub.workers import pacing

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Limits:
    def __init__(self, *found: control.EndpointLimit) -> None:
        self.found = list(found)
        self.reads = 0

    async def list_endpoint_limits(self) -> list[control.EndpointLimit]:
        self.reads += 1
        return self.found


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def limit(endpoint: str, rate: float, burst: int = 1) -> control.EndpointLimit:
    return control.EndpointLimit(endpoint, rate, burst, "operator", NOW)


async def test_limits_are_reread_after_max_age_and_a_changed_limit_gets_a_new_bucket() -> None:
    db, clock = Limits(limit("http://h:80", 2.0)), Clock()
    pacer = pacing.Pacer(db, max_age_s=2.0, clock=clock)  # type: ignore[arg-type]
    await pacer.refresh()
    assert pacer.allowance("http://h:80") == 1 and pacer.allowance("http://other:80") is None
    pacer.took("http://h:80", 1)
    assert pacer.allowance("http://h:80") == 0
    db.found = [limit("http://h:80", 2.0, burst=3)]
    clock.t = 1.0
    await pacer.refresh()
    assert db.reads == 1 and pacer.allowance("http://h:80") == 1  # cached: still burst 1
    clock.t = 2.5
    await pacer.refresh()
    assert db.reads == 2 and pacer.allowance("http://h:80") == 3
    db.found = []
    clock.t = 5.0
    await pacer.refresh()
    assert pacer.allowance("http://h:80") is None


async def test_wake_pumps_once_when_the_next_token_is_due() -> None:
    db = Limits(limit("http://h:80", 50.0))
    pacer = pacing.Pacer(db, max_age_s=2.0)  # type: ignore[arg-type]
    await pacer.refresh()
    pacer.took("http://h:80", 1)
    pumped: list[str] = []
    done = asyncio.Event()

    def pump(endpoint: str) -> None:
        pumped.append(endpoint)
        done.set()

    pacer.wake("http://h:80", pump)
    pacer.wake("http://h:80", pump)  # already set: not twice
    pacer.wake("http://free:80", pump)  # no limit: no timer
    await asyncio.wait_for(done.wait(), 5.0)
    await asyncio.sleep(0.05)
    assert pumped == ["http://h:80"]
    pacer.took("http://h:80", 1)
    pacer.wake("http://h:80", pump)
    pacer.close()
    await asyncio.sleep(0.05)
    assert pumped == ["http://h:80"]


async def test_limits_in_use_are_read_again_ahead_so_a_refresh_seldom_waits() -> None:
    db, clock = Limits(limit("http://h:80", 2.0)), Clock()
    pacer = pacing.Pacer(db, max_age_s=2.0, clock=clock)  # type: ignore[arg-type]
    await pacer.refresh()
    db.found = [limit("http://h:80", 2.0, burst=3)]
    clock.t = 1.5  # past half the age: read again in the background, the known limits used meanwhile
    await pacer.refresh()
    assert db.reads == 1 and pacer.allowance("http://h:80") == 1
    await asyncio.sleep(0)
    assert db.reads == 2 and pacer.allowance("http://h:80") == 3
    clock.t = 2.4  # the first read's age is up, but the one ahead is fresh: no read
    await pacer.refresh()
    await asyncio.sleep(0)
    assert db.reads == 2
