"""The store's reconciliation reads: an account's status-event feed in commit-safe order, its callbacks not
delivered, and its recent messages with the destinations their callbacks go to.

Why the feed is ordered by `(xact, pos)` and what makes it complete under concurrent writers:
docs/adr/0007-reconciliation-feed-cursor.md.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import typing

from dlrhub.core import models


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class FeedPosition:
    """Where an event stands in its account's feed: the writing transaction's id (PostgreSQL; always 0 on
    SQLite, whose one writer commits in position order), then its position. Positions only grow."""

    xact: int
    pos: int


#: Before every event: a feed read from here starts at the beginning.
FEED_START = FeedPosition(0, 0)


@dataclasses.dataclass(frozen=True, slots=True)
class FeedEvent:
    """One applied status event of the feed, with its place in it and when the store recorded it."""

    position: FeedPosition
    event: models.StatusEvent
    recorded_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Undelivered:
    """A callback not delivered, with the error (or the start of the answer) of its last attempt."""

    callback: models.Callback
    last_error: str


class Feed(typing.Protocol):
    """What the reconciliation API and the customer portal read for one account."""

    @abc.abstractmethod
    async def feed_events(self, account_id: str, after: FeedPosition, limit: int) -> list[FeedEvent]:
        """At most `limit` applied events of `account_id` after `after`, in feed order.

        Only events whose transaction can no longer be joined by one sorting before them are returned, so a
        reader that goes on from the last one it got never misses or repeats an event.
        """

    @abc.abstractmethod
    async def undelivered_callbacks(
        self,
        account_id: str,
        pending_before: dt.datetime,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[Undelivered]:
        """At most `limit` callbacks of `account_id` that failed or were cancelled, or are still pending and
        were created before `pending_before`, oldest first (by creation time, then id) after `after`.

        `after` is the last callback of the previous page (its creation time, then its id): the stored time of
        that callback is used when it still exists, so a time's rounding cannot skip or repeat a callback."""

    @abc.abstractmethod
    async def recent_messages(self, account_id: str, limit: int) -> list[models.Message]:
        """The last `limit` messages of `account_id`, newest first."""

    @abc.abstractmethod
    async def message_endpoints(self, message_ids: list[str]) -> list[str]:
        """The distinct destinations (`urls.endpoint_key`) of the callbacks of `message_ids`, sorted."""
