"""The sender's concurrency caps: the pool's (`Slots`) and each destination's (`EndpointLimiter`)."""

from __future__ import annotations

import asyncio
import collections

from dlrhub.core import errors

#: Destinations' caps kept when idle, before idle ones are dropped.
IDLE_LIMITERS = 4096


class EndpointLimiter:
    """A cap on requests in flight per destination; idle caps are forgotten so the table stays bounded."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise errors.ConfigError("per-endpoint concurrency must be at least 1")
        self.limit = limit
        self._sems: dict[str, Slots] = {}
        self._busy: collections.Counter[str] = collections.Counter()

    def in_flight(self, endpoint: str) -> int:
        """Requests holding or waiting for the cap of `endpoint`."""
        return self._busy[endpoint]

    def take(self, endpoint: str) -> bool:
        """Take one of `endpoint`'s slots now if one is free (pair with `release`); False: `acquire` instead."""
        sem = self._sems.get(endpoint) or self._new(endpoint)
        if not sem.take():
            return False
        self._busy[endpoint] += 1
        return True

    async def acquire(self, endpoint: str) -> None:
        """Wait for one of `endpoint`'s slots; pair with `release`."""
        sem = self._sems.get(endpoint) or self._new(endpoint)
        self._busy[endpoint] += 1
        try:
            await sem.acquire()
        except BaseException:
            self._done(endpoint)
            raise

    def _new(self, endpoint: str) -> Slots:
        if len(self._sems) >= IDLE_LIMITERS:
            self._forget_idle()
        sem = self._sems[endpoint] = Slots(self.limit)
        return sem

    def release(self, endpoint: str) -> None:
        """Give back a slot taken by `acquire`."""
        self._sems[endpoint].release()
        self._done(endpoint)

    def _done(self, endpoint: str) -> None:
        left = self._busy[endpoint] - 1
        if left <= 0:
            del self._busy[endpoint]
        else:
            self._busy[endpoint] = left

    def _forget_idle(self) -> None:
        for key in [k for k in self._sems if k not in self._busy]:
            del self._sems[key]


class Slots:
    """A cap (the pool's, a destination's): `limit` held at once, the others waiting in FIFO order.

    asyncio.Semaphore (Python 3.11) walks all its waiters on an acquire made while any wait (a full pool of a busy
    fleet has hundreds waiting), and builds a generator to do so on every acquire even when none waits; `take`
    lets a caller skip the coroutine when a slot is free.
    """

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def take(self) -> bool:
        """Take a slot now if one is free and none waits; False: `acquire` instead. Pair with `release`."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a slot; pair with `release`."""
        if self.take():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            else:
                waiter.cancel()  # skipped by `release`
            raise

    def release(self) -> None:
        """Give a slot back: to the first waiter still waiting, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
