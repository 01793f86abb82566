"""The dispatcher's storage on PostgreSQL: endpoint health, giving back and cancelling callbacks, replay, LISTEN."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import asyncpg

from dlrhub.core import models
from dlrhub.store import nouns, rows, wakes
from dlrhub.store.postgres import core

RELEASE = """
UPDATE callbacks SET due_at = u.due_at, lease_until = NULL, lease_owner = NULL, updated_at = $3
FROM unnest($1::text[], $2::timestamptz[]) AS u(id, due_at)
WHERE callbacks.id = u.id AND callbacks.lease_owner = $4 AND callbacks.state = 'pending'
"""
DEFER_ENDPOINT = """
UPDATE callbacks SET due_at = $2, updated_at = $3
WHERE health_key = $1 AND state = 'pending' AND due_at < $2 AND (lease_until IS NULL OR lease_until < $3)
"""
#: Resume: the callbacks to one account's endpoint (health key) that a pause pushed to its end (due after now, at
#: or before `until`) are due now (index `callbacks_health`).
ADVANCE_ENDPOINT = """
UPDATE callbacks SET due_at = $3, updated_at = $3
WHERE health_key = $1 AND state = 'pending' AND due_at > $3 AND due_at <= $2 AND (lease_until IS NULL OR lease_until < $3)
"""
CANCEL = """
UPDATE callbacks SET state = 'cancelled', lease_until = NULL, lease_owner = NULL, updated_at = $2
WHERE id = ANY($1::text[]) AND state = 'pending'
"""
CANCEL_ENDPOINT = """
UPDATE callbacks SET state = 'cancelled', lease_until = NULL, lease_owner = NULL, updated_at = $2
WHERE health_key = $1 AND state = 'pending'
"""
REQUEUE = """
UPDATE callbacks SET state = 'pending', due_at = $4, url = u.url, endpoint = u.endpoint, health_key = u.health_key,
    retry_from = attempts, lease_until = NULL, lease_owner = NULL, updated_at = $4
FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS u(id, url, endpoint, health_key)
WHERE callbacks.id = u.id
"""
#: `find_callbacks`: every filter is optional (NULL or an empty array matches everything).
FIND_WHERE = """
SELECT * FROM callbacks
WHERE (cardinality($1::text[]) = 0 OR id = ANY($1::text[]))
  AND ($2::text IS NULL OR message_id = $2)
  AND ($3::text IS NULL OR account_id = $3)
  AND ($4::timestamptz IS NULL OR created_at >= $4)
  AND ($5::timestamptz IS NULL OR created_at < $5)
  AND (cardinality($6::text[]) = 0 OR state = ANY($6::text[]))
  AND ($8::text IS NULL OR endpoint = $8)
  AND ($9::text IS NULL OR dialect = $9)
