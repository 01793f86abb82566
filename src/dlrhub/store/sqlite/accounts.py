"""Accounts, apps, OAs, journeys and NXCloud request signatures on SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3

from dlrhub.core import control, errors, models
from dlrhub.store import nouns, rows
from dlrhub.store.sqlite import core, ledger

#: At most this many expired signatures are dropped per signature taken: the table shrinks as fast as it grows,
#: and no one request pays for a backlog.
SWEEP_SIGNATURES = (
    "DELETE FROM nxcloud_signatures WHERE sign IN"
    " (SELECT sign FROM nxcloud_signatures WHERE expires_at < ? ORDER BY expires_at LIMIT 16)"
)
TAKE_SIGNATURE = "INSERT OR IGNORE INTO nxcloud_signatures (sign, expires_at) VALUES (?, ?)"
#: Routes an account's apps that have no OA to a new one (registered in the same transaction).
ROUTE_UNROUTED_APPS = "UPDATE apps SET oa_id = ? WHERE account_id = ? AND oa_id IS NULL"
#: `nouns.OAChanges` applied: each NULL keeps the stored value; the last two marks make it a compare-and-set on
#: the refresh token when given.
CHANGE_OA = (
    "UPDATE oas SET app_secret = coalesce(?, app_secret), oa_secret = coalesce(?, oa_secret),"
    " access_token = coalesce(?, access_token), refresh_token = coalesce(?, refresh_token),"
    " token_expires_at = coalesce(?, token_expires_at), refresh_expires_at = coalesce(?, refresh_expires_at),"
    " daily_quota = coalesce(?, daily_quota), active = coalesce(?, active)"
    " WHERE oa_id = ? AND (? IS NULL OR refresh_token = ?)"
)
LIST_OAS = "SELECT * FROM oas WHERE ? IS NULL OR account_id = ? ORDER BY oa_id"


def _insert(table: str, row: dict[str, object], *, replace: bool = False) -> tuple[str, tuple[object, ...]]:
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return f"{verb} INTO {table} ({cols}) VALUES ({marks})", tuple(row.values())


class SqliteAccounts(core.SqliteCore):
    """Accounts, apps, OAs, journeys and request signatures."""

    async def take_signature(self, sign: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            conn.execute(SWEEP_SIGNATURES, (now.timestamp(),))
            return conn.execute(TAKE_SIGNATURE, (sign, expires_at.timestamp())).rowcount == 1

        return await self._tx(run)

    async def create_account(
        self, account: models.Account, apps: list[models.App], *, actor: str = "system"
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(*_insert("accounts", rows.to_row(account, core.BACKEND)))
                for app in apps:
                    conn.execute(*_insert("apps", rows.to_row(app, core.BACKEND)))
                ledger.write_entry(
                    conn,
                    account.id,
                    account.balance,
                    control.LedgerKind.OPENING,
                    ledger.OPENING_REASON,
                    actor,
                    0,
                    account.created_at,
                )
            except sqlite3.IntegrityError as exc:
                raise errors.Conflict(f"account or app already exists: {exc}") from exc

        await self._tx(run)

    async def get_account(self, account_id: str) -> models.Account:
        account = await self._one_account("SELECT * FROM accounts WHERE id = ?", account_id)
        if account is None:
            raise errors.UnknownAccount(f"no account {account_id!r}")
        return account

    async def _one_account(self, sql: str, value: str) -> models.Account | None:
        row = await self._read(lambda conn: conn.execute(sql, (value,)).fetchone())
        return None if row is None else rows.from_row(models.Account, row)

    async def list_accounts(self) -> list[models.Account]:
        found = await self._read(lambda c: c.execute("SELECT * FROM accounts ORDER BY created_at").fetchall())
        return [rows.from_row(models.Account, r) for r in found]

    async def find_account_by_esms_key(self, api_key: str) -> models.Account | None:
        return await self._one_account("SELECT * FROM accounts WHERE esms_api_key = ?", api_key)

    async def find_account_by_nx_key(self, access_key: str) -> models.Account | None:
        return await self._one_account("SELECT * FROM accounts WHERE nx_access_key = ?", access_key)

    async def get_app(self, appkey: str) -> models.App | None:
        row = await self._read(
            lambda c: c.execute("SELECT * FROM apps WHERE appkey = ?", (appkey,)).fetchone()
        )
        return None if row is None else rows.from_row(models.App, row)

    async def list_apps(self, account_id: str) -> list[models.App]:
        found = await self._read(
            lambda c: c.execute(
                "SELECT * FROM apps WHERE account_id = ? ORDER BY appkey", (account_id,)
            ).fetchall()
        )
        return [rows.from_row(models.App, r) for r in found]

    async def put_oa(self, oa: models.OA) -> None:
        await self._tx(lambda c: c.execute(*_insert("oas", rows.to_row(oa, core.BACKEND), replace=True)))

    async def get_oa(self, oa_id: str) -> models.OA | None:
        row = await self._read(lambda c: c.execute("SELECT * FROM oas WHERE oa_id = ?", (oa_id,)).fetchone())
        return None if row is None else rows.from_row(models.OA, row)

    async def list_oas(self, account_id: str | None = None) -> list[models.OA]:
        found = await self._read(lambda c: c.execute(LIST_OAS, (account_id, account_id)).fetchall())
        return [rows.from_row(models.OA, r) for r in found]

    async def insert_oa(self, oa: models.OA) -> None:
        def run(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (oa.account_id,)).fetchone() is None:
                raise errors.UnknownAccount(f"no account {oa.account_id!r}")
            try:
                conn.execute(*_insert("oas", rows.to_row(oa, core.BACKEND)))
            except sqlite3.IntegrityError as exc:
                raise errors.Conflict(f"OA {oa.oa_id} is already registered") from exc
            conn.execute(ROUTE_UNROUTED_APPS, (oa.oa_id, oa.account_id))

        await self._tx(run)

    async def change_oa(
        self, oa_id: str, changes: nouns.OAChanges, *, expect_refresh_token: str | None = None
    ) -> bool:
        c = changes
        args = (
            c.app_secret,
            c.oa_secret,
            c.access_token,
            c.refresh_token,
            None if c.token_expires_at is None else c.token_expires_at.timestamp(),
            None if c.refresh_expires_at is None else c.refresh_expires_at.timestamp(),
            c.daily_quota,
            None if c.active is None else int(c.active),
            oa_id,
            expect_refresh_token,
            expect_refresh_token,
        )
        cursor = await self._tx(lambda conn: conn.execute(CHANGE_OA, args))
        return cursor.rowcount == 1

    async def put_journey(self, journey: models.Journey) -> None:
        row = rows.to_row(journey, core.BACKEND)
        await self._tx(lambda c: c.execute(*_insert("journeys", row, replace=True)))

    async def get_journey(self, journey_id: str) -> models.Journey | None:
        return await self._one_journey("SELECT * FROM journeys WHERE journey_id = ?", journey_id)

    async def get_journey_by_token(self, token: str) -> models.Journey | None:
        return await self._one_journey("SELECT * FROM journeys WHERE token = ?", token)

    async def _one_journey(self, sql: str, value: str) -> models.Journey | None:
        row = await self._read(lambda conn: conn.execute(sql, (value,)).fetchone())
        return None if row is None else rows.from_row(models.Journey, row)
