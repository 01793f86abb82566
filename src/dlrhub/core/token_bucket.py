"""A token bucket: at most `burst` at once, refilled at `rate` tokens a second. Pure: the caller passes the time
and the bucket's state, so the store can keep the state in a row every dispatcher shares (ADR 0008).

The SQLite store runs `take` inside its write transaction; PostgreSQL's `take_endpoint_tokens` is the same
arithmetic in one `UPDATE ... RETURNING` (the unit tests pin both to these rules).
"""

from __future__ import annotations

import dataclasses
import math

#: Slack for float sums: 0.1 * 10 is a whole token, and so are times since the epoch a tenth of a second apart.
EPSILON = 1e-6


@dataclasses.dataclass(frozen=True, slots=True)
class Taken:
    """The result of one `take`: the tokens granted, the bucket's new state, and when its next token is due."""

    granted: int
    tokens: float
    at: float
    #: Seconds from `at` until a whole token is in the bucket (0 when one is).
    wait_s: float


def take(tokens: float | None, at: float | None, rate: float, burst: int, want: int, now: float) -> Taken:
    """Take up to `want` whole tokens at `now` from a bucket that held `tokens` at `at` (None: never used, full).

    It refills at `rate` a second up to `burst`. A clock behind `at` (another process's, a little ahead) refills
    nothing and leaves `at` where it is, so the bucket never grants more than time has really given it."""
    if rate <= 0 or burst < 1:
        raise ValueError("a bucket needs a positive rate and a burst of at least 1")
    have = float(burst) if tokens is None else tokens
    since = now if at is None else at
    if now > since:
        have += (now - since) * rate
        since = now
    have = min(have, float(burst))
    granted = max(0, min(want, math.floor(have + EPSILON)))
    left = have - granted
    return Taken(granted, left, since, wait_s(left, rate))


def wait_s(tokens: float, rate: float) -> float:
    """Seconds until a bucket holding `tokens` has a whole one, at `rate` a second (0 when it has)."""
    missing = 1.0 - tokens
    return 0.0 if missing <= EPSILON else missing / rate