"""
FIND = FIND_WHERE + "ORDER BY created_at, seq LIMIT $7"
#: Newest first, from before the keyset `($10, $11)` when given (a page of the dashboard's list).
FIND_NEWEST = (
    FIND_WHERE
    + "AND ($10::timestamptz IS NULL OR (created_at, id) < ($10, $11::text))\n"
    + "ORDER BY created_at DESC, id DESC LIMIT $7"
)
#: FIND_NEWEST when the states asked for leave out `succeeded`: the literal term lets the planner use the
#: `callbacks_unsettled` partial index whatever the parameters (a generic plan cannot prove it from `$6`).
FIND_NEWEST_UNSETTLED = FIND_NEWEST.replace("ORDER BY", "AND state <> 'succeeded'\nORDER BY")
UPSERT_ENDPOINTS = """
INSERT INTO endpoints (endpoint, state, consecutive_failures, failing_since, paused_until, updated_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
ON CONFLICT (endpoint) DO UPDATE SET state = excluded.state, consecutive_failures = excluded.consecutive_failures,
    failing_since = excluded.failing_since, paused_until = excluded.paused_until, updated_at = excluded.updated_at
"""
#: A pause still running is neither ended nor shortened by the dispatcher (its view may predate an operator's
#: pause): only a disable, or an operator's overruling write (`UPSERT_ENDPOINTS` itself), replaces it.
KEEP_PAUSE = """
WHERE NOT (endpoints.state = 'paused' AND excluded.state <> 'disabled' AND endpoints.paused_until > excluded.updated_at
    AND (excluded.paused_until IS NULL OR excluded.paused_until < endpoints.paused_until))
RETURNING endpoint
"""
#: The last failed attempt of each of an endpoint's (health key's) latest failed callbacks (index
#: `callbacks_health_failed`).
RECENT_FAILURES = """
SELECT e.endpoint, a.* FROM unnest($1::text[]) AS e(endpoint)
CROSS JOIN LATERAL (SELECT id, attempts, created_at FROM callbacks WHERE health_key = e.endpoint
    AND last_outcome <> 'ok' ORDER BY updated_at DESC LIMIT $2) AS c
JOIN attempts AS a ON a.callback_id = c.id AND a.number = c.attempts
    AND a.started_at >= c.created_at - interval '1 day'  -- the partitions since (callbacks.ATTEMPTS_OF)
ORDER BY e.endpoint, a.started_at DESC
"""
GET_ENDPOINTS = "SELECT * FROM endpoints WHERE endpoint = ANY($1::text[])"
#: Health keys start with their account's id and `:` (`urls.health_key`); `$2` is '' for every account.
LIST_ENDPOINTS = """
SELECT * FROM endpoints
WHERE (cardinality($1::text[]) = 0 OR state = ANY($1::text[]))
  AND ($2 = '' OR left(endpoint, length($2) + 1) = $2 || ':')
ORDER BY endpoint LIMIT 10000
"""
COUNT_ENDPOINTS = "SELECT state, count(*) AS n FROM endpoints GROUP BY state"
NOTIFY = "SELECT pg_notify($1, '')"


def find_query(where: nouns.CallbackFilter) -> tuple[str, list[Any]]:
    """The SQL and arguments of `find_callbacks` for `where` (bench/callback_lists.py runs them bare too)."""
    args: list[Any] = [
        list(where.ids),
        where.message_id,
        where.account_id,
        where.created_from,
        where.created_to,
        [s.value for s in where.states],
        max(0, min(where.limit, 100_000)),
        where.endpoint,
        where.dialect.value if where.dialect is not None else None,
    ]
    if not where.newest_first:
        return FIND, args
    before_at, before_id = where.before if where.before is not None else (None, None)
    unsettled = where.states and models.CallbackState.SUCCEEDED not in where.states
    return (FIND_NEWEST_UNSETTLED if unsettled else FIND_NEWEST), [*args, before_at, before_id]


class PostgresDispatch(wakes.Wakes, core.PostgresCore):
    """Endpoint health, release, cancel, replay and the LISTEN wake-up."""

    _listener: asyncpg.Connection | None = None
    _subscribing: asyncio.Future[None] | None = None

    def _on_notify(self, *_: Any) -> None:
        self._notify_callbacks()

    async def wait_for_callbacks(self, within_s: float) -> None:
        due = self._due()
        if self._listener is None or self._listener.is_closed():
            await self._listen()
        if not due.is_set():
            # `asyncio.timeout`, not `wait_for`: no task of its own, so one step of the loop fewer to wake.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within_s):
                    await due.wait()
        due.clear()

    async def _listen(self) -> None:
        # One LISTEN connection a store, however many tasks wait: a second waiter arriving while the first
        # connects waits for that connection instead of opening (and leaking) one of its own.
        if self._subscribing is None:
            self._subscribing = asyncio.get_running_loop().create_future()
            try:
                # A fresh connection of its own: pooled connections are reset on release, which drops LISTEN.
                listener = await asyncpg.connect(self.url)
                await listener.add_listener(core.CALLBACKS_CHANNEL, self._on_notify)
                self._listener = listener
            finally:
                subscribing, self._subscribing = self._subscribing, None
                subscribing.set_result(None)
        else:
            await asyncio.shield(self._subscribing)

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await listener.close()
        await super().close()

    async def release_callbacks(
        self, owner: str, due: list[tuple[str, dt.datetime]], now: dt.datetime
    ) -> None:
        if not due:
            return
        pool = await self.pool()
        await pool.execute(RELEASE, [cid for cid, _ in due], [at for _, at in due], now, owner)

    async def defer_endpoint_callbacks(self, health_key: str, until: dt.datetime, now: dt.datetime) -> int:
        pool = await self.pool()
        return core.affected(await pool.execute(DEFER_ENDPOINT, health_key, until, now))

    async def advance_endpoint_callbacks(self, health_key: str, until: dt.datetime, now: dt.datetime) -> int:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            count = core.affected(await conn.execute(ADVANCE_ENDPOINT, health_key, until, now))
            if count:
                await conn.execute(NOTIFY, core.CALLBACKS_CHANNEL)
        return count

    async def cancel_callbacks(self, ids: list[str], now: dt.datetime) -> int:
        if not ids:
            return 0
        pool = await self.pool()
        return core.affected(await pool.execute(CANCEL, ids, now))

    async def cancel_endpoint_callbacks(self, health_key: str, now: dt.datetime) -> int:
        pool = await self.pool()
        return core.affected(await pool.execute(CANCEL_ENDPOINT, health_key, now))

    async def find_callbacks(self, where: nouns.CallbackFilter) -> list[models.Callback]:
        pool = await self.pool()
        sql, args = find_query(where)
        found = await pool.fetch(sql, *args)
        return [rows.from_row(models.Callback, r) for r in found]

    async def requeue_callbacks(self, changes: list[tuple[str, str, str, str]], now: dt.datetime) -> int:
        if not changes:
            return 0
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                REQUEUE,
                [c[0] for c in changes],
                [c[1] for c in changes],
                [c[2] for c in changes],
                now,
                [c[3] for c in changes],
            )
            await conn.execute(NOTIFY, core.CALLBACKS_CHANNEL)
        return core.affected(status)

    async def get_endpoints(self, endpoints: list[str]) -> dict[str, models.Endpoint]:
        if not endpoints:
            return {}
        pool = await self.pool()
        found = await pool.fetch(GET_ENDPOINTS, endpoints)
        return {r["endpoint"]: rows.from_row(models.Endpoint, r) for r in found}

    async def put_endpoints(
        self, endpoints: list[models.Endpoint], *, overrule: bool = False
    ) -> list[models.Endpoint]:
        if not endpoints:
            return []
        pool = await self.pool()
        written = await pool.fetch(
            UPSERT_ENDPOINTS + " RETURNING endpoint" if overrule else UPSERT_ENDPOINTS + KEEP_PAUSE,
            [e.endpoint for e in endpoints],
            [e.state.value for e in endpoints],
            [e.consecutive_failures for e in endpoints],
            [e.failing_since for e in endpoints],
            [e.paused_until for e in endpoints],
            [e.updated_at for e in endpoints],
        )
        kept = {e.endpoint for e in endpoints} - {r["endpoint"] for r in written}
        return list((await self.get_endpoints(sorted(kept))).values()) if kept else []

    async def recent_failures(
        self, endpoints: list[str], per_endpoint: int
    ) -> dict[str, list[models.Attempt]]:
        limit = max(0, min(per_endpoint, nouns.MAX_RECENT_FAILURES))
        pool = await self.pool()
        found = await pool.fetch(RECENT_FAILURES, endpoints[:1000], limit)
        out: dict[str, list[models.Attempt]] = {e: [] for e in endpoints[:1000]}
        for r in found:
            row = dict(r)
            out[row.pop("endpoint")].append(rows.from_row(models.Attempt, row))
        return out

    async def list_endpoints(
        self, states: tuple[models.EndpointState, ...] = (), *, account_id: str | None = None
    ) -> list[models.Endpoint]:
        pool = await self.pool()
        found = await pool.fetch(LIST_ENDPOINTS, [s.value for s in states], account_id or "")
        return [rows.from_row(models.Endpoint, r) for r in found]

    async def count_endpoints(self) -> dict[models.EndpointState, int]:
        pool = await self.pool()
        found = await pool.fetch(COUNT_ENDPOINTS)
        counts = dict.fromkeys(models.EndpointState, 0)
        counts.update({models.EndpointState(r["state"]): r["n"] for r in found})
        return counts
