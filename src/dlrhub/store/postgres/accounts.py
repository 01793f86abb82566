"""Accounts, apps, OAs, journeys and NXCloud request signatures on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple, TypeVar

import asyncpg

from dlrhub.core import coalesce, errors, models
from dlrhub.store import nouns, rows
from dlrhub.store.postgres import core, ledger

T = TypeVar("T")
#: Takes a group of (distinct) signatures, returning those taken, and drops at most 16 expired ones per signature
#: on the way (skipping those another process is dropping), so the table shrinks as fast as it grows and no one
#: request pays for a backlog.
TAKE_SIGNATURES = (
    "WITH swept AS (DELETE FROM nxcloud_signatures WHERE sign IN (SELECT sign FROM nxcloud_signatures"
    " WHERE expires_at < $3 ORDER BY expires_at LIMIT $4 FOR UPDATE SKIP LOCKED))"
    " INSERT INTO nxcloud_signatures (sign, expires_at) SELECT * FROM unnest($1::text[], $2::timestamptz[])"
    " ON CONFLICT (sign) DO NOTHING RETURNING sign"
)
SWEPT_PER_SIGNATURE = 16


class Take(NamedTuple):
    sign: str
    expires_at: dt.datetime
    now: dt.datetime


async def take_signatures(pool: asyncpg.Pool, takes: list[Take]) -> list[bool]:
    """Each take's answer: the first take of a signature not yet stored is True, any other False. Expired
    signatures are swept as of the group's earliest `now`."""
    first: dict[str, Take] = {}
    for take in takes:
        first.setdefault(take.sign, take)
    signs = list(first)
    expiries = [t.expires_at for t in first.values()]
    now = min(t.now for t in takes)
    rows_ = await pool.fetch(TAKE_SIGNATURES, signs, expiries, now, SWEPT_PER_SIGNATURE * len(signs))
    taken = {r["sign"] for r in rows_}
    return [take.sign in taken and first[take.sign] is take for take in takes]


#: Routes an account's apps that have no OA to a new one (registered in the same transaction).
ROUTE_UNROUTED_APPS = "UPDATE apps SET oa_id = $1 WHERE account_id = $2 AND oa_id IS NULL"
#: `nouns.OAChanges` applied: each NULL keeps the stored value; $10, when given, makes it a compare-and-set on the
#: refresh token.
CHANGE_OA = (
    "UPDATE oas SET app_secret = coalesce($1, app_secret), oa_secret = coalesce($2, oa_secret),"
    " access_token = coalesce($3, access_token), refresh_token = coalesce($4, refresh_token),"
    " token_expires_at = coalesce($5, token_expires_at), refresh_expires_at = coalesce($6, refresh_expires_at),"
    " daily_quota = coalesce($7, daily_quota), active = coalesce($8, active)"
    " WHERE oa_id = $9 AND ($10::text IS NULL OR refresh_token = $10)"
)
LIST_OAS = "SELECT * FROM oas WHERE $1::text IS NULL OR account_id = $1 ORDER BY oa_id"


def _upsert(table: str, key: str, row: dict[str, object]) -> tuple[object, ...]:
    cols = [c for c in row if c != key]
    suffix = f"ON CONFLICT ({key}) DO UPDATE SET ({', '.join(cols)}) = ROW({', '.join('EXCLUDED.' + c for c in cols)})"
    return core.insert_sql(table, row, suffix)


