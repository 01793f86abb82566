"""Rate limits per destination host on PostgreSQL."""

from __future__ import annotations

from dlrhub.core import control, token_bucket
from dlrhub.store import rows
from dlrhub.store.postgres import core

UPSERT_SUFFIX = (
    "ON CONFLICT (endpoint) DO UPDATE SET rate_per_s = excluded.rate_per_s, burst = excluded.burst,"
    " set_by = excluded.set_by, updated_at = excluded.updated_at"
)

#: `core.token_bucket.take` on the row, in one statement: the row lock (`FOR UPDATE`) makes a concurrent take wait
#: and then read the tokens this one left.
TAKE_TOKENS = """
WITH cur AS (
    SELECT endpoint, rate_per_s,
        LEAST(burst::float8, COALESCE(tokens, burst) + GREATEST(0, $3::float8 - COALESCE(tokens_at, $3::float8))
            * rate_per_s) AS have,
        GREATEST(COALESCE(tokens_at, $3::float8), $3::float8) AS at
    FROM endpoint_limits WHERE endpoint = $1 FOR UPDATE
), took AS (
    SELECT endpoint, rate_per_s, have, at, GREATEST(0, LEAST($2::int, floor(have + 1e-6)::int)) AS granted FROM cur
)
UPDATE endpoint_limits AS e SET tokens = took.have - took.granted, tokens_at = took.at
FROM took WHERE e.endpoint = took.endpoint
RETURNING took.granted, e.tokens, e.tokens_at, e.rate_per_s
"""

#: Read through the pending callbacks' partial index (`callbacks_endpoint_due`): a customer token can ask it, so
#: it never scans every callback ever kept.
SHARED = (
    "SELECT EXISTS (SELECT 1 FROM callbacks WHERE endpoint = $1 AND state = 'pending' AND account_id <> $2)"
)


class PostgresEndpointLimits(core.PostgresCore):
    """Rate limits per destination host."""

    async def put_endpoint_limit(self, limit: control.EndpointLimit) -> None:
        pool = await self.pool()
        await pool.execute(
            *core.insert_sql("endpoint_limits", rows.to_row(limit, core.BACKEND), UPSERT_SUFFIX)
        )

    async def get_endpoint_limit(self, endpoint: str) -> control.EndpointLimit | None:
        pool = await self.pool()
        row = await pool.fetchrow("SELECT * FROM endpoint_limits WHERE endpoint = $1", endpoint)
        return None if row is None else rows.from_row(control.EndpointLimit, row)

    async def list_endpoint_limits(self) -> list[control.EndpointLimit]:
        pool = await self.pool()
        found = await pool.fetch("SELECT * FROM endpoint_limits ORDER BY endpoint")
        return [rows.from_row(control.EndpointLimit, r) for r in found]

    async def delete_endpoint_limit(self, endpoint: str) -> bool:
        pool = await self.pool()
        status = await pool.execute("DELETE FROM endpoint_limits WHERE endpoint = $1", endpoint)
        return bool(status == "DELETE 1")

    async def endpoint_shared(self, endpoint: str, account_id: str) -> bool:
        pool = await self.pool()
        return bool(await pool.fetchval(SHARED, endpoint, account_id))

    async def take_endpoint_tokens(self, endpoint: str, want: int, now: float) -> token_bucket.Taken | None:
        pool = await self.pool()
        row = await pool.fetchrow(TAKE_TOKENS, endpoint, want, now)
        if row is None:
            return None
        wait_s = token_bucket.wait_s(row["tokens"], row["rate_per_s"])
        return token_bucket.Taken(row["granted"], row["tokens"], row["tokens_at"], wait_s)
