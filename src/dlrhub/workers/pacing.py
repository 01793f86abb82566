"""Rate limits on destinations' lanes: tokens leased from a bucket in the store that every dispatcher shares, and a
wake-up when more are due (ADR 0008).

A lane starts its waiting callbacks only as the tokens this dispatcher holds for its host allow (`allowance`);
the ones it holds back stay in the lane's FIFO, in claim order, holding no connection slot. Out of tokens, the
lane asks for more (`wake`): one write to the store takes up to `LEASE_S` worth of the rate (no more than are
waiting) from the host's shared bucket, and the lane is pumped again at once, or when the store says the next
token is due (one timer per lane, no polling). Once half of a lease is spent, the next is taken meanwhile.
Leased tokens not spent within `LEASE_S` lapse, so no 1 s window gets more than `burst + rate * (1 + LEASE_S)`
starts, however many dispatchers share the store, and a dispatcher that dies holds nothing back. A host with no
limit costs one dict lookup.

The limits are re-read from the store at most every `max_age_s`, so an operator's change reaches a running
dispatcher within that (read again ahead, in the background, once past half that age, so a claim seldom waits for
the read); the bucket's row applies a changed rate or burst at the next lease. A held-back callback whose lease is
running out is given back by the gate when it is popped (`gate.open_lane`'s `fresh_s`), never sent late.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from dlrhub import store
from dlrhub.workers import read_ahead

log = logging.getLogger("dlrhub.dispatch")

#: How long leased tokens last, and so how much of the rate one lease takes: the margin over the limit in any
#: window, and about ten leases a second per busy limited host and dispatcher.
LEASE_S = 0.1
#: How long to wait before asking again after a lease failed (the store is down: nothing is sent there anyway).
RETRY_S = 0.5


class Pacer:
    """The limits one dispatcher applies, the tokens it leased, and its pending leases and wake-ups.

    `clock` is seconds since the epoch: the store's buckets are shared by every dispatcher, so it must be a clock
    they share (within the NTP margin: a clock ahead by d gives the bucket at most d seconds of tokens once)."""

    def __init__(
        self, db: store.EndpointLimits, max_age_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = db
        self.max_age_s = max_age_s
        self.clock = clock
        self.limits: dict[str, tuple[float, int]] = {}
        #: Tokens leased and not spent, by limited host: `[tokens, when they lapse]` a lease, oldest first.
        self.leased: dict[str, list[list[float]]] = {}
        #: The tokens the last lease of each host granted (the next is leased at half of it).
        self._granted: dict[str, int] = {}
        self._pump: Callable[[str], object] | None = None
        #: Whether each host's bucket kept more than a lease's worth after the last one.
        self._ample: dict[str, bool] = {}
        self._read_at: float | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._leasing: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self._ahead = read_ahead.ReadsAhead()

    async def refresh(self) -> None:
        """Re-read the limits once older than `max_age_s` (a failed read keeps the ones known); in the background
        once older than half of it."""
        now = self.clock()
        if self._read_at is not None and now - self._read_at < self.max_age_s:
            if now - self._read_at >= self.max_age_s / 2:
                self._ahead.start("limits", lambda: self._read(now))
            return
        await self._read(now)

    async def _read(self, now: float) -> None:
        self._read_at = now
        try:
            found = await self.store.list_endpoint_limits()
        except Exception as exc:
            log.warning(
                "dispatch: reading endpoint limits failed (%s); keeping the known ones", type(exc).__name__
            )
            return
        limits = {lim.endpoint: (lim.rate_per_s, lim.burst) for lim in found}
        for endpoint in [e for e in self.leased if limits.get(e) != self.limits.get(e)]:
            del self.leased[endpoint]  # removed or changed: lease again from the row as it is now
        self.limits = limits

    def _lots(self, endpoint: str) -> list[list[float]]:
        """`endpoint`'s leased tokens still to spend, oldest first: the lapsed and the spent ones dropped."""
        lots = self.leased.get(endpoint, [])
        now = self.clock()
        while lots and (lots[0][1] <= now or lots[0][0] <= 0):
            lots.pop(0)  # lapsed: its tokens go unspent rather than late
        return lots

    def allowance(self, endpoint: str) -> int | None:
        """How many callbacks of `endpoint` may start now (None: no limit)."""
        if endpoint not in self.limits:
            return None
        return int(sum(lot[0] for lot in self._lots(endpoint)))

    def took(self, endpoint: str, n: int, waiting: int = 0) -> None:
        """`n` callbacks of `endpoint` started and `waiting` wait: once the tokens in hand are down to half the
        last lease, the next is leased while they are spent, so the lane does not stop for the store."""
        if endpoint not in self.leased:
            return  # no limit, or nothing leased yet: nothing to spend (a host without a limit stops here)
        lots = self._lots(endpoint)
        while lots and n:
            spent = min(n, int(lots[0][0]))
            lots[0][0] -= spent
            n -= spent
            if lots[0][0] <= 0:
                lots.pop(0)
        have = sum(lot[0] for lot in lots)
        if 0 < have < waiting and have <= self._granted.get(endpoint, 0) / 2 and self._pump is not None:
            self.wake(endpoint, self._pump, int(waiting - have))

    def wake(self, endpoint: str, pump: Callable[[str], object], want: int = 1) -> None:
        """Lease tokens for `want` waiting callbacks of `endpoint`, then call `pump(endpoint)`: at once if the
        store granted some, else when its next token is due (once, however often asked meanwhile)."""
        self._pump = pump
        busy = endpoint in self._timers or endpoint in self._leasing
        if endpoint not in self.limits or busy or self._closed:
            return
        self._leasing[endpoint] = asyncio.create_task(self._lease(endpoint, want, pump))

    async def _lease(self, endpoint: str, want: int, pump: Callable[[str], object]) -> None:
        rate, burst = self.limits[endpoint]
        chunk = max(1, min(burst, math.ceil(rate * LEASE_S)))
        now = self.clock()
        try:
            # A whole chunk while the bucket had more than that to spare (the limit is not binding: the lane need
            # not stop for the store every few callbacks); else no more than are waiting (the others' share).
            ask = chunk if self._ample.get(endpoint) else max(1, min(want, chunk))
            taken = await self.store.take_endpoint_tokens(endpoint, ask, now)
        except Exception as exc:
            log.warning("dispatch: leasing rate tokens failed (%s); asking again", type(exc).__name__)
            if not self._closed:
                self._later(endpoint, RETRY_S, pump)
            return
        finally:
            self._leasing.pop(endpoint, None)
        if self._closed:
            return
        if taken is None:  # the limit was removed: unlimited until the limits are read again
            self.limits.pop(endpoint, None)
            pump(endpoint)
            return
        self._ample[endpoint] = taken.tokens >= chunk
        if not taken.granted:
            # Ask again once all it asked for is due, not each token: a limit that binds costs each dispatcher
            # about one or two leases a chunk (the lane starts them together, within the burst).
            self._later(endpoint, taken.wait_s + (ask - 1) / rate, pump)
            return
        self.leased.setdefault(endpoint, []).append([float(taken.granted), now + LEASE_S])
        self._granted[endpoint] = taken.granted
        pump(endpoint)

    def _later(self, endpoint: str, delay: float, pump: Callable[[str], object]) -> None:
        def fire() -> None:
            self._timers.pop(endpoint, None)
            pump(endpoint)

        self._timers[endpoint] = asyncio.get_running_loop().call_later(max(delay, 0.001), fire)

    def close(self) -> None:
        """Cancel every pending wake-up and read, and pump nothing more (shutting down)."""
        self._ahead.close()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._closed = True  # a lease on its way finishes (cancelled, it could leave a connection half used)
