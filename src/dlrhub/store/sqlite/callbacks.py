"""The callback outbox on SQLite: claiming due callbacks under a lease and recording attempts."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection, Mapping

import orjson

from dlrhub.core import errors, models
from dlrhub.store import queues, rows
from dlrhub.store.sqlite import core, messages

# One statement each, whatever the batch size: fewer, larger statements cost less than one per row (they were
# chosen when a writer thread shared the GIL with the loop; they still save the per-statement overhead).
#: The first `:limit` claimable callbacks in due order, skipping the destinations in `:exclude` (a JSON array: the
#: dispatcher holds enough of them already), and of those at most `:quota` per destination, so one destination's
#: backlog never fills a claim that it would have to give back.
CLAIM_DUE = """
UPDATE callbacks SET lease_until = :until, lease_owner = :owner
WHERE id IN (
  SELECT d.id FROM (
    SELECT f.id, row_number() OVER (PARTITION BY f.endpoint ORDER BY f.due_at, f.id) AS n FROM (
      SELECT c.id, c.endpoint, c.due_at FROM callbacks c
      WHERE c.state = 'pending' AND c.due_at <= :now AND (c.lease_until IS NULL OR c.lease_until < :now)
        AND c.endpoint NOT IN (SELECT value FROM json_each(:exclude))
        AND NOT EXISTS (
          SELECT 1 FROM callbacks p WHERE p.order_key = c.order_key AND p.seq < c.seq AND p.state = 'pending'
        )
      ORDER BY c.due_at
      LIMIT :limit
    ) f
  ) d
  WHERE d.n <= :quota
)
RETURNING *
"""
#: The first `:limit` claimable callbacks of one destination, in due order (the `callbacks_endpoint_due` index).
CLAIM_ENDPOINT = """
UPDATE callbacks SET lease_until = :until, lease_owner = :owner
WHERE id IN (
  SELECT c.id FROM callbacks c
  WHERE c.endpoint = :endpoint AND c.state = 'pending' AND c.due_at <= :now
    AND (c.lease_until IS NULL OR c.lease_until < :now)
    AND NOT EXISTS (
      SELECT 1 FROM callbacks p WHERE p.order_key = c.order_key AND p.seq < c.seq AND p.state = 'pending'
    )
  ORDER BY c.due_at
  LIMIT :limit
)
RETURNING *
"""
#: Counts kept by the triggers of migration 0014 (one row per dialect and state).
COUNT_CALLBACKS = "SELECT dialect, state, sum(n) AS n FROM callback_counts GROUP BY dialect, state"
#: MIN over the partial index `callbacks_due`: SQLite reads its first entry.
OLDEST_PENDING_DUE = "SELECT min(due_at) FROM callbacks WHERE state = 'pending'"
#: `:batch` is a JSON array of [callback_id, number, started_at, duration_ms, outcome, status_code, response,
#: error, retry_after_s, state, due_at] rows.
INSERT_ATTEMPTS = """
INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome, status_code, response, error,
                      retry_after_s)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
       value ->> 8
FROM json_each(:batch)
"""
FINISH_ATTEMPTS = """
UPDATE callbacks SET state = u.value ->> 9, due_at = COALESCE(u.value ->> 10, callbacks.due_at),
    attempts = u.value ->> 1, last_outcome = u.value ->> 4, last_status = u.value ->> 5, lease_until = NULL,
    lease_owner = NULL, updated_at = :now
