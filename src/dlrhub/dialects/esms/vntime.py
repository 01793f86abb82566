"""Vietnam time (UTC+07:00), in which every eSMS time is written."""

from __future__ import annotations

import datetime as dt

#: eSMS writes every time in Vietnam time, which has no daylight saving.
VN = dt.timezone(dt.timedelta(hours=7), "ICT")


def to_vn(moment: dt.datetime) -> dt.datetime:
    """`moment` (aware; a naive one is taken as UTC) in Vietnam time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN)


def epoch_ms(moment: dt.datetime) -> int:
    """Milliseconds since the epoch (a naive `moment` is taken as UTC), as Zalo writes times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)
