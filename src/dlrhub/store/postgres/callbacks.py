"""The callback outbox on PostgreSQL: `FOR UPDATE SKIP LOCKED` claims under a lease, batched attempts."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator, Collection, Mapping

import asyncpg

from dlrhub.core import errors, models
from dlrhub.store import claims, outage, queues, rows
from dlrhub.store.postgres import core, messages

#: Counts kept by the statement triggers of migration 0014: a few rows per live backend.
COUNT_CALLBACKS = "SELECT dialect, state, sum(n)::bigint AS n FROM callback_counts GROUP BY dialect, state"
#: The advisory lock a fold holds (taken with `pg_try_advisory_xact_lock`: a second scrape does not wait).
FOLD_LOCK = 7_210_014
TRY_FOLD_LOCK = "SELECT pg_try_advisory_xact_lock($1)"
#: Rows of backends no longer running, summed into slot 0 (nobody writes a gone backend's rows: no waits).
FOLD_CALLBACK_COUNTS = """
WITH gone AS (
    DELETE FROM callback_counts c
    WHERE c.slot <> 0 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.slot)
    RETURNING dialect, state, n
)
INSERT INTO callback_counts (dialect, state, slot, n)
SELECT dialect, state, 0, sum(n) FROM gone GROUP BY dialect, state ORDER BY dialect, state
ON CONFLICT (dialect, state, slot) DO UPDATE SET n = callback_counts.n + EXCLUDED.n
"""
#: Limit 1 over the partial index `callbacks_due` (an index scan, never a sequential one).
OLDEST_PENDING_DUE = "SELECT due_at FROM callbacks WHERE state = 'pending' ORDER BY due_at LIMIT 1"

#: What the claims plan with: they run on connections started with these settings (`settings_pool`). Whichever
#: partial index of pending callbacks a claim reads, stale statistics (autovacuum off or lagging, a table analysed
#: while none was pending) make the planner expect one row in it, and then any index filtered, or read whole and
#: sorted, looks as cheap as the right one's seek; and a `LIMIT` taken from a column (the fair claim's `take`)
#: looks like reading much of each range even with fresh statistics (an account's whole backlog read through
#: `callbacks_undelivered` and incrementally sorted per destination walked: 40 s a claim with 1,000,000 pending).
#: So every read of the claims orders by the columns of the one index meant to serve it (the probe of earlier
#: callbacks of the same message included: `ORDER BY p.seq LIMIT 1` is served only by `callbacks_order`), and
#: sorting is priced out: with `enable_sort` and `enable_incremental_sort` off the only plan left without a sort
#: node is the seek of that index, whatever the statistics say. `jit` off: the priced-out sorts left in the plan
#: (the window functions over a few hundred rows) would make the cost look worth compiling (1.9 s of JIT a claim).
PLAN_BY_INDEX = {"enable_sort": "off", "enable_incremental_sort": "off", "jit": "off"}
#: Up to `$2` accounts with pending callbacks after `$1`, in order (`part` 1), then, when those are fewer and `$1`
#: is not the start, up to as many more from the first account on (`part` 2, the wrap of `claims.Turns`): loose
#: scans of `callbacks_account_due`, one seek per account however many callbacks each has. One statement for both
#: scans: each round trip of a claim waits for a turn of an event loop busy sending (docs/benchmarks.md "Fair
#: claims").
ACCOUNTS_PENDING = """
WITH RECURSIVE a AS (
    (SELECT account_id, 1 AS k FROM callbacks WHERE state = 'pending' AND account_id > $1
     ORDER BY account_id, endpoint LIMIT 1)
    UNION ALL
    SELECT n.account_id, a.k + 1 FROM a CROSS JOIN LATERAL (
        SELECT c.account_id FROM callbacks c WHERE c.state = 'pending' AND c.account_id > a.account_id
        ORDER BY c.account_id, c.endpoint LIMIT 1
    ) n
    WHERE a.k < $2
), b AS (
    (SELECT account_id, 1 AS k FROM callbacks
     WHERE state = 'pending' AND $1 <> '' AND (SELECT count(*) FROM a) < $2
     ORDER BY account_id, endpoint LIMIT 1)
    UNION ALL
    SELECT n.account_id, b.k + 1 FROM b CROSS JOIN LATERAL (
        SELECT c.account_id FROM callbacks c WHERE c.state = 'pending' AND c.account_id > b.account_id
        ORDER BY c.account_id, c.endpoint LIMIT 1
    ) n
    WHERE b.k < $2 - (SELECT count(*) FROM a)
)
SELECT 1 AS part, account_id, k FROM a UNION ALL SELECT 2, account_id, k FROM b ORDER BY part, k
"""
#: The fair claim. For each account of `$7` (in turn order), its destinations in `callbacks_account_due` (one seek
#: each: a destination of `$5` is skipped, never walked), until they hold `$2` claimable callbacks (at most `$9`
#: counted of each) or `$8` were looked at; of each destination walked its first `take` claimable callbacks in due
#: order (`$9`, or more, up to `$6`, when the walk found fewer than `$2`: see `store.claims`). Then round-robin: every account's first, then every account's second, ... at most `$6` per destination
#: and `$2` in all. Whatever one account has queued, the others' due callbacks are in the claim. Candidates not
#: taken are locked only for this statement.
#: An account's and a destination's rows are named by ranges of (account_id, endpoint[, due_at]) rows, not by
#: equalities: with equalities the planner, which has no statistics for one account's part of the table, may
#: take another index in the same order and filter it (walking a big account's backlog for a small one's rows).
#: Planned under `PLAN_BY_INDEX`: each read's order is then `callbacks_account_due`'s or `callbacks_order`'s alone.
CLAIM_DUE = """
WITH RECURSIVE walk AS (
    SELECT a.account_id, a.pos, f.endpoint, 0::bigint AS k, 0 AS s
    FROM unnest($7::text[]) WITH ORDINALITY AS a(account_id, pos)
    CROSS JOIN LATERAL (
        SELECT c.account_id, c.endpoint FROM callbacks c
        WHERE c.state = 'pending' AND (c.account_id, c.endpoint) > (a.account_id, '')
        ORDER BY c.account_id, c.endpoint LIMIT 1
    ) f
    WHERE f.account_id = a.account_id
    UNION ALL
    SELECT w.account_id, w.pos, n.endpoint, w.k + u.due, w.s + 1
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT CASE WHEN w.endpoint = ANY($5::text[]) THEN 0 ELSE (
            SELECT count(*) FROM (
                SELECT 1 FROM callbacks c
                WHERE c.state = 'pending' AND (c.account_id, c.endpoint, c.due_at) >= (w.account_id, w.endpoint, '-infinity')
                  AND (c.account_id, c.endpoint, c.due_at) <= (w.account_id, w.endpoint, $1)
                  AND (c.lease_until IS NULL OR c.lease_until < $1)
                  AND c.seq <= (SELECT p.seq FROM callbacks p WHERE p.order_key = c.order_key AND p.state = 'pending'
                                ORDER BY p.seq LIMIT 1)
                ORDER BY c.account_id, c.endpoint, c.due_at LIMIT $9
            ) r
        ) END AS due
    ) u
    CROSS JOIN LATERAL (
        SELECT c.account_id, c.endpoint FROM callbacks c
        WHERE c.state = 'pending' AND (c.account_id, c.endpoint) > (w.account_id, w.endpoint)
        ORDER BY c.account_id, c.endpoint LIMIT 1
    ) n
    WHERE n.account_id = w.account_id AND w.s < $8 AND w.k + u.due < $2
), counted AS (
    SELECT l.pos, coalesce(l.next_k - l.k, $9) AS c FROM (
        SELECT pos, endpoint, k, lead(k) OVER (PARTITION BY pos ORDER BY s) AS next_k FROM walk
    ) l
    WHERE l.endpoint <> ALL($5::text[])
), width AS (
    SELECT pos, CASE WHEN sum(c) >= $2 THEN $9::bigint
      ELSE least($6, $9 + ($2 - sum(c)::bigint + greatest(1, count(*) FILTER (WHERE c >= $9)) - 1)
                         / greatest(1, count(*) FILTER (WHERE c >= $9))) END AS take
    FROM counted GROUP BY pos
), picked AS (
    SELECT d.id, d.ctid, d.endpoint, d.due_at, w.pos FROM walk w
    JOIN width t ON t.pos = w.pos
    CROSS JOIN LATERAL (
        SELECT c.id, c.ctid, c.endpoint, c.due_at FROM callbacks c
        WHERE c.state = 'pending' AND (c.account_id, c.endpoint, c.due_at) >= (w.account_id, w.endpoint, '-infinity')
          AND (c.account_id, c.endpoint, c.due_at) <= (w.account_id, w.endpoint, $1)
          AND (c.lease_until IS NULL OR c.lease_until < $1)
          AND c.seq <= (
            SELECT p.seq FROM callbacks p WHERE p.order_key = c.order_key AND p.state = 'pending' ORDER BY p.seq LIMIT 1
          )
        ORDER BY c.account_id, c.endpoint, c.due_at
        LIMIT t.take
        FOR UPDATE SKIP LOCKED
    ) d
    WHERE w.endpoint <> ALL($5::text[])
), turns AS (
    SELECT ctid, endpoint, pos, row_number() OVER (PARTITION BY pos ORDER BY due_at, id) AS turn FROM picked
), due AS (
    SELECT q.ctid FROM (
        SELECT ctid, pos, turn, row_number() OVER (PARTITION BY endpoint ORDER BY turn, pos) AS n FROM turns
    ) q
    WHERE q.n <= $6
    ORDER BY q.turn, q.pos
    LIMIT $2
)
UPDATE callbacks SET lease_until = $3, lease_owner = $4
WHERE callbacks.ctid = ANY(ARRAY(SELECT ctid FROM due))
RETURNING callbacks.*
"""
#: The first `$2` claimable callbacks of each destination `$1[i]`, in due order (`callbacks_endpoint_due`: under
#: `PLAN_BY_INDEX` the only index in (endpoint, due_at) order; with an equality on the endpoint `callbacks_due`
#: is in that order too, and stale statistics chose it, filtering every destination's backlog).
#: Both claims lease their rows by `ctid = ANY(ARRAY(...))`, a fetch by address each (a TID scan): joining the
#: chosen ids instead let the planner, guessing how many the lateral limits leave, hash-join a sequential scan of
#: the whole table (585 ms a claim with 1,000,000 pending, against 5 ms); by `id = ANY(...)` each was a descent of
#: `callbacks_pkey` (its text keys sorted and compared first), about a quarter of a 64-row lease. A row that another
#: transaction changed (and committed) after this statement began, yet still claimable, is locked under its new
#: address but named by its old one, so it is left out of this claim (still pending, for the next one), never
#: leased twice: other workers' leases are rechecked out under `FOR UPDATE` either way.
CLAIM_ENDPOINTS = """
WITH due AS (
    SELECT d.ctid FROM unnest($1::text[], $2::int[]) AS w(endpoint, n)
    CROSS JOIN LATERAL (
        SELECT c.ctid FROM callbacks c
        WHERE c.state = 'pending' AND (c.endpoint, c.due_at) >= (w.endpoint, '-infinity')
          AND (c.endpoint, c.due_at) <= (w.endpoint, $3)
          AND (c.lease_until IS NULL OR c.lease_until < $3)
          AND c.seq <= (
            SELECT p.seq FROM callbacks p WHERE p.order_key = c.order_key AND p.state = 'pending' ORDER BY p.seq LIMIT 1
          )
        ORDER BY c.endpoint, c.due_at
        LIMIT w.n
        FOR UPDATE SKIP LOCKED
    ) d
)
UPDATE callbacks SET lease_until = $4, lease_owner = $5
WHERE callbacks.ctid = ANY(ARRAY(SELECT ctid FROM due))
RETURNING callbacks.*
"""
#: A flush's attempts and its callbacks' outcomes in one statement (one round trip, its own transaction): in a
#: transaction of their own the two took four (BEGIN, INSERT, UPDATE, COMMIT), and the server process sat idle in
#: the transaction between them while the worker's event loop was busy sending.
RECORD_ATTEMPTS = """
WITH recorded AS (
    INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome, status_code, response, error,
                          retry_after_s)
    SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::float8[], $5::text[], $6::int[],
                         $7::text[], $8::text[], $9::float8[])
)
UPDATE callbacks SET state = u.state, due_at = COALESCE(u.due_at, callbacks.due_at), attempts = u.number,
    last_outcome = u.outcome, last_status = u.status_code, lease_until = NULL, lease_owner = NULL, updated_at = $12
