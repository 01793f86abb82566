"""Recent activity on PostgreSQL: per-minute counts and results over a time range, each one indexed range scan."""

from __future__ import annotations

import datetime as dt

import asyncpg

from dlrhub.core import models
from dlrhub.store import activity
from dlrhub.store.postgres import core

#: Index only: `messages_created`.
ACCEPTED_PER_MINUTE = """
SELECT floor(extract(epoch FROM created_at) / 60)::bigint AS m, count(*) AS n FROM messages
WHERE created_at >= $1 AND created_at < $2 GROUP BY m
"""
#: Index only: `attempts_started_outcome` holds both columns.
DELIVERED_PER_MINUTE = """
SELECT floor(extract(epoch FROM started_at) / 60)::bigint AS m, count(*) AS n FROM attempts
WHERE started_at >= $1 AND started_at < $2 AND outcome = 'ok' GROUP BY m
"""
#: The partial index `callbacks_finished_badly`.
FINISHED_BADLY = """
SELECT state, count(*) AS n FROM callbacks WHERE state IN ('failed', 'cancelled')
AND updated_at >= $1 AND updated_at < $2 GROUP BY state
"""
#: The partial index `messages_channel_created`; a `zalo_res` without a numeric `error` gives none (no error).
ZALO_RESULTS = f"""
SELECT state, code, CASE WHEN state = 'failed' AND jsonb_typeof(zalo_res -> 'error') = 'number'
                         THEN (zalo_res ->> 'error')::numeric END AS zalo_error, count(*) AS n
FROM messages WHERE channel_state <> 'none' AND created_at >= $1 AND created_at < $2
GROUP BY state, code, zalo_error ORDER BY n DESC, state, code LIMIT {activity.MAX_RESULT_GROUPS}
"""
QUOTA_USED = "SELECT oa_id, used FROM oa_quota WHERE day = $1"


class PostgresActivity(core.PostgresCore):
    """The Activity reads of the Store."""

    async def _rows(self, sql: str, *args: object) -> list[asyncpg.Record]:
        pool = await self.pool()
        return list(await pool.fetch(sql, *args))

    async def _per_minute(self, sql: str, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        return {activity.minute(r["m"]): r["n"] for r in await self._rows(sql, since, until)}

    async def accepted_per_minute(self, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        return await self._per_minute(ACCEPTED_PER_MINUTE, since, until)

    async def delivered_per_minute(self, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        return await self._per_minute(DELIVERED_PER_MINUTE, since, until)

    async def finished_badly(self, since: dt.datetime, until: dt.datetime) -> dict[models.CallbackState, int]:
        counts = {models.CallbackState.FAILED: 0, models.CallbackState.CANCELLED: 0}
        for r in await self._rows(FINISHED_BADLY, since, until):
            counts[models.CallbackState(r["state"])] = r["n"]
        return counts

    async def zalo_results(self, since: dt.datetime, until: dt.datetime) -> list[activity.ZaloResult]:
        return [
            activity.ZaloResult(
                models.MessageState(r["state"]),
                r["code"],
                None if r["zalo_error"] is None else int(r["zalo_error"]),
                r["n"],
            )
            for r in await self._rows(ZALO_RESULTS, since, until)
        ]

    async def quota_used(self, day: str) -> dict[str, int]:
        return {r["oa_id"]: r["used"] for r in await self._rows(QUOTA_USED, day)}
