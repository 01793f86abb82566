"""Retention on PostgreSQL: chunked deletes of old finished rows, each chunk one short transaction.

`FOR UPDATE SKIP LOCKED` lets the pruners of several workers run at once without waiting on each other, and
leaves alone a message an event is changing now (`apply_event` holds it `FOR UPDATE`).
"""

from __future__ import annotations

import datetime as dt
import logging

import asyncpg

from dlrhub.store import retention
from dlrhub.store.postgres import core, partitions

log = logging.getLogger("dlrhub.prune")

#: Each SELECT walks an index oldest first and takes only rows that may go, so rows kept (a pending callback) never
#: fill a chunk; `LIMIT` keeps the transaction short.
SELECT_CALLBACKS = (
    "SELECT id FROM callbacks WHERE created_at < $1 AND state IN ('succeeded', 'failed', 'cancelled')"
    " AND updated_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
#: A chunk's attempts, sought only in the days they can be in (made after their callback, recorded before its last
#: change, give or take `partitions.CLOCK_MARGIN` of the hosts' clocks): by `callback_id` alone PostgreSQL probed
#: every day's partition, 682 ms a chunk of 200 with 110 of them (23 ms bounded). An attempt outside the bounds
#: goes with its day's partition.
DELETE_CALLBACK_ATTEMPTS = (
    "DELETE FROM attempts WHERE callback_id = ANY($1::text[])"
    " AND started_at >= (SELECT min(created_at) FROM callbacks WHERE id = ANY($1::text[])) - interval '1 day'"
    " AND started_at < (SELECT max(updated_at) FROM callbacks WHERE id = ANY($1::text[])) + interval '1 day'"
)
DELETE_CALLBACKS = "DELETE FROM callbacks WHERE id = ANY($1::text[])"
#: Attempts go with their day's partition (`partitions.drop_past`); rows are deleted one by one only in the two
#: partitions that cover other times: `attempts_legacy` (the rows from before migration 0025) and the default.
DELETE_LEGACY_ATTEMPTS = (
    "DELETE FROM attempts_legacy WHERE id = ANY(ARRAY("
    "SELECT id FROM attempts_legacy WHERE started_at < $1 ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED))"
)
DELETE_DEFAULT_ATTEMPTS = (
    "DELETE FROM attempts_default WHERE id = ANY(ARRAY("
    "SELECT id FROM attempts_default WHERE started_at < $1 ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED))"
)
#: The chunked partitions of attempts, and the statement of each.
ATTEMPTS_CHUNKED = {"attempts_legacy": DELETE_LEGACY_ATTEMPTS, "attempts_default": DELETE_DEFAULT_ATTEMPTS}
SELECT_MESSAGES = (
    "SELECT id FROM messages AS m WHERE created_at < $1 AND updated_at < $1"
    " AND channel_state NOT IN ('queued', 'sending')"
    " AND NOT EXISTS (SELECT 1 FROM callbacks AS c WHERE c.message_id = m.id)"
    " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
#: A message's or journey's events go with it only from the two partitions of events not dropped by day
#: (`partitions.drop_past`): `events_legacy` (the rows from before migration 0029) and the default. In a day's
#: partition they stay until the day is dropped.
DELETE_LEGACY_MESSAGE_EVENTS = "DELETE FROM events_legacy WHERE message_id = ANY($1::text[])"
DELETE_DEFAULT_MESSAGE_EVENTS = "DELETE FROM events_default WHERE message_id = ANY($1::text[])"
MESSAGE_EVENTS_CHUNKED = {
    "events_legacy": DELETE_LEGACY_MESSAGE_EVENTS,
    "events_default": DELETE_DEFAULT_MESSAGE_EVENTS,
}
DELETE_MESSAGES = "DELETE FROM messages WHERE id = ANY($1::text[])"
SELECT_JOURNEYS = (
    "SELECT journey_id FROM journeys AS j WHERE created_at < $1 AND state != 'issued'"
    " AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.journey_id = j.journey_id)"
    " AND NOT EXISTS (SELECT 1 FROM callbacks AS c WHERE c.order_key = 'journey:' || j.journey_id"
    " AND c.state = 'pending') ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
DELETE_LEGACY_JOURNEY_EVENTS = "DELETE FROM events_legacy WHERE journey_id = ANY($1::text[])"
DELETE_DEFAULT_JOURNEY_EVENTS = "DELETE FROM events_default WHERE journey_id = ANY($1::text[])"
JOURNEY_EVENTS_CHUNKED = {
    "events_legacy": DELETE_LEGACY_JOURNEY_EVENTS,
    "events_default": DELETE_DEFAULT_JOURNEY_EVENTS,
}
DELETE_JOURNEYS = "DELETE FROM journeys WHERE journey_id = ANY($1::text[])"
#: An event that belongs to nothing kept: no message (its message's events go with it, from any partition) and no
#: journey stored (a time-out whose journey is gone, an event stored with no owner at all). In a day's partition it
#: goes with its day; in the default, nothing else takes it: it goes by age, at the cutoff its day would have gone
#: at, walking `events_ownerless` (recorded_at) WHERE message_id IS NULL oldest first. Rows of a journey kept are
#: walked over, not deleted: few, as journeys are.
DELETE_OWNERLESS_EVENTS = (
    "DELETE FROM events_default WHERE (id, recorded_at) IN (SELECT id, recorded_at FROM events_default AS e"
    " WHERE message_id IS NULL AND recorded_at < $1"
    " AND NOT EXISTS (SELECT 1 FROM journeys AS j WHERE j.journey_id = e.journey_id)"
    " ORDER BY recorded_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
)
DELETE_REQUEST_IDS = (
    "DELETE FROM request_ids WHERE (account_id, request_id) IN (SELECT account_id, request_id FROM request_ids"
    " WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
)
DELETE_ORPHANS = (
    "DELETE FROM orphan_receipts WHERE (oa_id, msg_id) IN (SELECT oa_id, msg_id FROM orphan_receipts"
    " WHERE received_at < $1 ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
)
DELETE_AUDIT = (
    "DELETE FROM audit_log WHERE id = ANY(ARRAY("
    "SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))"
)


async def _events_steps(conn: asyncpg.Connection, chunked: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The statements of `chunked` (partition -> its delete) of the partitions of events there are."""
    present = {p.name for p in await partitions.partitions(conn, "events")}
    return tuple(("events", sql) for part, sql in chunked.items() if part in present)


class PostgresRetention(core.PostgresCore):
    """Retention's deletes, one chunk per call."""

    async def _prune_one(self, table: str, sql: str, before: dt.datetime, limit: int) -> retention.Pruned:
        pool = await self.pool()
        return {table: core.affected(await pool.execute(sql, before, limit))}

    async def _prune_with(
        self,
        select: str,
        steps: tuple[tuple[str, str], ...],
        before: dt.datetime,
        limit: int,
        events_of: dict[str, str] | None = None,
    ) -> retention.Pruned:
        """Delete the rows `select` names, running each `(table, sql)` of `steps` on their ids, in order (the
        dependents first); the pruned table (the last step's) comes first in the result. With `events_of` (a
        statement by partition of events not dropped by day), their events go first, from those there are."""
        pool = await self.pool()
        counts = dict.fromkeys((table for table, _ in reversed(steps)), 0)
        async with pool.acquire() as conn, conn.transaction():
            if events_of is not None:
                counts["events"] = 0
                await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", partitions.OWNERS_LOCK_KEY)
                steps = (*(await _events_steps(conn, events_of)), *steps)
            ids = [row[0] for row in await conn.fetch(select, before, limit)]
            if ids:
                for table, sql in steps:
                    counts[table] += core.affected(await conn.execute(sql, ids))
        return counts

    async def prune_callbacks(self, before: dt.datetime, limit: int) -> retention.Pruned:
        steps = (("attempts", DELETE_CALLBACK_ATTEMPTS), ("callbacks", DELETE_CALLBACKS))
        return await self._prune_with(SELECT_CALLBACKS, steps, before, limit)

    async def prune_attempts(self, before: dt.datetime, limit: int) -> retention.Pruned:
        pool = await self.pool()
        async with pool.acquire() as conn:
            present = {p.name for p in await partitions.partitions(conn, "attempts")}
            deleted = 0
            for name, sql in ATTEMPTS_CHUNKED.items():
                if name in present and deleted < limit:
                    deleted += core.affected(await conn.execute(sql, before, limit - deleted))
        return {"attempts": deleted}

    async def prepare_partitions(self, now: dt.datetime) -> None:
        pool = await self.pool()
        async with pool.acquire() as conn:
            for table in partitions.PARTITIONED:
                try:
                    created = await partitions.create_ahead(conn, table, now)
                except asyncpg.LockNotAvailableError:
                    log.warning("prune: %s is busy; its partitions ahead wait for the next round", table)
                    continue
                if created:
                    log.info("prune: created partitions %s", " ".join(created))

    async def drop_partitions(self, table: str, before: dt.datetime) -> retention.Pruned:
        if table not in partitions.PARTITIONED:
            return {}
        pool = await self.pool()
        async with pool.acquire() as conn:
            dropped = await partitions.drop_past(conn, table, before)
        if dropped:
            log.info(
                "prune: dropped partitions %s", " ".join(f"{n} ({rows} rows)" for n, rows in dropped.items())
            )
        return {table: sum(dropped.values())}

    async def prune_messages(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_with(
            SELECT_MESSAGES, (("messages", DELETE_MESSAGES),), before, limit, events_of=MESSAGE_EVENTS_CHUNKED
        )

    async def prune_journeys(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_with(
            SELECT_JOURNEYS, (("journeys", DELETE_JOURNEYS),), before, limit, events_of=JOURNEY_EVENTS_CHUNKED
        )

    async def prune_events(self, before: dt.datetime, limit: int) -> retention.Pruned:
        pool = await self.pool()
        async with pool.acquire() as conn:
            if not any(p.default for p in await partitions.partitions(conn, "events")):
                return {"events": 0}
            return {"events": core.affected(await conn.execute(DELETE_OWNERLESS_EVENTS, before, limit))}

    async def prune_request_ids(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("request_ids", DELETE_REQUEST_IDS, before, limit)

    async def prune_orphans(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("orphan_receipts", DELETE_ORPHANS, before, limit)

    async def prune_audit(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("audit_log", DELETE_AUDIT, before, limit)
