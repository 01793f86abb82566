"""Named API tokens on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import asyncpg

from dlrhub.core import control, errors
from dlrhub.store import rows
from dlrhub.store.postgres import core

BY_DIGEST = "SELECT * FROM tokens WHERE token_hash = $1"
ALL_ROWS = "SELECT * FROM tokens ORDER BY created_at, id"
#: Revokes a token not yet revoked, and answers the token as it stands after either way, and whether it changed.
REVOKE = (
    "WITH revoked AS (UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *)"
    " SELECT *, true AS changed FROM revoked"
    " UNION ALL SELECT *, false FROM tokens WHERE id = $1 AND NOT EXISTS (SELECT FROM revoked)"
)
TOUCH = "UPDATE tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)"


class PostgresTokens(core.PostgresCore):
    """Named API tokens."""

    async def create_token(self, token: control.Token) -> None:
        pool = await self.pool()
        try:
            await pool.execute(*core.insert_sql("tokens", rows.to_row(token, core.BACKEND)))
        except asyncpg.UniqueViolationError as exc:
            raise errors.Conflict(f"a token named {token.name!r} exists already") from exc

    async def find_token(self, token_hash: str) -> control.Token | None:
        pool = await self.pool()
        row = await pool.fetchrow(BY_DIGEST, token_hash)
        return None if row is None else rows.from_row(control.Token, row)

    async def list_tokens(self) -> list[control.Token]:
        pool = await self.pool()
        return [rows.from_row(control.Token, r) for r in await pool.fetch(ALL_ROWS)]

    async def revoke_token(self, token_id: str, now: dt.datetime) -> tuple[control.Token, bool]:
        pool = await self.pool()
        row = await pool.fetchrow(REVOKE, token_id, now)
        if row is None:
            raise errors.UnknownToken(f"no token {token_id!r}")
        return rows.from_row(control.Token, row), bool(row["changed"])

    async def touch_token(self, token_id: str, now: dt.datetime, stale_before: dt.datetime) -> None:
        pool = await self.pool()
        await pool.execute(TOUCH, token_id, now, stale_before)
