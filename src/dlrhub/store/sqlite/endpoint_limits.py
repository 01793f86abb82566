"""Rate limits per destination host on SQLite."""

from __future__ import annotations

import sqlite3

from dlrhub.core import control, token_bucket
from dlrhub.store import rows
from dlrhub.store.sqlite import core

UPSERT = (
    "INSERT INTO endpoint_limits (endpoint, rate_per_s, burst, set_by, updated_at)"
    " VALUES (:endpoint, :rate_per_s, :burst, :set_by, :updated_at)"
    " ON CONFLICT (endpoint) DO UPDATE SET rate_per_s = excluded.rate_per_s, burst = excluded.burst,"
    " set_by = excluded.set_by, updated_at = excluded.updated_at"
)

TOKENS = "SELECT rate_per_s, burst, tokens, tokens_at FROM endpoint_limits WHERE endpoint = ?"
SET_TOKENS = "UPDATE endpoint_limits SET tokens = ?, tokens_at = ? WHERE endpoint = ?"
#: Read through the pending callbacks' partial index (`callbacks_endpoint_due`): a customer token can ask it, so
#: it never scans every callback ever kept.
SHARED = "SELECT 1 FROM callbacks WHERE endpoint = ? AND state = 'pending' AND account_id <> ? LIMIT 1"


class SqliteEndpointLimits(core.SqliteCore):
    """Rate limits per destination host."""

    async def put_endpoint_limit(self, limit: control.EndpointLimit) -> None:
        row = rows.to_row(limit, core.BACKEND)
        await self._tx(lambda conn: conn.execute(UPSERT, row))

    async def get_endpoint_limit(self, endpoint: str) -> control.EndpointLimit | None:
        sql = "SELECT * FROM endpoint_limits WHERE endpoint = ?"
        row = await self._read(lambda c: c.execute(sql, (endpoint,)).fetchone())
        return None if row is None else rows.from_row(control.EndpointLimit, row)

    async def list_endpoint_limits(self) -> list[control.EndpointLimit]:
        found = await self._read(
            lambda c: c.execute("SELECT * FROM endpoint_limits ORDER BY endpoint").fetchall()
        )
        return [rows.from_row(control.EndpointLimit, r) for r in found]

    async def delete_endpoint_limit(self, endpoint: str) -> bool:
        sql = "DELETE FROM endpoint_limits WHERE endpoint = ?"
        return bool(await self._tx(lambda conn: conn.execute(sql, (endpoint,)).rowcount == 1))

    async def endpoint_shared(self, endpoint: str, account_id: str) -> bool:
        row = await self._read(lambda c: c.execute(SHARED, (endpoint, account_id)).fetchone())
        return row is not None

    async def take_endpoint_tokens(self, endpoint: str, want: int, now: float) -> token_bucket.Taken | None:
        def run(conn: sqlite3.Connection) -> token_bucket.Taken | None:
            row = conn.execute(TOKENS, (endpoint,)).fetchone()
            if row is None:
                return None
            taken = token_bucket.take(
                row["tokens"], row["tokens_at"], row["rate_per_s"], row["burst"], want, now
            )
            conn.execute(SET_TOKENS, (taken.tokens, taken.at, endpoint))
            return taken

        return await self._tx(run)  # the one writer: no other dispatcher reads the row meanwhile
