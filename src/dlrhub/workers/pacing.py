"""Rate limits on destinations' lanes: a token bucket per limited host, and a wake-up when its next token is due.

A lane starts its waiting callbacks only as its bucket allows (`allowance`); the ones it holds back stay in the
lane's FIFO, in claim order, holding no connection slot, and the lane is pumped again when a token is due
(`wake`: one timer per lane, no polling). The limits are re-read from the store at most every `max_age_s`, so an
operator's change reaches a running dispatcher within that (read again ahead, in the background, once past half
that age, so a claim seldom waits for the read). A held-back callback whose lease is running out is
given back by the gate when it is popped (`gate.open_lane`'s `fresh_s`), never sent late.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from dlrhub import store
from dlrhub.core import token_bucket
from dlrhub.workers import read_ahead

log = logging.getLogger("dlrhub.dispatch")


class Pacer:
    """The limits one dispatcher applies, with their buckets and pending wake-ups."""

    def __init__(
        self, db: store.EndpointLimits, max_age_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = db
        self.max_age_s = max_age_s
        self.clock = clock
        self.limits: dict[str, tuple[float, int]] = {}
        self.buckets: dict[str, token_bucket.TokenBucket] = {}
        self._read_at: float | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
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
        self.limits = {lim.endpoint: (lim.rate_per_s, lim.burst) for lim in found}
        for endpoint, bucket in list(self.buckets.items()):
            if self.limits.get(endpoint) != (bucket.rate, bucket.burst):
                del self.buckets[endpoint]  # removed or changed: a new bucket (full) if still limited

    def _bucket(self, endpoint: str) -> token_bucket.TokenBucket | None:
        limit = self.limits.get(endpoint)
        if limit is None:
            return None
        bucket = self.buckets.get(endpoint)
        if bucket is None:
            bucket = self.buckets[endpoint] = token_bucket.TokenBucket(limit[0], limit[1], self.clock())
        return bucket

    def allowance(self, endpoint: str) -> int | None:
        """How many callbacks of `endpoint` may start now (None: no limit)."""
        bucket = self._bucket(endpoint)
        return None if bucket is None else bucket.available(self.clock())

    def took(self, endpoint: str, n: int) -> None:
        """`n` callbacks of `endpoint` started."""
        bucket = self._bucket(endpoint)
        if bucket is not None and n:
            bucket.take(self.clock(), n)

    def wake(self, endpoint: str, pump: Callable[[str], object]) -> None:
        """Call `pump(endpoint)` when `endpoint`'s next token is due (once, however often asked meanwhile)."""
        bucket = self._bucket(endpoint)
        if bucket is None or endpoint in self._timers:
            return
        delay = max(bucket.wait(self.clock()), 0.001)

        def fire() -> None:
            self._timers.pop(endpoint, None)
            pump(endpoint)

        self._timers[endpoint] = asyncio.get_running_loop().call_later(delay, fire)

    def close(self) -> None:
        """Cancel every pending wake-up and read (shutting down)."""
        self._ahead.close()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
