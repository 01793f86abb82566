"""The store's reads of recent activity, for the dashboard's overview: counts per minute and by result over a
time range, each an indexed range scan grouped in SQL (its cost follows the range's traffic, not the tables' size).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import typing

from dlrhub.core import models

#: Most result groups `zalo_results` returns (the busiest first).
MAX_RESULT_GROUPS = 50


@dataclasses.dataclass(frozen=True, slots=True)
class ZaloResult:
    """How many Zalo-channel messages stand in `state` with `code` (and, for a failed send, Zalo's `error`)."""

    state: models.MessageState
    #: The code of the message's latest event: 0 sent, 17003 delivered, 17004 Zalo refused, 17005 no answer,
    #: 9000/9005 dlrhub refused it; None while it waits for its send.
    code: int | None
    #: Zalo's own `error` for a refused send (from the stored `zaloRes`), else None.
    zalo_error: int | None
    count: int


class Activity(typing.Protocol):
    """Counts of what happened in a time range `[since, until)`, for the overview page."""

    @abc.abstractmethod
    async def accepted_per_minute(self, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        """Messages created in the range, by the UTC minute they were created in (minutes with none absent):
        the `messages_created_id` index alone."""

    @abc.abstractmethod
    async def delivered_per_minute(self, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        """Attempts answered 2xx (`ok`) that started in the range, by minute: each is a callback delivered. The
        `attempts_started_outcome` index alone."""

    @abc.abstractmethod
    async def finished_badly(self, since: dt.datetime, until: dt.datetime) -> dict[models.CallbackState, int]:
        """Callbacks that gave up (`failed`) or were `cancelled` in the range (by their last change), both keys
        always present: the partial index `callbacks_finished_badly`."""

    @abc.abstractmethod
    async def zalo_results(self, since: dt.datetime, until: dt.datetime) -> list[ZaloResult]:
        """Messages sent through the Zalo channel and created in the range, grouped by state, code and Zalo's
        error; the largest groups first, at most MAX_RESULT_GROUPS. The partial index `messages_channel_created`."""

    @abc.abstractmethod
    async def quota_used(self, day: str) -> dict[str, int]:
        """Units of daily quota each OA has spent on Zalo's `day` (`YYYY-MM-DD`, Vietnam time), by OA id; OAs
        that spent none absent."""


def minutes(since: dt.datetime, until: dt.datetime) -> tuple[dt.datetime, int]:
    """The first UTC minute of `[since, until)` and how many minutes the range touches (0 for an empty range)."""
    start = since.astimezone(dt.UTC).replace(second=0, microsecond=0)
    if until <= since:
        return start, 0
    return start, -int((start - until).total_seconds() // 60)


def per_minute(start: dt.datetime, counts: list[tuple[int, int]]) -> dict[dt.datetime, int]:
    """`(minute number from start, count)` rows as the minutes with a count."""
    return {start + dt.timedelta(minutes=i): n for i, n in counts if n}
