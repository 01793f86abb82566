"""The wall clock, the one impure default that callers pass in where code needs the time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

#: What a clock is: a function that returns the current time, timezone-aware.
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The wall clock, in UTC: every process's default clock."""
    return dt.datetime.now(dt.UTC)


def in_utc(value: dt.datetime) -> dt.datetime | None:
    """A timezone-aware `value` in UTC, or None when that falls outside the years 1 to 9999 (`0001-01-01T00:00+14:00`,
    `9999-12-31T23:59-14:00`): no store can take such a time, and the conversion itself raises."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return None
