"""Retention on SQLite: chunked deletes of old finished rows, each chunk one short write on the event loop."""

from __future__ import annotations

import datetime as dt
import sqlite3

from dlrhub.store import retention
from dlrhub.store.sqlite import core

#: Each SELECT walks an index oldest first and takes only rows that may go, so rows kept (a pending callback) never
#: fill a chunk; `LIMIT` keeps the transaction short.
SELECT_CALLBACKS = (
    "SELECT id FROM callbacks WHERE created_at < :before AND state IN ('succeeded', 'failed', 'cancelled')"
    " AND updated_at < :before ORDER BY created_at LIMIT :limit"
)
DELETE_CALLBACK_ATTEMPTS = "DELETE FROM attempts WHERE callback_id = ?"
DELETE_CALLBACK = "DELETE FROM callbacks WHERE id = ?"
DELETE_ATTEMPTS = (
    "DELETE FROM attempts WHERE id IN"
    " (SELECT id FROM attempts WHERE started_at < :before ORDER BY started_at LIMIT :limit)"
)
SELECT_MESSAGES = (
    "SELECT id FROM messages AS m WHERE created_at < :before AND updated_at < :before"
    " AND channel_state NOT IN ('queued', 'sending')"
    " AND NOT EXISTS (SELECT 1 FROM callbacks AS c WHERE c.message_id = m.id) ORDER BY created_at LIMIT :limit"
)
DELETE_MESSAGE_EVENTS = "DELETE FROM events WHERE message_id = ?"
DELETE_MESSAGE = "DELETE FROM messages WHERE id = ?"
SELECT_JOURNEYS = (
    "SELECT journey_id FROM journeys AS j WHERE created_at < :before AND state != 'issued'"
    " AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.journey_id = j.journey_id)"
    " AND NOT EXISTS (SELECT 1 FROM callbacks AS c WHERE c.order_key = 'journey:' || j.journey_id"
    " AND c.state = 'pending') ORDER BY created_at LIMIT :limit"
)
DELETE_JOURNEY_EVENTS = "DELETE FROM events WHERE journey_id = ?"
DELETE_JOURNEY = "DELETE FROM journeys WHERE journey_id = ?"
#: An event that belongs to nothing kept: no message (its message's events go with it) and no journey stored (a
#: time-out whose journey is gone, an event stored with no owner at all). It goes by age, walking
#: `events_ownerless` (recorded_at) WHERE message_id IS NULL oldest first; rows of a journey kept are walked over.
DELETE_OWNERLESS_EVENTS = (
    "DELETE FROM events WHERE pos IN (SELECT pos FROM events AS e WHERE message_id IS NULL"
    " AND recorded_at < :before AND NOT EXISTS (SELECT 1 FROM journeys AS j WHERE j.journey_id = e.journey_id)"
    " ORDER BY recorded_at LIMIT :limit)"
)
DELETE_REQUEST_IDS = (
    "DELETE FROM request_ids WHERE rowid IN"
    " (SELECT rowid FROM request_ids WHERE created_at < :before ORDER BY created_at LIMIT :limit)"
)
DELETE_ORPHANS = (
    "DELETE FROM orphan_receipts WHERE rowid IN"
    " (SELECT rowid FROM orphan_receipts WHERE received_at < :before ORDER BY received_at LIMIT :limit)"
)
DELETE_AUDIT = (
    "DELETE FROM audit_log WHERE rowid IN"
    " (SELECT rowid FROM audit_log WHERE at < :before ORDER BY at LIMIT :limit)"
)


def _with_dependents(
    conn: sqlite3.Connection,
    select: str,
    params: dict[str, float],
    steps: tuple[tuple[str, str], ...],
) -> retention.Pruned:
    """Delete the rows `select` names, running each `(table, sql)` of `steps` for each id, in order."""
    ids = [(row[0],) for row in conn.execute(select, params)]
    return {table: conn.executemany(sql, ids).rowcount if ids else 0 for table, sql in steps}


class SqliteRetention(core.SqliteCore):
    """Retention's deletes, one chunk per call."""

    async def prepare_partitions(self, now: dt.datetime) -> None:
        """SQLite has no partitions."""

    async def drop_partitions(self, table: str, before: dt.datetime) -> retention.Pruned:
        return {}

    async def _prune_one(self, table: str, sql: str, before: dt.datetime, limit: int) -> retention.Pruned:
        params = {"before": before.timestamp(), "limit": limit}
        return {table: await self._tx(lambda conn: conn.execute(sql, params).rowcount)}

    async def _prune_with(
        self, select: str, steps: tuple[tuple[str, str], ...], before: dt.datetime, limit: int
    ) -> retention.Pruned:
        params = {"before": before.timestamp(), "limit": limit}
        counts = await self._tx(lambda conn: _with_dependents(conn, select, params, steps))
        # The pruned table first (steps delete the dependents first, so the parent's rows never dangle).
        table = steps[-1][0]
        return {table: counts[table], **{t: n for t, n in counts.items() if t != table}}

    async def prune_callbacks(self, before: dt.datetime, limit: int) -> retention.Pruned:
        steps = (("attempts", DELETE_CALLBACK_ATTEMPTS), ("callbacks", DELETE_CALLBACK))
        return await self._prune_with(SELECT_CALLBACKS, steps, before, limit)

    async def prune_attempts(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("attempts", DELETE_ATTEMPTS, before, limit)

    async def prune_messages(self, before: dt.datetime, limit: int) -> retention.Pruned:
        steps = (("events", DELETE_MESSAGE_EVENTS), ("messages", DELETE_MESSAGE))
        return await self._prune_with(SELECT_MESSAGES, steps, before, limit)

    async def prune_journeys(self, before: dt.datetime, limit: int) -> retention.Pruned:
        steps = (("events", DELETE_JOURNEY_EVENTS), ("journeys", DELETE_JOURNEY))
        return await self._prune_with(SELECT_JOURNEYS, steps, before, limit)

    async def prune_events(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("events", DELETE_OWNERLESS_EVENTS, before, limit)

    async def prune_request_ids(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("request_ids", DELETE_REQUEST_IDS, before, limit)

    async def prune_orphans(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("orphan_receipts", DELETE_ORPHANS, before, limit)

    async def prune_audit(self, before: dt.datetime, limit: int) -> retention.Pruned:
        return await self._prune_one("audit_log", DELETE_AUDIT, before, limit)
