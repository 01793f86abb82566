"""The dispatcher's storage on SQLite: endpoint health, giving back and cancelling callbacks, replay, wake-up."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from typing import Any

import orjson

from dlrhub.core import models
from dlrhub.store import nouns, rows, wakes
from dlrhub.store.sqlite import core

RELEASE = (
    "UPDATE callbacks SET due_at = ?, lease_until = NULL, lease_owner = NULL, updated_at = ?"
    " WHERE id = ? AND lease_owner = ? AND state = 'pending'"
)
#: Endpoint-wide changes go CHUNK_ROWS at a time (an endpoint may have a million pending), in rowid order from
#: the last two parameters (the rowid to start after, the chunk): each chunk starts where the last one ended,
#: rather than walking again past the rows already changed that are still pending.
DEFER_ENDPOINT = (
    "UPDATE callbacks SET due_at = ?, updated_at = ? WHERE rowid IN (SELECT rowid FROM callbacks"
    " WHERE health_key = ? AND state = 'pending' AND due_at < ? AND (lease_until IS NULL OR lease_until < ?)"
    " AND rowid > ? ORDER BY rowid LIMIT ?) RETURNING rowid"
)
#: Resume: the callbacks to one account's endpoint (health key) that a pause pushed to its end (due after now, at
#: or before `until`) are due now (index `callbacks_health`).
ADVANCE_ENDPOINT = (
    "UPDATE callbacks SET due_at = ?, updated_at = ? WHERE rowid IN (SELECT rowid FROM callbacks"
    " WHERE health_key = ? AND state = 'pending' AND due_at > ? AND due_at <= ?"
    " AND (lease_until IS NULL OR lease_until < ?) AND rowid > ? ORDER BY rowid LIMIT ?) RETURNING rowid"
)
CANCEL = (
    "UPDATE callbacks SET state = 'cancelled', lease_until = NULL, lease_owner = NULL, updated_at = ?"
    " WHERE id = ? AND state = 'pending'"
)
CANCEL_ENDPOINT = (
    "UPDATE callbacks SET state = 'cancelled', lease_until = NULL, lease_owner = NULL, updated_at = ?"
    " WHERE rowid IN (SELECT rowid FROM callbacks WHERE health_key = ? AND state = 'pending'"
    " AND rowid > ? ORDER BY rowid LIMIT ?) RETURNING rowid"
)
REQUEUE = (
    "UPDATE callbacks SET state = 'pending', due_at = ?, url = ?, endpoint = ?, health_key = ?, retry_from = attempts,"
    " lease_until = NULL, lease_owner = NULL, updated_at = ? WHERE id = ?"
)
#: `find_callbacks` joins the fragments of the filters given.
FIND = "SELECT * FROM callbacks WHERE 1 = 1"
FIND_IDS = " AND id IN (SELECT value FROM json_each(:ids))"
FIND_MESSAGE = " AND message_id = :message_id"
FIND_ACCOUNT = " AND account_id = :account_id"
FIND_FROM = " AND created_at >= :created_from"
FIND_TO = " AND created_at < :created_to"
FIND_STATES = " AND state IN (SELECT value FROM json_each(:states))"
#: Added when the states asked for leave out `succeeded`: the term of the `callbacks_unsettled` partial index, written
#: as its definition is (SQLite uses a partial index only for a query that has its WHERE term word for word).
FIND_UNSETTLED = " AND state <> 'succeeded'"
FIND_ENDPOINT = " AND endpoint = :endpoint"
FIND_DIALECT = " AND dialect = :dialect"
FIND_BEFORE = " AND (created_at, id) < (:before_at, :before_id)"
FIND_END = " ORDER BY created_at, seq LIMIT :limit"
FIND_END_NEWEST = " ORDER BY created_at DESC, id DESC LIMIT :limit"
UPSERT_ENDPOINT = """
INSERT INTO endpoints (endpoint, state, consecutive_failures, failing_since, paused_until, updated_at)
VALUES (:endpoint, :state, :consecutive_failures, :failing_since, :paused_until, :updated_at)
ON CONFLICT (endpoint) DO UPDATE SET state = excluded.state, consecutive_failures = excluded.consecutive_failures,
    failing_since = excluded.failing_since, paused_until = excluded.paused_until, updated_at = excluded.updated_at
