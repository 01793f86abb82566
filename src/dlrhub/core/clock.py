"""The wall clock, the one impure default that callers pass in where code needs the time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

#: What a clock is: a function that returns the current time, timezone-aware.
Clock = Callable[[], dt.datetime]
#: The first and last times (UTC) that every zone dlrhub writes a time in can write: a day inside the years 1 to
#: 9999 at either end, for an account's UTC offset (-12:00 to +14:00, NXCloud's `sendTime`) and Vietnam time (eSMS).
EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """The wall clock, in UTC: every process's default clock."""
    return dt.datetime.now(dt.UTC)


def in_utc(value: dt.datetime) -> dt.datetime | None:
    """`value` in UTC (a naive one read as UTC), or None when that falls outside the years 1 to 9999
    (`0001-01-01T00:00+14:00`, `9999-12-31T23:59-14:00`): no store can take such a time, and the conversion itself
    raises."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return None


def writable(value: dt.datetime) -> dt.datetime | None:
    """A timezone-aware `value` in UTC when it lies from `EARLIEST` to `LATEST`, so that any zone can write it (a
    stored event time is written later in the account's zone); None otherwise."""
    utc = in_utc(value)
    return utc if utc is not None and EARLIEST <= utc <= LATEST else None
