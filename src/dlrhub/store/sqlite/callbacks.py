"""The callback outbox on SQLite: claiming due callbacks under a lease and recording attempts."""

from __future__ import annotations

import datetime as dt
import sqlite3

from dlrhub import errors, models
from dlrhub.store import base, rows
from dlrhub.store.sqlite import core

CLAIM_DUE = """
SELECT c.* FROM callbacks c
WHERE c.state = 'pending' AND c.due_at <= :now AND (c.lease_until IS NULL OR c.lease_until < :now)
  AND NOT EXISTS (
    SELECT 1 FROM callbacks p WHERE p.order_key = c.order_key AND p.seq < c.seq AND p.state = 'pending'
  )
ORDER BY c.due_at
LIMIT :limit
"""
LEASE = "UPDATE callbacks SET lease_until = ?, lease_owner = ? WHERE id = ?"
INSERT_ATTEMPT = (
    "INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome, status_code, response, error)"
    " VALUES (:callback_id, :number, :started_at, :duration_ms, :outcome, :status_code, :response, :error)"
)
FINISH_ATTEMPT = (
    "UPDATE callbacks SET state = :state, due_at = COALESCE(:due_at, due_at), attempts = :number,"
    " last_outcome = :outcome, last_status = :status_code, lease_until = NULL, lease_owner = NULL,"
    " updated_at = :now WHERE id = :callback_id"
)


class SqliteCallbacks(core.SqliteCore):
    """Claiming, recording and listing callbacks."""

    async def claim_due_callbacks(
        self, owner: str, now: dt.datetime, limit: int, lease_s: float
    ) -> list[models.Callback]:
        def run(conn: sqlite3.Connection) -> list[models.Callback]:
            found = conn.execute(CLAIM_DUE, {"now": now.timestamp(), "limit": limit}).fetchall()
            until = now.timestamp() + lease_s
            conn.executemany(LEASE, [(until, owner, r["id"]) for r in found])
            return [rows.from_row(models.Callback, r) for r in found]

        return await self._tx(run)

    async def record_attempts(self, results: list[base.AttemptResult], now: dt.datetime) -> None:
        if not results:
            return

        def run(conn: sqlite3.Connection) -> None:
            params = []
            for result in results:
                row = rows.to_row(result.attempt, core.BACKEND)
                row.update(
                    state=result.state.value,
                    due_at=None if result.due_at is None else result.due_at.timestamp(),
                    now=now.timestamp(),
                )
                params.append(row)
            conn.executemany(INSERT_ATTEMPT, params)
            conn.executemany(FINISH_ATTEMPT, params)

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
        found = await self._read(
            lambda c: c.execute("SELECT state, count(*) AS n FROM callbacks GROUP BY state").fetchall()
        )
        counts = dict.fromkeys(models.CallbackState, 0)
        counts.update({models.CallbackState(r["state"]): r["n"] for r in found})
        return counts