"""
#: A pause still running is neither ended nor shortened by the dispatcher (its view may predate an operator's
#: pause): only a disable, or an operator's overruling write (`UPSERT_ENDPOINT` itself), replaces it.
KEEP_PAUSE = """
WHERE NOT (endpoints.state = 'paused' AND excluded.state <> 'disabled' AND endpoints.paused_until > excluded.updated_at
    AND (excluded.paused_until IS NULL OR excluded.paused_until < endpoints.paused_until))
"""
#: The last failed attempt of each of an endpoint's (health key's) latest failed callbacks (index
#: `callbacks_health_failed`).
RECENT_FAILURES = """
SELECT a.* FROM (SELECT id, attempts FROM callbacks WHERE health_key = ? AND last_outcome <> 'ok'
    ORDER BY updated_at DESC LIMIT ?) AS c
JOIN attempts AS a ON a.callback_id = c.id AND a.number = c.attempts
ORDER BY a.started_at DESC
"""
GET_ENDPOINTS = "SELECT * FROM endpoints WHERE endpoint IN (SELECT value FROM json_each(?))"
#: Health keys start with their account's id and `:` (`urls.health_key`); `:account` is '' for every account.
LIST_ENDPOINTS = (
    "SELECT * FROM endpoints WHERE (:account = '' OR substr(endpoint, 1, length(:account) + 1) = :account || ':')"
    " AND (:all OR state IN (SELECT value FROM json_each(:states))) ORDER BY endpoint LIMIT 10000"
)
COUNT_ENDPOINTS = "SELECT state, count(*) AS n FROM endpoints GROUP BY state"


def _json(values: list[str]) -> str:
    return orjson.dumps(values).decode()


def find_query(where: nouns.CallbackFilter) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of `find_callbacks` for `where` (bench/callback_lists.py runs them bare too)."""
    sql = FIND
    params: dict[str, Any] = {"limit": max(0, min(where.limit, 100_000))}
    if where.ids:
        sql += FIND_IDS
        params["ids"] = _json(list(where.ids))
    if where.message_id is not None:
        sql += FIND_MESSAGE
        params["message_id"] = where.message_id
    if where.account_id is not None:
        sql += FIND_ACCOUNT
        params["account_id"] = where.account_id
    if where.created_from is not None:
        sql += FIND_FROM
        params["created_from"] = where.created_from.timestamp()
    if where.created_to is not None:
        sql += FIND_TO
        params["created_to"] = where.created_to.timestamp()
    if where.states:
        sql += FIND_STATES
        params["states"] = _json([s.value for s in where.states])
        if models.CallbackState.SUCCEEDED not in where.states:
            sql += FIND_UNSETTLED
    if where.endpoint is not None:
        sql += FIND_ENDPOINT
        params["endpoint"] = where.endpoint
    if where.dialect is not None:
        sql += FIND_DIALECT
        params["dialect"] = where.dialect.value
    if where.before is not None and where.newest_first:
        sql += FIND_BEFORE
        params["before_at"], params["before_id"] = where.before[0].timestamp(), where.before[1]
    sql += FIND_END_NEWEST if where.newest_first else FIND_END
    return sql, params


class SqliteDispatch(wakes.Wakes, core.SqliteCore):
    """Endpoint health, release, cancel, replay and the in-process wake-up."""

    async def wait_for_callbacks(self, within_s: float) -> None:
        due = self._due()
        if not due.is_set():
            # `asyncio.timeout`, not `wait_for`: no task of its own, so one step of the loop fewer to wake.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within_s):
                    await due.wait()
        due.clear()

    async def release_callbacks(
        self, owner: str, due: list[tuple[str, dt.datetime]], now: dt.datetime
    ) -> None:
        if not due:
            return
        params = [(at.timestamp(), now.timestamp(), cid, owner) for cid, at in due]
        await self._tx(lambda conn: conn.executemany(RELEASE, params))

    async def defer_endpoint_callbacks(self, health_key: str, until: dt.datetime, now: dt.datetime) -> int:
        params = (until.timestamp(), now.timestamp(), health_key, until.timestamp(), now.timestamp())
        return await self._update_all(DEFER_ENDPOINT, params)

    async def advance_endpoint_callbacks(self, health_key: str, until: dt.datetime, now: dt.datetime) -> int:
        stamp = now.timestamp()
        params = (stamp, stamp, health_key, stamp, until.timestamp(), stamp)
        count = await self._update_all(ADVANCE_ENDPOINT, params)
        if count:
            self._notify_callbacks()
        return count

    async def cancel_callbacks(self, ids: list[str], now: dt.datetime) -> int:
        if not ids:
            return 0
        params = [(now.timestamp(), cid) for cid in ids]
        return await self._executemany(CANCEL, params)

    async def cancel_endpoint_callbacks(self, health_key: str, now: dt.datetime) -> int:
        return await self._update_all(CANCEL_ENDPOINT, (now.timestamp(), health_key))

    async def find_callbacks(self, where: nouns.CallbackFilter) -> list[models.Callback]:
        sql, params = find_query(where)
        found = await self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [rows.from_row(models.Callback, r) for r in found]

    async def requeue_callbacks(self, changes: list[tuple[str, str, str, str]], now: dt.datetime) -> int:
        if not changes:
            return 0
        stamp = now.timestamp()
        params = [(stamp, url, endpoint, health, stamp, cid) for cid, url, endpoint, health in changes]
        count = await self._executemany(REQUEUE, params)
        self._notify_callbacks()
        return count

    async def get_endpoints(self, endpoints: list[str]) -> dict[str, models.Endpoint]:
        if not endpoints:
            return {}
        found = await self._read(lambda conn: conn.execute(GET_ENDPOINTS, (_json(endpoints),)).fetchall())
        return {r["endpoint"]: rows.from_row(models.Endpoint, r) for r in found}

    async def put_endpoints(
        self, endpoints: list[models.Endpoint], *, overrule: bool = False
    ) -> list[models.Endpoint]:
        if not endpoints:
            return []
        params = [rows.to_row(e, core.BACKEND) for e in endpoints]
        if overrule:
            await self._tx(lambda conn: conn.executemany(UPSERT_ENDPOINT, params))
            return []

        def run(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            # A row the kept pause did not let through changes nothing (`rowcount` 0): read it back as it is.
            kept = [
                p["endpoint"] for p in params if conn.execute(UPSERT_ENDPOINT + KEEP_PAUSE, p).rowcount == 0
            ]
            return conn.execute(GET_ENDPOINTS, (_json(kept),)).fetchall() if kept else []

        return [rows.from_row(models.Endpoint, r) for r in await self._tx(run)]

    async def recent_failures(
        self, endpoints: list[str], per_endpoint: int
    ) -> dict[str, list[models.Attempt]]:
        limit = max(0, min(per_endpoint, nouns.MAX_RECENT_FAILURES))

        def run(conn: sqlite3.Connection) -> dict[str, list[sqlite3.Row]]:
            return {e: conn.execute(RECENT_FAILURES, (e, limit)).fetchall() for e in endpoints[:1000]}

        found = await self._read(run)
        return {e: [rows.from_row(models.Attempt, r) for r in found_rows] for e, found_rows in found.items()}

    async def list_endpoints(
        self, states: tuple[models.EndpointState, ...] = (), *, account_id: str | None = None
    ) -> list[models.Endpoint]:
        params = {"account": account_id or "", "all": not states, "states": _json([s.value for s in states])}

        def run(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            return conn.execute(LIST_ENDPOINTS, params).fetchall()

        return [rows.from_row(models.Endpoint, r) for r in await self._read(run)]

    async def count_endpoints(self) -> dict[models.EndpointState, int]:
        found = await self._read(lambda conn: conn.execute(COUNT_ENDPOINTS).fetchall())
        counts = dict.fromkeys(models.EndpointState, 0)
        counts.update({models.EndpointState(r["state"]): r["n"] for r in found})
        return counts
