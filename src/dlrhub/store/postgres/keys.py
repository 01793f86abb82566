"""NXCloud apps created and changed, customer key pairs rotated (with the retired ones), signing secrets, on
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import asyncpg

from dlrhub.core import control, errors, models
from dlrhub.store import rows
from dlrhub.store.postgres import core

INSERT_APP = (
    "INSERT INTO apps (appkey, account_id, name, active, dr_url, quotation, currency, routed, oa_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
REPLACE_APP = (
    "UPDATE apps SET account_id = $2, name = $3, active = $4, dr_url = $5, quotation = $6, currency = $7,"
    " routed = $8, oa_id = $9 WHERE appkey = $1"
)
ALL_APPS = "SELECT * FROM apps ORDER BY account_id, appkey LIMIT $1"
#: The columns of each kind's current pair in `accounts` (names from this table only, never from input).
PAIR_COLUMNS = {
    control.KeyKind.ESMS: ("esms_api_key", "esms_secret_key"),
    control.KeyKind.NXCLOUD: ("nx_access_key", "nx_access_secret"),
}
ROTATE_PAIR = {
    kind: f"UPDATE accounts SET {key} = $1, {secret} = $2 WHERE id = $3 AND {key} = $4"
    for kind, (key, secret) in PAIR_COLUMNS.items()
}
INSERT_RETIRED = (
    "INSERT INTO retired_keys (kind, key, secret, account_id, valid_until) VALUES ($1, $2, $3, $4, $5)"
)
#: A rotation ends the account's earlier retired pairs of its kind no later than the pair it retires now: a pair
#: rotated out twice never outlives the one rotated out after it (an overlap of 0 stops them all).
CAP_RETIRED = (
    "UPDATE retired_keys SET valid_until = $1 WHERE account_id = $2 AND kind = $3 AND valid_until > $1"
)
DROP_EXPIRED = "DELETE FROM retired_keys WHERE account_id = $1 AND valid_until <= $2"
FIND_RETIRED = "SELECT * FROM retired_keys WHERE kind = $1 AND key = $2"
LIST_RETIRED = "SELECT * FROM retired_keys WHERE account_id = $1 ORDER BY valid_until, kind, key"
READ_SIGNING = "SELECT signing_secrets FROM accounts WHERE id = $1 FOR UPDATE"
WRITE_SIGNING = "UPDATE accounts SET signing_secrets = $2 WHERE id = $1"


def _app_args(app: models.App) -> list[object]:
    """The app's values in field order, which is INSERT_APP's and REPLACE_APP's parameter order."""
    return list(rows.to_row(app, core.BACKEND).values())


class PostgresKeys(core.PostgresCore):
    """Apps written, key pairs rotated, signing secrets swapped."""

    async def create_app(self, app: models.App) -> None:
        pool = await self.pool()
        try:
            await pool.execute(INSERT_APP, *_app_args(app))
        except asyncpg.UniqueViolationError as exc:
            raise errors.Conflict(f"app {app.appkey!r} already exists") from exc

    async def replace_app(self, app: models.App) -> None:
        pool = await self.pool()
        if await pool.execute(REPLACE_APP, *_app_args(app)) == "UPDATE 0":
            raise errors.NotFound(f"no app {app.appkey!r}")

    async def list_all_apps(self, limit: int = 10_000) -> list[models.App]:
        pool = await self.pool()
        return [rows.from_row(models.App, r) for r in await pool.fetch(ALL_APPS, limit)]

    async def rotate_customer_key(
        self,
        kind: control.KeyKind,
        account_id: str,
        expected_key: str,
        new_key: str,
        new_secret: str,
        retired: control.RetiredKey | None,
        now: dt.datetime,
    ) -> bool:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            try:
                done = await conn.execute(ROTATE_PAIR[kind], new_key, new_secret, account_id, expected_key)
            except asyncpg.UniqueViolationError as exc:
                raise errors.Conflict("the new key is taken") from exc
            if done == "UPDATE 0":
                return False
            cap = now if retired is None else retired.valid_until
            await conn.execute(CAP_RETIRED, cap, account_id, kind.value)
            await conn.execute(DROP_EXPIRED, account_id, now)
            if retired is not None:
                r = retired
                await conn.execute(INSERT_RETIRED, r.kind.value, r.key, r.secret, r.account_id, r.valid_until)
            return True

    async def find_retired_key(self, kind: control.KeyKind, key: str) -> control.RetiredKey | None:
        pool = await self.pool()
        row = await pool.fetchrow(FIND_RETIRED, kind.value, key)
        return None if row is None else rows.from_row(control.RetiredKey, row)

    async def list_retired_keys(self, account_id: str) -> list[control.RetiredKey]:
        pool = await self.pool()
        return [rows.from_row(control.RetiredKey, r) for r in await pool.fetch(LIST_RETIRED, account_id)]

    async def swap_signing_secrets(
        self, account_id: str, expected: tuple[str, ...], new: tuple[str, ...]
    ) -> bool:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(READ_SIGNING, account_id)
            if row is None:
                raise errors.UnknownAccount(f"no account {account_id!r}")
            if tuple(row["signing_secrets"]) != expected:
                return False
            await conn.execute(WRITE_SIGNING, account_id, list(new))
            return True