FROM json_each(:batch) AS u
WHERE callbacks.id = u.value ->> 0
"""

#: The `callbacks_due` index's first entry.
OLDEST_DUE = "SELECT * FROM callbacks WHERE state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 1"


class SqliteCallbacks(core.SqliteCore):
    """Claiming, recording and listing callbacks."""

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
        params = {
            "now": now.timestamp(),
            "limit": limit,
            "until": now.timestamp() + lease_s,
            "owner": owner,
            "quota": limit if quota is None else quota,
            "exclude": orjson.dumps(sorted(exclude)).decode(),
        }

        def run(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            return conn.execute(CLAIM_DUE, params).fetchall()

        found = rows.from_rows(models.Callback, await self._tx(run))
        found.sort(key=lambda c: c.due_at)
        return found

    async def claim_endpoint_callbacks(
        self, owner: str, now: dt.datetime, limits: Mapping[str, int], lease_s: float
    ) -> list[models.Callback]:
        until = now.timestamp() + lease_s

        def run(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            found: list[sqlite3.Row] = []
            for endpoint, limit in limits.items():
                params = {"now": now.timestamp(), "limit": limit, "until": until, "owner": owner}
                found += conn.execute(CLAIM_ENDPOINT, {**params, "endpoint": endpoint}).fetchall()
            return found

        found = rows.from_rows(models.Callback, await self._tx(run))
        found.sort(key=lambda c: c.due_at)
        return found

    async def record_attempts(self, results: list[queues.AttemptResult], now: dt.datetime) -> None:
        if not results:
            return
        batch = orjson.dumps(
            [
                (
                    a.callback_id,
                    a.number,
                    a.started_at.timestamp(),
                    a.duration_ms,
                    a.outcome.value,
                    a.status_code,
                    a.response,
                    a.error,
                    a.retry_after_s,
                    r.state.value,
                    None if r.due_at is None else r.due_at.timestamp(),
                )
                for r in results
                for a in (r.attempt,)
            ]
        ).decode()
        params = {"batch": batch, "now": now.timestamp()}

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(INSERT_ATTEMPTS, {"batch": batch})
            conn.execute(FINISH_ATTEMPTS, params)

        await self._tx(run)

    async def list_callbacks(self, message_id: str) -> list[models.Callback]:
        found = await self._read(
            lambda c: c.execute(
                "SELECT * FROM callbacks WHERE message_id = ? ORDER BY seq, created_at", (message_id,)
            ).fetchall()
        )
        return [rows.from_row(models.Callback, r) for r in found]

    async def get_callback(self, callback_id: str) -> models.Callback:
        row = await self._read(
            lambda c: c.execute("SELECT * FROM callbacks WHERE id = ?", (callback_id,)).fetchone()
        )
        if row is None:
            raise errors.UnknownCallback(f"no callback {callback_id!r}")
        return rows.from_row(models.Callback, row)

    async def list_attempts(self, callback_id: str) -> list[models.Attempt]:
        found = await self._read(
            lambda c: c.execute(
                "SELECT * FROM attempts WHERE callback_id = ? ORDER BY number, id", (callback_id,)
            ).fetchall()
        )
        return [rows.from_row(models.Attempt, r) for r in found]

    async def count_callbacks(self) -> dict[models.CallbackState, int]:
        return rows.counts_by_state(await self.callback_counts())

    async def callback_counts(self) -> dict[tuple[models.Dialect, models.CallbackState], int]:
        found = await self._read(lambda c: c.execute(COUNT_CALLBACKS).fetchall())
        return rows.callback_counts((r["dialect"], r["state"], r["n"]) for r in found)

    async def oldest_pending_due_at(self) -> dt.datetime | None:
        found = await self._read(lambda c: c.execute(OLDEST_PENDING_DUE).fetchone())
        return None if found is None or found[0] is None else rows.timestamp(found[0])

    async def enqueue_callbacks(self, callbacks: list[models.Callback]) -> int:
        if not callbacks:
            return 0

        def run(conn: sqlite3.Connection) -> int:
            return sum(
                conn.execute(messages.INSERT_CALLBACK, rows.to_row(c, core.BACKEND)).rowcount
                for c in callbacks
            )

        added = await self._tx(run)
        if added:
            self._notify_callbacks()
        return added

    async def oldest_due_callback(self, now: dt.datetime) -> models.Callback | None:
        row = await self._read(lambda c: c.execute(OLDEST_DUE, (now.timestamp(),)).fetchone())
        return None if row is None else rows.from_row(models.Callback, row)
