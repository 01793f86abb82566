"""Zalo's quota day: an OA's daily ZNS quota counts by the day in Vietnam time (pure)."""

from __future__ import annotations

import datetime as dt

#: Vietnam time: Zalo's quota day.
VN = dt.timezone(dt.timedelta(hours=7))


def quota_day(now: dt.datetime) -> tuple[str, dt.datetime]:
    """The Vietnam day `now` falls in (`YYYY-MM-DD`, the day an OA's daily quota counts), and when the next one
    starts (UTC)."""
    local = now.astimezone(VN)
    start = dt.datetime.combine(local.date(), dt.time(), VN)
    return local.date().isoformat(), (start + dt.timedelta(days=1)).astimezone(dt.UTC)
