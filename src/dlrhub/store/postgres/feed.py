"""The reconciliation reads on PostgreSQL: the feed reads in (xact, pos) order, only below the visibility horizon.

A position comes from a sequence before its transaction commits, so a later position can commit first. The feed
returns only rows whose writing transaction is older than the oldest one still running
(`pg_snapshot_xmin(pg_current_snapshot())`, taken from the statement's own snapshot): such a transaction has
ended, every row it wrote is visible to the statement, and any transaction that writes later gets a larger id,
so no row can appear before the last one returned. See docs/adr/0007-reconciliation-feed-cursor.md.
"""

from __future__ import annotations

import datetime as dt

from dlrhub.core import models
from dlrhub.store import feed, rows
from dlrhub.store.postgres import core

#: Served by `events_feed` (account_id, xact, pos) WHERE applied.
FEED = """
SELECT *, xact::text AS xact_text FROM events
WHERE account_id = $1 AND applied
  AND (xact, pos) > ($2::text::xid8, $3::bigint)
  AND xact < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY xact, pos
LIMIT $4
"""
#: Served by `callbacks_undelivered` (account_id, created_at, id) WHERE state <> 'succeeded'.
UNDELIVERED = """
SELECT c.*, a.error AS last_error, left(a.response, 200) AS last_response
FROM callbacks c
LEFT JOIN LATERAL (
    SELECT error, response FROM attempts
    WHERE callback_id = c.id AND started_at >= c.created_at - interval '1 day'  -- the partitions since (ATTEMPTS_OF)
    ORDER BY number DESC LIMIT 1
) a ON true
WHERE c.account_id = $1 AND c.state <> 'succeeded'
  AND (c.state <> 'pending' OR c.created_at < $2)
  AND (c.created_at, c.id) > ($3::timestamptz, $4::text)
ORDER BY c.created_at, c.id
LIMIT $5
"""
#: The stored creation time of the previous page's last callback (exact: no rounding through a cursor).
ANCHOR = "SELECT created_at FROM callbacks WHERE id = $1"
#: Served by `messages_account_created`.
RECENT_MESSAGES = "SELECT * FROM messages WHERE account_id = $1 ORDER BY created_at DESC LIMIT $2"
#: Served by `callbacks_message`.
MESSAGE_ENDPOINTS = (
    "SELECT DISTINCT endpoint FROM callbacks WHERE message_id = ANY($1::text[]) ORDER BY endpoint"
)
#: Before any callback's creation time, for a first page.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class PostgresFeed(core.PostgresCore):
    """The account's event feed, its undelivered callbacks, its recent messages and their destinations."""

    async def feed_events(
        self, account_id: str, after: feed.FeedPosition, limit: int
    ) -> list[feed.FeedEvent]:
        pool = await self.pool()
        found = await pool.fetch(FEED, account_id, str(after.xact), after.pos, limit)
        return [
            feed.FeedEvent(
                feed.FeedPosition(int(r["xact_text"]), r["pos"]),
                rows.from_row(models.StatusEvent, r),
                r["recorded_at"],
            )
            for r in found
        ]

    async def undelivered_callbacks(
        self,
        account_id: str,
        pending_before: dt.datetime,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[feed.Undelivered]:
        pool = await self.pool()
        after_at, after_id = after if after else (_EPOCH, "")
        if after_id:
            after_at = await pool.fetchval(ANCHOR, after_id) or after_at
        found = await pool.fetch(UNDELIVERED, account_id, pending_before, after_at, after_id, limit)
        return [
            feed.Undelivered(
                rows.from_row(models.Callback, r), str(r["last_error"] or r["last_response"] or "")
            )
            for r in found
        ]

    async def recent_messages(self, account_id: str, limit: int) -> list[models.Message]:
        pool = await self.pool()
        found = await pool.fetch(RECENT_MESSAGES, account_id, limit)
        return [rows.from_row(models.Message, r) for r in found]

    async def message_endpoints(self, message_ids: list[str]) -> list[str]:
        if not message_ids:
            return []
        pool = await self.pool()
        found = await pool.fetch(MESSAGE_ENDPOINTS, message_ids)
        return [r["endpoint"] for r in found]