class PostgresAccounts(core.PostgresCore):
    """Accounts, apps, OAs, journeys and request signatures."""

    _signature_takes: coalesce.Coalescer[Take, bool] | None = None

    async def take_signature(self, sign: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        # The takes made together go in one statement (one round trip for a burst of signed requests).
        if self._signature_takes is None:
            self._signature_takes = coalesce.Coalescer(self._take_signatures)
        return await self._signature_takes.call(Take(sign, expires_at, now))

    async def _take_signatures(self, takes: list[Take]) -> list[bool]:
        return await take_signatures(await self.pool(), takes)

    async def create_account(
        self, account: models.Account, apps: list[models.App], *, actor: str = "system"
    ) -> None:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(*core.insert_sql("accounts", rows.to_row(account, core.BACKEND)))
                for app in apps:
                    await conn.execute(*core.insert_sql("apps", rows.to_row(app, core.BACKEND)))
                await ledger.write_opening(conn, account, actor)
            except asyncpg.UniqueViolationError as exc:
                raise errors.Conflict(f"account or app already exists: {exc}") from exc

    async def get_account(self, account_id: str) -> models.Account:
        account = await self._one(models.Account, "SELECT * FROM accounts WHERE id = $1", account_id)
        if account is None:
            raise errors.UnknownAccount(f"no account {account_id!r}")
        return account

    async def _one(self, cls: type[T], sql: str, value: str) -> T | None:
        pool = await self.pool()
        row = await pool.fetchrow(sql, value)
        return None if row is None else rows.from_row(cls, row)

    async def _many(self, cls: type[T], sql: str, *args: object) -> list[T]:
        pool = await self.pool()
        return [rows.from_row(cls, r) for r in await pool.fetch(sql, *args)]

    async def list_accounts(self) -> list[models.Account]:
        return await self._many(models.Account, "SELECT * FROM accounts ORDER BY created_at")

    async def find_account_by_esms_key(self, api_key: str) -> models.Account | None:
        return await self._one(models.Account, "SELECT * FROM accounts WHERE esms_api_key = $1", api_key)

    async def find_account_by_nx_key(self, access_key: str) -> models.Account | None:
        return await self._one(models.Account, "SELECT * FROM accounts WHERE nx_access_key = $1", access_key)

    async def get_app(self, appkey: str) -> models.App | None:
        return await self._one(models.App, "SELECT * FROM apps WHERE appkey = $1", appkey)

    async def list_apps(self, account_id: str) -> list[models.App]:
        return await self._many(
            models.App, "SELECT * FROM apps WHERE account_id = $1 ORDER BY appkey", account_id
        )

    async def put_oa(self, oa: models.OA) -> None:
        pool = await self.pool()
        await pool.execute(*_upsert("oas", "oa_id", rows.to_row(oa, core.BACKEND)))

    async def get_oa(self, oa_id: str) -> models.OA | None:
        return await self._one(models.OA, "SELECT * FROM oas WHERE oa_id = $1", oa_id)

    async def list_oas(self, account_id: str | None = None) -> list[models.OA]:
        return await self._many(models.OA, LIST_OAS, account_id)

    async def insert_oa(self, oa: models.OA) -> None:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(*core.insert_sql("oas", rows.to_row(oa, core.BACKEND)))
            except asyncpg.UniqueViolationError as exc:
                raise errors.Conflict(f"OA {oa.oa_id} is already registered") from exc
            except asyncpg.ForeignKeyViolationError as exc:
                raise errors.UnknownAccount(f"no account {oa.account_id!r}") from exc
            await conn.execute(ROUTE_UNROUTED_APPS, oa.oa_id, oa.account_id)

    async def change_oa(
        self, oa_id: str, changes: nouns.OAChanges, *, expect_refresh_token: str | None = None
    ) -> bool:
        c = changes
        pool = await self.pool()
        status = await pool.execute(
            CHANGE_OA,
            c.app_secret,
            c.oa_secret,
            c.access_token,
            c.refresh_token,
            c.token_expires_at,
            c.refresh_expires_at,
            c.daily_quota,
            c.active,
            oa_id,
            expect_refresh_token,
        )
        return bool(status == "UPDATE 1")

    async def put_journey(self, journey: models.Journey) -> None:
        pool = await self.pool()
        await pool.execute(*_upsert("journeys", "journey_id", rows.to_row(journey, core.BACKEND)))

    async def get_journey(self, journey_id: str) -> models.Journey | None:
        return await self._one(models.Journey, "SELECT * FROM journeys WHERE journey_id = $1", journey_id)

    async def get_journey_by_token(self, token: str) -> models.Journey | None:
        return await self._one(models.Journey, "SELECT * FROM journeys WHERE token = $1", token)
