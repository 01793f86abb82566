"""Recent activity on SQLite: per-minute counts and results over a time range, each one indexed range scan."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from dlrhub.core import models
from dlrhub.store import activity
from dlrhub.store.sqlite import core

#: One count per minute of the range (`?3`: its first minute, `?4`: how many), each an index range count: SQLite
#: counts a range of index entries several times faster than it groups them by an expression.
_PER_MINUTE = """
WITH RECURSIVE minute(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM minute WHERE i < ?4 - 1)
SELECT i, (SELECT count(*) FROM {table} WHERE {column} >= max(?1, ?3 + 60 * i)
           AND {column} < min(?2, ?3 + 60 * (i + 1)){more}) AS n
FROM minute
"""
#: Index only: `messages_created_id`.
ACCEPTED_PER_MINUTE = _PER_MINUTE.format(table="messages", column="created_at", more="")
#: Index only: `attempts_started_outcome` holds both columns.
DELIVERED_PER_MINUTE = _PER_MINUTE.format(table="attempts", column="started_at", more=" AND outcome = 'ok'")
#: The condition repeats the partial index's (SQLite uses a partial index only for a query that states it).
FINISHED_BADLY = (
    "SELECT state, count(*) AS n FROM callbacks WHERE state IN ('failed', 'cancelled')"
    " AND updated_at >= ? AND updated_at < ? GROUP BY state"
)
#: `channel_state <> 'none'` states `messages_channel_created`'s condition; a malformed `zalo_res` gives no error.
ZALO_RESULTS = f"""
SELECT state, code, CASE WHEN state = 'failed' AND json_valid(zalo_res)
                           AND json_type(zalo_res, '$.error') = 'integer'
                         THEN json_extract(zalo_res, '$.error') END AS zalo_error, count(*) AS n
FROM messages WHERE channel_state <> 'none' AND created_at >= ? AND created_at < ?
GROUP BY state, code, zalo_error ORDER BY n DESC, state, code LIMIT {activity.MAX_RESULT_GROUPS}
"""
QUOTA_USED = "SELECT oa_id, used FROM oa_quota WHERE day = ?"


class SqliteActivity(core.SqliteCore):
    """The Activity reads of the Store."""

    async def _rows(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        return await self._read(lambda conn: conn.execute(sql, args).fetchall())

    async def _per_minute(self, sql: str, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        start, count = activity.minutes(since, until)
        if not count:
            return {}
        found = await self._rows(sql, (since.timestamp(), until.timestamp(), start.timestamp(), count))
        return activity.per_minute(start, [(r[0], r[1]) for r in found])

    async def accepted_per_minute(self, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        return await self._per_minute(ACCEPTED_PER_MINUTE, since, until)

    async def delivered_per_minute(self, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
        return await self._per_minute(DELIVERED_PER_MINUTE, since, until)

    async def finished_badly(self, since: dt.datetime, until: dt.datetime) -> dict[models.CallbackState, int]:
        found = await self._rows(FINISHED_BADLY, (since.timestamp(), until.timestamp()))
        counts = {models.CallbackState.FAILED: 0, models.CallbackState.CANCELLED: 0}
        counts.update({models.CallbackState(r["state"]): r["n"] for r in found})
        return counts

    async def zalo_results(self, since: dt.datetime, until: dt.datetime) -> list[activity.ZaloResult]:
        found = await self._rows(ZALO_RESULTS, (since.timestamp(), until.timestamp()))
        return [
            activity.ZaloResult(models.MessageState(r["state"]), r["code"], r["zalo_error"], r["n"])
            for r in found
        ]

    async def quota_used(self, day: str) -> dict[str, int]:
        return {r["oa_id"]: r["used"] for r in await self._rows(QUOTA_USED, (day,))}
