"""A token bucket: at most `burst` at once, refilled at `rate` tokens a second. Pure: the caller passes the time.

Pacing one process's starts needs no shared counter and no library call per start (`adapters/ratelimit.py`'s
fixed windows would allow twice the rate across a window's edge), so this small one is enough.
"""

from __future__ import annotations


class TokenBucket:
    """Tokens refill continuously at `rate` a second up to `burst`; it starts full at `now`."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = now

    def _fill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now

    def available(self, now: float) -> int:
        """Whole tokens that may be taken at `now`."""
        self._fill(now)
        return int(self._tokens + 1e-9)

    def take(self, now: float, n: int = 1) -> None:
        """Take `n` tokens (the caller checked `available`)."""
        self._fill(now)
        self._tokens -= n

    def wait(self, now: float) -> float:
        """Seconds from `now` until a whole token is available (0 when one is)."""
        self._fill(now)
        missing = 1.0 - self._tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate
