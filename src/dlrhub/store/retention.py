"""The store's retention interface: deleting old finished rows, one small chunk per call."""

from __future__ import annotations

import abc
import datetime as dt
import typing

#: Rows deleted by one chunk, by table; the pruned table comes first, then the rows that went with them.
Pruned = dict[str, int]


class Retention(typing.Protocol):
    """Deleting what retention no longer keeps, oldest first, at most `limit` rows of the pruned table per call.

    Each call is one short transaction (a chunk). A call that deletes fewer than `limit` rows of its table found no
    more to delete: the caller repeats until then. Nothing pending or in flight is ever deleted: a pending
    callback, a message queued for or being sent to Zalo, a message with any callback left, an issued journey.
    """

    @abc.abstractmethod
    async def prune_callbacks(self, before: dt.datetime, limit: int) -> Pruned:
        """Finished callbacks (succeeded, failed, cancelled) created and last changed before `before`, with their
        attempts: `{"callbacks": n, "attempts": m}`."""

    @abc.abstractmethod
    async def prune_attempts(self, before: dt.datetime, limit: int) -> Pruned:
        """Attempts started before `before` (their callback keeps its count of attempts): `{"attempts": n}`. Where
        the backend partitions attempts by day (PostgreSQL), those in a day's partition go with their partition
        (`drop_partitions`) instead, and this deletes only those in the partitions kept for other times."""

    @abc.abstractmethod
    async def prepare_partitions(self, now: dt.datetime) -> None:
        """Where the backend partitions tables by time (PostgreSQL: attempts, events), create the partitions of the days
        from `now`'s to a week ahead that do not exist yet. Nothing where it does not (SQLite)."""

    @abc.abstractmethod
    async def drop_partitions(self, table: str, before: dt.datetime) -> Pruned:
        """Where the backend partitions `table` by time, drop every partition all of whose rows are older than
        `before`, counting their rows: `{table: n}`. `{}` where it does not. A partition of events goes a day
        later (the margin for clocks), and its rows whose message or journey is still kept are kept (moved out of
        it first, not counted)."""

    @abc.abstractmethod
    async def prune_messages(self, before: dt.datetime, limit: int) -> Pruned:
        """Messages created and last changed before `before` with no callback left and not queued or being sent
        to Zalo, with their events: `{"messages": n, "events": m}`. Where the backend partitions events by day
        (PostgreSQL), those in a day's partition go with their day (`drop_partitions`) instead."""

    @abc.abstractmethod
    async def prune_journeys(self, before: dt.datetime, limit: int) -> Pruned:
        """Journeys created before `before`, no longer `issued`, with no message left and no pending callback,
        with their events: `{"journeys": n, "events": m}` (events in a day's partition: as `prune_messages`)."""

    @abc.abstractmethod
    async def prune_events(self, before: dt.datetime, limit: int) -> Pruned:
        """Events that belong to nothing kept, recorded before `before`: no message (a message's events go with
        it) and no journey stored (a time-out whose journey was pruned, an event stored with no owner at all):
        `{"events": n}`. Where the backend partitions events by day (PostgreSQL), those in a day's partition go
        with their day (`drop_partitions`) instead, and this deletes only those in the default partition."""

    @abc.abstractmethod
    async def prune_request_ids(self, before: dt.datetime, limit: int) -> Pruned:
        """RequestIds first used before `before` (the dedup window is behind them): `{"request_ids": n}`."""

    @abc.abstractmethod
    async def prune_orphans(self, before: dt.datetime, limit: int) -> Pruned:
        """Orphan Zalo receipts received before `before`, matched or not: `{"orphan_receipts": n}`."""

    @abc.abstractmethod
    async def prune_audit(self, before: dt.datetime, limit: int) -> Pruned:
        """Audit entries written before `before`: `{"audit_log": n}`."""
