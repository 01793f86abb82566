"""Rate limits per destination host on PostgreSQL."""

from __future__ import annotations

from dlrhub.core import control
from dlrhub.store import rows
from dlrhub.store.postgres import core

UPSERT_SUFFIX = (
    "ON CONFLICT (endpoint) DO UPDATE SET rate_per_s = excluded.rate_per_s, burst = excluded.burst,"
    " set_by = excluded.set_by, updated_at = excluded.updated_at"
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
