"""The wall clock, the one impure default that callers pass in where code needs the time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

#: What a clock is: a function that returns the current time, timezone-aware.
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The wall clock, in UTC: every process's default clock."""
    return dt.datetime.now(dt.UTC)
