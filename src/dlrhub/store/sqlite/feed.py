"""The reconciliation reads on SQLite: the one writer commits in position order, so the feed reads by position."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import orjson

from dlrhub.core import models
from dlrhub.store import feed, rows
from dlrhub.store.sqlite import core

#: Served by `events_feed` (account_id, pos) WHERE applied = 1.
FEED = "SELECT * FROM events WHERE account_id = ? AND applied = 1 AND pos > ? ORDER BY pos LIMIT ?"
#: Served by `callbacks_undelivered` (account_id, created_at, id) WHERE state <> 'succeeded'.
UNDELIVERED = """
SELECT c.*,
       (SELECT a.error FROM attempts a WHERE a.callback_id = c.id ORDER BY a.number DESC LIMIT 1) AS last_error,
       (SELECT substr(a.response, 1, 200) FROM attempts a WHERE a.callback_id = c.id
         ORDER BY a.number DESC LIMIT 1) AS last_response
FROM callbacks c
WHERE c.account_id = :account_id AND c.state <> 'succeeded'
  AND (c.state <> 'pending' OR c.created_at < :pending_before)
  AND (c.created_at, c.id) > (:after_at, :after_id)
ORDER BY c.created_at, c.id
LIMIT :limit
"""
#: The stored creation time of the previous page's last callback (exact: no rounding through a cursor).
ANCHOR = "SELECT created_at FROM callbacks WHERE id = ?"
#: Served by `messages_account_created`.
RECENT_MESSAGES = "SELECT * FROM messages WHERE account_id = ? ORDER BY created_at DESC LIMIT ?"
#: Served by `callbacks_message`.
MESSAGE_ENDPOINTS = "SELECT DISTINCT endpoint FROM callbacks WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY endpoint"


def last_error(row: Any) -> str:
    """What went wrong last: the attempt's error, else the start of the answer it got."""
    return str(row["last_error"] or row["last_response"] or "")


class SqliteFeed(core.SqliteCore):
    """The account's event feed, its undelivered callbacks, its recent messages and their destinations."""

    async def feed_events(
        self, account_id: str, after: feed.FeedPosition, limit: int
    ) -> list[feed.FeedEvent]:
        if after.xact > 0:  # no SQLite position is past a PostgreSQL transaction's
            return []

        def run(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(FEED, (account_id, after.pos, limit)).fetchall()

        return [
            feed.FeedEvent(
                feed.FeedPosition(r["xact"], r["pos"]),
                rows.from_row(models.StatusEvent, r),
                dt.datetime.fromtimestamp(r["recorded_at"], dt.UTC),
            )
            for r in await self._read(run)
        ]

    async def undelivered_callbacks(
        self,
        account_id: str,
        pending_before: dt.datetime,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[feed.Undelivered]:
        params: dict[str, Any] = {
            "account_id": account_id,
            "pending_before": pending_before.timestamp(),
            "after_at": after[0].timestamp() if after else float("-inf"),
            "after_id": after[1] if after else "",
            "limit": limit,
        }

        def run(conn: sqlite3.Connection) -> list[Any]:
            if params["after_id"]:
                anchor = conn.execute(ANCHOR, (params["after_id"],)).fetchone()
                params["after_at"] = anchor[0] if anchor is not None else params["after_at"]
            return conn.execute(UNDELIVERED, params).fetchall()

        found = await self._read(run)
        return [feed.Undelivered(rows.from_row(models.Callback, r), last_error(r)) for r in found]

    async def recent_messages(self, account_id: str, limit: int) -> list[models.Message]:
        found = await self._read(lambda conn: conn.execute(RECENT_MESSAGES, (account_id, limit)).fetchall())
        return [rows.from_row(models.Message, r) for r in found]

    async def message_endpoints(self, message_ids: list[str]) -> list[str]:
        if not message_ids:
            return []
        ids = orjson.dumps(message_ids).decode()
        found = await self._read(lambda conn: conn.execute(MESSAGE_ENDPOINTS, (ids,)).fetchall())
        return [r["endpoint"] for r in found]
