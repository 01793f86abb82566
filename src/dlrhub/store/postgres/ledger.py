"""Listing and changing accounts, and their balance ledger, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from dlrhub.core import control, errors, models
from dlrhub.store import nouns, rows
from dlrhub.store.postgres import core

INSERT_ENTRY = (
    "INSERT INTO ledger (account_id, amount, kind, reason, actor, message_count, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *"
)
#: NO KEY UPDATE, as a send's group commit takes it (`batch.LOCK_BALANCES`): the two wait for each other.
LOCK_ACCOUNT = "SELECT * FROM accounts WHERE id = $1 FOR NO KEY UPDATE"
SET_BALANCE = "UPDATE accounts SET balance = $2 WHERE id = $1 RETURNING *"
#: Accounts oldest first; the page starts after the cursor account's (created_at, id).
FIND_ACCOUNTS = (
    "SELECT * FROM accounts WHERE ($1::text IS NULL OR status = $1)"
    " AND ($2::text IS NULL OR strpos(lower(name), lower($2)) > 0)"
    " AND ($3::text IS NULL OR (created_at, id) > (SELECT created_at, id FROM accounts WHERE id = $3))"
    " ORDER BY created_at, id LIMIT $4"
)
LIST_LEDGER = (
    "SELECT * FROM ledger WHERE account_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
)
LEDGER_TOTAL = "SELECT coalesce(sum(amount), 0) FROM ledger WHERE account_id = $1"
#: The reason of an account's first row.
OPENING_REASON = "opening balance"
#: Reason and actor of the one charge row a group commit writes per account.
CHARGE_REASON = "messages accepted"
CHARGE_ACTOR = "send"
#: The columns of a charge row, as `batch_write` inserts them.
CHARGE_COLUMNS = ("account_id", "amount", "kind", "reason", "actor", "message_count", "created_at")


async def write_opening(conn: asyncpg.Connection, account: models.Account, actor: str) -> None:
    """An account's first row, of its opening balance (in the transaction that inserts the account)."""
    await conn.execute(
        INSERT_ENTRY,
        account.id,
        account.balance,
        control.LedgerKind.OPENING.value,
        OPENING_REASON,
        actor,
        0,
        account.created_at,
    )


class PostgresLedger(core.PostgresCore):
    """Finding and changing accounts; ledger rows with the balance they move."""

    async def find_accounts(self, where: nouns.AccountFilter) -> list[models.Account]:
        pool = await self.pool()
        status = None if where.status is None else where.status.value
        found = await pool.fetch(FIND_ACCOUNTS, status, where.name_contains, where.after, where.limit)
        return [rows.from_row(models.Account, r) for r in found]

    async def update_account(self, account_id: str, changes: dict[str, object]) -> models.Account:
        unknown = set(changes) - nouns.UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            account = await _live_account(conn, account_id)
            if not changes:
                return account
            sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
            values = [rows.cell(v, core.BACKEND) for v in changes.values()]
            row = await conn.fetchrow(
                f"UPDATE accounts SET {sets} WHERE id = $1 RETURNING *", account_id, *values
            )
            return rows.from_row(models.Account, row)

    async def post_ledger(
        self,
        account_id: str,
        amount: Decimal,
        kind: control.LedgerKind,
        *,
        reason: str,
        actor: str,
        now: dt.datetime,
    ) -> tuple[control.LedgerEntry, models.Account]:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            account = await _live_account(conn, account_id)
            balance = account.balance + amount
            if balance < 0:
                raise errors.Conflict(f"the balance would fall below zero ({account.balance} {amount:+})")
            entry = await conn.fetchrow(INSERT_ENTRY, account_id, amount, kind.value, reason, actor, 0, now)
            changed = await conn.fetchrow(SET_BALANCE, account_id, balance)
            return rows.from_row(control.LedgerEntry, entry), rows.from_row(models.Account, changed)

    async def list_ledger(
        self, account_id: str, *, before: int | None = None, limit: int = 100
    ) -> list[control.LedgerEntry]:
        pool = await self.pool()
        found = await pool.fetch(LIST_LEDGER, account_id, before, limit)
        return [rows.from_row(control.LedgerEntry, r) for r in found]

    async def ledger_total(self, account_id: str) -> Decimal:
        pool = await self.pool()
        total = await pool.fetchval(LEDGER_TOTAL, account_id)
        return Decimal(total).quantize(rows.FOUR_PLACES)


async def _live_account(conn: asyncpg.Connection, account_id: str) -> models.Account:
    """The account, locked for this transaction; refuses an unknown or a deactivated one."""
    row = await conn.fetchrow(LOCK_ACCOUNT, account_id)
    if row is None:
        raise errors.UnknownAccount(f"no account {account_id!r}")
    account = rows.from_row(models.Account, row)
    if account.status is models.AccountStatus.DEACTIVATED:
        raise errors.Conflict(f"account {account_id!r} is deactivated")
    return account
