"""The Zalo channel worker's queue on SQLite: claiming sends under the OA's daily quota, stale sends, orphans."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator

import orjson

from dlrhub.core import models
from dlrhub.store import queues, rows
from dlrhub.store.sqlite import core

#: `channel_state IN ('queued', 'sending')` repeats the partial index's own condition: SQLite uses a partial
#: index only for a query that states it, and would otherwise scan every message ever stored.
IN_FLIGHT = "channel_state IN ('queued', 'sending')"
SELECT_DUE = (
    f"SELECT * FROM messages WHERE {IN_FLIGHT} AND channel_state = 'queued' AND channel_due_at <= ?"
    " AND sandbox = 0 ORDER BY channel_due_at LIMIT ?"
)
SELECT_QUOTA = "SELECT daily_quota FROM oas WHERE oa_id = ?"
SELECT_USED = "SELECT used FROM oa_quota WHERE oa_id = ? AND day = ?"
SPEND_QUOTA = (
    "INSERT INTO oa_quota (oa_id, day, used) VALUES (?, ?, 1)"
    " ON CONFLICT (oa_id, day) DO UPDATE SET used = used + 1"
)
DEFER = "UPDATE messages SET channel_due_at = ? WHERE id = ?"
MARK_SENDING = (
    "UPDATE messages SET channel_state = 'sending', channel_due_at = ?, channel_lease_until = ? WHERE id = ?"
)
MARK_DONE = "UPDATE messages SET channel_state = 'done', channel_lease_until = NULL WHERE id = ?"
SENT_BY_CHANNEL = "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ? AND channel_state <> 'none')"
SELECT_STALE = (
    f"SELECT * FROM messages WHERE {IN_FLIGHT} AND channel_state = 'sending' AND channel_lease_until < ?"
    " ORDER BY channel_lease_until LIMIT ?"
)
RELEASE_LEASE = "UPDATE messages SET channel_lease_until = ? WHERE id = ?"
INSERT_ORPHAN = (
    "INSERT OR IGNORE INTO orphan_receipts (oa_id, msg_id, tracking_id, payload, received_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
FIND_ORPHAN = (
    "SELECT msg_id, payload FROM orphan_receipts WHERE oa_id = ? AND matched_at IS NULL AND received_at >= ?"
    " AND (msg_id = ? OR tracking_id = ?) ORDER BY msg_id = ? DESC LIMIT 1"
)
MATCH_ORPHAN = "UPDATE orphan_receipts SET matched_at = ? WHERE oa_id = ? AND msg_id = ?"
COUNT_ORPHANS = "SELECT count(*) FROM orphan_receipts WHERE matched_at IS NULL"
LIST_ORPHANS = (
    "SELECT oa_id, msg_id, tracking_id, payload, received_at, matched_at FROM orphan_receipts"
    " WHERE (? IS NULL OR (matched_at IS NOT NULL) = ?) ORDER BY received_at DESC, msg_id LIMIT ?"
)


class SqliteChannel(core.SqliteCore):
    """The channel queue's methods of the Store."""

    async def sent_by_channel(self, message_id: str) -> bool:
        return bool(await self._read(lambda conn: conn.execute(SENT_BY_CHANNEL, (message_id,)).fetchone()[0]))

    async def claim_channel_messages(
        self, now: dt.datetime, limit: int, lease_s: float, day: str, next_day: dt.datetime
    ) -> list[models.Message]:
        t = now.timestamp()

        def run(conn: sqlite3.Connection) -> list[models.Message]:
            claimed: list[models.Message] = []
            quotas: dict[str, int] = {}
            for row in conn.execute(SELECT_DUE, (t, limit)).fetchall():
                oa_id = row["oa_id"]
                if oa_id is not None:
                    if oa_id not in quotas:
                        q = conn.execute(SELECT_QUOTA, (oa_id,)).fetchone()
                        quotas[oa_id] = q["daily_quota"] if q is not None else 0
                    used = conn.execute(SELECT_USED, (oa_id, day)).fetchone()
                    if q_spent(used) >= quotas[oa_id] and quotas[oa_id] > 0:
                        conn.execute(DEFER, (next_day.timestamp(), row["id"]))
                        continue
                    conn.execute(SPEND_QUOTA, (oa_id, day))
                conn.execute(MARK_SENDING, (t, t + lease_s, row["id"]))
                claimed.append(rows.from_row(models.Message, row))
            return claimed

        return await self._tx(run)

    async def finish_channel_message(self, message_id: str, now: dt.datetime) -> None:
        await self._tx(lambda conn: conn.execute(MARK_DONE, (message_id,)))

    async def claim_stale_channel_messages(
        self, now: dt.datetime, limit: int, recheck_s: float
    ) -> list[tuple[models.Message, dt.datetime]]:
        t = now.timestamp()

        def run(conn: sqlite3.Connection) -> list[tuple[models.Message, dt.datetime]]:
            found = []
            for row in conn.execute(SELECT_STALE, (t, limit)).fetchall():
                conn.execute(RELEASE_LEASE, (t + recheck_s, row["id"]))
                since = dt.datetime.fromtimestamp(row["channel_due_at"], dt.UTC)
                found.append((rows.from_row(models.Message, row), since))
            return found

        return await self._tx(run)

    async def put_orphan_receipt(
        self,
        oa_id: str,
        msg_id: str,
        tracking_id: str | None,
        payload: dict[str, object],
        received_at: dt.datetime,
    ) -> bool:
        raw = orjson.dumps(payload).decode()
        args = (oa_id, msg_id, tracking_id, raw, received_at.timestamp())
        cursor = await self._tx(lambda conn: conn.execute(INSERT_ORPHAN, args))
        return cursor.rowcount == 1

    async def take_orphan_receipt(
        self, oa_id: str, msg_id: str | None, tracking_id: str | None, since: dt.datetime, now: dt.datetime
    ) -> dict[str, object] | None:
        def run(conn: sqlite3.Connection) -> dict[str, object] | None:
            args = (oa_id, since.timestamp(), msg_id, tracking_id, msg_id)
            row = conn.execute(FIND_ORPHAN, args).fetchone()
            if row is None:
                return None
            conn.execute(MATCH_ORPHAN, (now.timestamp(), oa_id, row["msg_id"]))
            payload: dict[str, object] = orjson.loads(row["payload"])
            return payload

        return await self._tx(run)

    async def count_orphan_receipts(self) -> int:
        row = await self._read(lambda conn: conn.execute(COUNT_ORPHANS).fetchone())
        return int(row[0])

    @contextlib.asynccontextmanager
    async def oa_token_lock(self, oa_id: str) -> AsyncIterator[None]:
        # One process writes a SQLite file: an in-process lock per OA is enough.
        locks: dict[str, asyncio.Lock] = vars(self).setdefault("_oa_token_locks", {})
        async with locks.setdefault(oa_id, asyncio.Lock()):
            yield

    async def list_orphan_receipts(self, *, matched: bool | None, limit: int) -> list[queues.OrphanReceipt]:
        flag = None if matched is None else int(matched)
        found = await self._read(lambda conn: conn.execute(LIST_ORPHANS, (flag, flag, limit)).fetchall())
        return [
            queues.OrphanReceipt(
                oa_id=row["oa_id"],
                msg_id=row["msg_id"],
                tracking_id=row["tracking_id"],
                payload=orjson.loads(row["payload"]),
                received_at=dt.datetime.fromtimestamp(row["received_at"], dt.UTC),
                matched_at=None
                if row["matched_at"] is None
                else dt.datetime.fromtimestamp(row["matched_at"], dt.UTC),
            )
            for row in found
        ]


def q_spent(row: sqlite3.Row | None) -> int:
    """Units spent from a `SELECT_USED` row (none yet when there is no row)."""
    return 0 if row is None else int(row["used"])
