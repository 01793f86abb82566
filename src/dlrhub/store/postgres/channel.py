"""The Zalo channel worker's queue on PostgreSQL: claiming sends under the OA's daily quota, stale sends, orphans."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from dlrhub.core import models
from dlrhub.store import queues, rows
from dlrhub.store.postgres import core

SELECT_DUE = (
    "SELECT m.*, o.daily_quota AS oa_daily_quota FROM messages m LEFT JOIN oas o ON o.oa_id = m.oa_id"
    " WHERE m.channel_state = 'queued' AND m.channel_due_at <= $1 AND NOT m.sandbox"
    " ORDER BY m.channel_due_at LIMIT $2 FOR UPDATE OF m SKIP LOCKED"
)
#: Spends one unit of quota atomically; returns no row when the OA has none left.
SPEND_QUOTA = (
    "INSERT INTO oa_quota (oa_id, day, used) VALUES ($1, $2, 1)"
    " ON CONFLICT (oa_id, day) DO UPDATE SET used = oa_quota.used + 1 WHERE oa_quota.used < $3"
    " RETURNING used"
)
DEFER = "UPDATE messages SET channel_due_at = $2 WHERE id = ANY($1::text[])"
MARK_SENDING = (
    "UPDATE messages SET channel_state = 'sending', channel_due_at = $2, channel_lease_until = $3"
    " WHERE id = ANY($1::text[])"
)
MARK_DONE = "UPDATE messages SET channel_state = 'done', channel_lease_until = NULL WHERE id = $1"
SENT_BY_CHANNEL = "SELECT EXISTS (SELECT FROM messages WHERE id = $1 AND channel_state <> 'none')"
CLAIM_STALE = (
    "UPDATE messages SET channel_lease_until = $3 WHERE id IN (SELECT id FROM messages"
    " WHERE channel_state = 'sending' AND channel_lease_until < $1 ORDER BY channel_lease_until LIMIT $2"
    " FOR UPDATE SKIP LOCKED) RETURNING *"
)
INSERT_ORPHAN = (
    "INSERT INTO orphan_receipts (oa_id, msg_id, tracking_id, payload, received_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (oa_id, msg_id) DO NOTHING"
)
TAKE_ORPHAN = (
    "UPDATE orphan_receipts SET matched_at = $5 WHERE oa_id = $1 AND msg_id = (SELECT msg_id FROM orphan_receipts"
    " WHERE oa_id = $1 AND matched_at IS NULL AND received_at >= $2 AND (msg_id = $3 OR tracking_id = $4)"
    " ORDER BY msg_id = $3 DESC LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING payload"
)
#: Waits for, then holds until the transaction ends, the lock of one OA's token refresh (released if the
#: connection dies).
LOCK_OA_REFRESH = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
COUNT_ORPHANS = "SELECT count(*) FROM orphan_receipts WHERE matched_at IS NULL"
LIST_ORPHANS = (
    "SELECT oa_id, msg_id, tracking_id, payload, received_at, matched_at FROM orphan_receipts"
    " WHERE ($1::boolean IS NULL OR (matched_at IS NOT NULL) = $1) ORDER BY received_at DESC, msg_id LIMIT $2"
)


class PostgresChannel(core.PostgresCore):
    """The channel queue's methods of the Store."""

    async def sent_by_channel(self, message_id: str) -> bool:
        pool = await self.pool()
        return bool(await pool.fetchval(SENT_BY_CHANNEL, message_id))

    async def claim_channel_messages(
        self, now: dt.datetime, limit: int, lease_s: float, day: str, next_day: dt.datetime
    ) -> list[models.Message]:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            claimed: list[models.Message] = []
            deferred: list[str] = []
            exhausted: set[str] = set()
            for row in await conn.fetch(SELECT_DUE, now, limit):
                oa_id, quota = row["oa_id"], row["oa_daily_quota"]
                if (
                    oa_id is not None
                    and quota
                    and (oa_id in exhausted or await conn.fetchrow(SPEND_QUOTA, oa_id, day, quota) is None)
                ):
                    exhausted.add(oa_id)
                    deferred.append(row["id"])
                    continue
                claimed.append(rows.from_row(models.Message, row))
            if deferred:
                await conn.execute(DEFER, deferred, next_day)
            if claimed:
                until = now + dt.timedelta(seconds=lease_s)
                await conn.execute(MARK_SENDING, [m.id for m in claimed], now, until)
            return claimed

    async def finish_channel_message(self, message_id: str, now: dt.datetime) -> None:
        pool = await self.pool()
        await pool.execute(MARK_DONE, message_id)

    async def claim_stale_channel_messages(
        self, now: dt.datetime, limit: int, recheck_s: float
    ) -> list[tuple[models.Message, dt.datetime]]:
        pool = await self.pool()
        found = await pool.fetch(CLAIM_STALE, now, limit, now + dt.timedelta(seconds=recheck_s))
        return [(rows.from_row(models.Message, r), r["channel_due_at"]) for r in found]

    async def put_orphan_receipt(
        self,
        oa_id: str,
        msg_id: str,
        tracking_id: str | None,
        payload: dict[str, object],
        received_at: dt.datetime,
    ) -> bool:
        pool = await self.pool()
        status = await pool.execute(INSERT_ORPHAN, oa_id, msg_id, tracking_id, payload, received_at)
        return bool(status == "INSERT 0 1")

    async def take_orphan_receipt(
        self, oa_id: str, msg_id: str | None, tracking_id: str | None, since: dt.datetime, now: dt.datetime
    ) -> dict[str, object] | None:
        pool = await self.pool()
        payload = await pool.fetchval(TAKE_ORPHAN, oa_id, since, msg_id, tracking_id, now)
        return None if payload is None else dict(payload)

    async def count_orphan_receipts(self) -> int:
        pool = await self.pool()
        return int(await pool.fetchval(COUNT_ORPHANS))

    @contextlib.asynccontextmanager
    async def oa_token_lock(self, oa_id: str) -> AsyncIterator[None]:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(LOCK_OA_REFRESH, f"dlrhub.oa_token:{oa_id}")
            yield

    async def list_orphan_receipts(self, *, matched: bool | None, limit: int) -> list[queues.OrphanReceipt]:
        pool = await self.pool()
        return [
            queues.OrphanReceipt(
                oa_id=row["oa_id"],
                msg_id=row["msg_id"],
                tracking_id=row["tracking_id"],
                payload=dict(row["payload"]),
                received_at=row["received_at"],
                matched_at=row["matched_at"],
            )
            for row in await pool.fetch(LIST_ORPHANS, matched, limit)
        ]
