"""Recent activity on PostgreSQL: per-minute counts and results over a time range, each one indexed range scan."""

from __future__ import annotations

import datetime as dt

import asyncpg

from dlrhub.core import models
from dlrhub.store import activity
from dlrhub.store.postgres import core

#: One count per minute of the range (`$3`: its first minute, `$4`: how many), each an index range count. The
#: range's own bounds, repeated, let the planner leave out the partitions outside it (attempts, docs/adr/0009).
_PER_MINUTE = """
SELECT i, (SELECT count(*) FROM {table}
           WHERE {column} >= $1::timestamptz AND {column} < $2::timestamptz
           AND {column} >= greatest($1::timestamptz, $3::timestamptz + i * interval '1 minute')
           AND {column} < least($2::timestamptz, $3::timestamptz + (i + 1) * interval '1 minute'){more}) AS n
FROM generate_series(0, $4::int - 1) AS i
"""
#: Index only: `messages_created_id`.
ACCEPTED_PER_MINUTE = _PER_MINUTE.format(table="messages", column="created_at", more="")
#: Index only: `attempts_started_outcome` holds both columns.
DELIVERED_PER_MINUTE = _PER_MINUTE.format(table="attempts", column="started_at", more=" AND outcome = 'ok'")
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
        start, count = activity.minutes(since, until)
        if not count:
            return {}
        found = await self._rows(sql, since, until, start, count)
        return activity.per_minute(start, [(r[0], r[1]) for r in found])

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
