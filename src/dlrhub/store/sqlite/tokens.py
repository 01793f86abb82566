"""Named API tokens on SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3

from dlrhub.core import control, errors
from dlrhub.store import rows
from dlrhub.store.sqlite import core

INSERT_ROW = (
    "INSERT INTO tokens (id, name, kind, account_id, token_hash, prefix, created_at, created_by, last_used_at,"
    " revoked_at) VALUES (:id, :name, :kind, :account_id, :token_hash, :prefix, :created_at, :created_by,"
    " :last_used_at, :revoked_at)"
)
BY_DIGEST = "SELECT * FROM tokens WHERE token_hash = ?"
BY_ID = "SELECT * FROM tokens WHERE id = ?"
ALL_ROWS = "SELECT * FROM tokens ORDER BY created_at, id"
REVOKE = "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
TOUCH = "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)"


class SqliteTokens(core.SqliteCore):
    """Named API tokens."""

    async def create_token(self, token: control.Token) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(INSERT_ROW, rows.to_row(token, core.BACKEND))
            except sqlite3.IntegrityError as exc:
                raise errors.Conflict(f"a token named {token.name!r} exists already") from exc

        await self._tx(run)

    async def find_token(self, token_hash: str) -> control.Token | None:
        row = await self._read(lambda c: c.execute(BY_DIGEST, (token_hash,)).fetchone())
        return None if row is None else rows.from_row(control.Token, row)

    async def list_tokens(self) -> list[control.Token]:
        found = await self._read(lambda c: c.execute(ALL_ROWS).fetchall())
        return [rows.from_row(control.Token, r) for r in found]

    async def revoke_token(self, token_id: str, now: dt.datetime) -> tuple[control.Token, bool]:
        def run(conn: sqlite3.Connection) -> tuple[control.Token, bool]:
            changed = conn.execute(REVOKE, (rows.ts(now, core.BACKEND), token_id)).rowcount == 1
            row = conn.execute(BY_ID, (token_id,)).fetchone()
            if row is None:
                raise errors.UnknownToken(f"no token {token_id!r}")
            return rows.from_row(control.Token, row), changed

        return await self._tx(run)

    async def touch_token(self, token_id: str, now: dt.datetime, stale_before: dt.datetime) -> None:
        args = (rows.ts(now, core.BACKEND), token_id, rows.ts(stale_before, core.BACKEND))
        await self._tx(lambda conn: conn.execute(TOUCH, args))