FROM unnest($1::text[], $10::text[], $11::timestamptz[], $2::int[], $5::text[], $6::int[])
    AS u(id, state, due_at, number, outcome, status_code)
WHERE callbacks.id = u.id
"""

#: `enqueue_callbacks`: a row comes back only when it was new.
ENQUEUE = messages.INSERT_CALLBACK + " RETURNING id"
#: A callback's attempts. None starts before the callback was made, so the days' partitions before it (a day's
#: margin for clocks that disagree between hosts) are pruned when the statement runs: one index probe per day
#: since, not one per partition kept.
ATTEMPTS_OF = """
SELECT * FROM attempts
WHERE callback_id = $1 AND started_at >= (SELECT created_at FROM callbacks WHERE id = $1) - interval '1 day'
ORDER BY number, id
"""
#: The `callbacks_due` index's first entry.
OLDEST_DUE = "SELECT * FROM callbacks WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at LIMIT 1"


class PostgresCallbacks(core.PostgresCore):
    """Claiming, recording and listing callbacks."""

    @functools.cached_property
    def _turns(self) -> claims.Turns:
        """Where this process's next claim starts in the accounts' order (each process takes its own turns)."""
        return claims.Turns()

    async def _claims_pool(self) -> asyncpg.Pool:
        return await self.settings_pool("claims", PLAN_BY_INDEX)

    @functools.cached_property
    def _releasing(self) -> set[asyncio.Task[None]]:
        return set()

    @contextlib.asynccontextmanager
    async def _claims_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the claims' pool, given back once the claim has its answer: asyncpg's release is a task
        of its own, a turn of the loop the claim would wait for, and a loop busy sending takes milliseconds a turn
        (docs/benchmarks.md "Fair claims")."""
        pool = await self._claims_pool()
        conn = await pool.acquire()
        try:
            yield conn
        finally:
            task = asyncio.ensure_future(pool.release(conn))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def claim_due_callbacks(
        self,
        owner: str,
        now: dt.datetime,
        limit: int,
        lease_s: float,
        *,
        quota: int | None = None,
        exclude: Collection[str] = (),
    ) -> list[models.Callback]:
        until = now + dt.timedelta(seconds=lease_s)
        step: claims.Pass | None = claims.Pass(limit, limit if quota is None else quota, frozenset(exclude))
        turns, n = self._turns, claims.accounts(limit)
        found = []
        async with self._claims_connection() as conn:
            scanned = await conn.fetch(ACCOUNTS_PENDING, turns.after, n)
            first = [r["account_id"] for r in scanned if r["part"] == 1]
            wrapped = [r["account_id"] for r in scanned if r["part"] == 2]
            accounts = turns.take(n, first, wrapped if turns.wraps(first, n) else [])
            for _ in range(claims.PASSES if accounts else 0):
                if step is None:
                    break
                skip = sorted(step.exclude)
                got = await conn.fetch(
                    CLAIM_DUE,
                    now,
                    step.limit,
                    until,
                    owner,
                    skip,
                    step.quota,
                    accounts,
                    step.steps,
                    step.share,
                )
                found += got
                step = step.then(r["endpoint"] for r in got)
        claimed = rows.from_rows(models.Callback, found)
        claimed.sort(key=lambda c: c.due_at)
        return claimed

    async def claim_endpoint_callbacks(
        self, owner: str, now: dt.datetime, limits: Mapping[str, int], lease_s: float
    ) -> list[models.Callback]:
        if not limits:
            return []
        until = now + dt.timedelta(seconds=lease_s)
        async with self._claims_connection() as conn:
            found = await conn.fetch(CLAIM_ENDPOINTS, list(limits), list(limits.values()), now, until, owner)
        claimed = rows.from_rows(models.Callback, found)
        claimed.sort(key=lambda c: c.due_at)
        return claimed

    async def record_attempts(self, results: list[queues.AttemptResult], now: dt.datetime) -> None:
        if not results:
            return
        attempts = [r.attempt for r in results]
        pool = await self.pool()
        with outage.refused():
            await pool.execute(
                RECORD_ATTEMPTS,
                [a.callback_id for a in attempts],
                [a.number for a in attempts],
                [a.started_at for a in attempts],
                [a.duration_ms for a in attempts],
                [a.outcome.value for a in attempts],
                [a.status_code for a in attempts],
                [a.response for a in attempts],
                [a.error for a in attempts],
                [a.retry_after_s for a in attempts],
                [r.state.value for r in results],
                [r.due_at for r in results],
                now,
            )

    async def list_callbacks(self, message_id: str) -> list[models.Callback]:
        pool = await self.pool()
        found = await pool.fetch(
            "SELECT * FROM callbacks WHERE message_id = $1 ORDER BY seq, created_at", message_id
        )
        return [rows.from_row(models.Callback, r) for r in found]

    async def get_callback(self, callback_id: str) -> models.Callback:
        pool = await self.pool()
        row = await pool.fetchrow("SELECT * FROM callbacks WHERE id = $1", callback_id)
        if row is None:
            raise errors.UnknownCallback(f"no callback {callback_id!r}")
        return rows.from_row(models.Callback, row)

    async def list_attempts(self, callback_id: str) -> list[models.Attempt]:
        pool = await self.pool()
        found = await pool.fetch(ATTEMPTS_OF, callback_id)
        return [rows.from_row(models.Attempt, r) for r in found]

    async def count_callbacks(self) -> dict[models.CallbackState, int]:
        return rows.counts_by_state(await self.callback_counts())

    async def callback_counts(self) -> dict[tuple[models.Dialect, models.CallbackState], int]:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            # Fold the rows of backends that have gone into slot 0, one folder at a time (the others skip it).
            if await conn.fetchval(TRY_FOLD_LOCK, FOLD_LOCK):
                await conn.execute(FOLD_CALLBACK_COUNTS)
            found = await conn.fetch(COUNT_CALLBACKS)
        return rows.callback_counts((r["dialect"], r["state"], r["n"]) for r in found)

    async def oldest_pending_due_at(self) -> dt.datetime | None:
        pool = await self.pool()
        found = await pool.fetchval(OLDEST_PENDING_DUE)
        return None if found is None else rows.timestamp(found)

    async def enqueue_callbacks(self, callbacks: list[models.Callback]) -> int:
        if not callbacks:
            return 0
        pool = await self.pool()
        added = 0
        async with pool.acquire() as conn, conn.transaction():
            for callback in callbacks:
                crow = rows.to_row(callback, core.BACKEND)
                if await conn.fetchval(ENQUEUE, *(crow[c] for c in messages.CALLBACK_ORDER)) is not None:
                    added += 1
            if added:
                await conn.execute("SELECT pg_notify($1, '')", core.CALLBACKS_CHANNEL)
        return added

    async def oldest_due_callback(self, now: dt.datetime) -> models.Callback | None:
        pool = await self.pool()
        row = await pool.fetchrow(OLDEST_DUE, now)
        return None if row is None else rows.from_row(models.Callback, row)
