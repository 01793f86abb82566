"""Listing and changing accounts, and their balance ledger, on SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from dlrhub.core import control, errors, models
from dlrhub.store import nouns, rows
from dlrhub.store.sqlite import core

INSERT_ENTRY = (
    "INSERT INTO ledger (account_id, amount, kind, reason, actor, message_count, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT_ACCOUNT = "SELECT * FROM accounts WHERE id = ?"
SELECT_ENTRY = "SELECT * FROM ledger WHERE id = ?"
SET_BALANCE = "UPDATE accounts SET balance = ? WHERE id = ?"
#: Accounts oldest first; the page starts after the cursor account's (created_at, id).
FIND_ACCOUNTS = (
    "SELECT * FROM accounts WHERE (? IS NULL OR status = ?)"
    " AND (? IS NULL OR instr(lower(name), lower(?)) > 0)"
    " AND (? IS NULL OR (created_at, id) > (SELECT created_at, id FROM accounts WHERE id = ?))"
    " ORDER BY created_at, id LIMIT ?"
)
LIST_LEDGER = "SELECT * FROM ledger WHERE account_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?"
LEDGER_AMOUNTS = "SELECT amount FROM ledger WHERE account_id = ?"
#: The reason of an account's first row.
OPENING_REASON = "opening balance"
#: Reason and actor of the one charge row a group commit writes per account.
CHARGE_REASON = "messages accepted"
CHARGE_ACTOR = "send"


def _money(amount: Decimal) -> str:
    return str(amount.quantize(rows.FOUR_PLACES))


def write_entry(
    conn: sqlite3.Connection,
    account_id: str,
    amount: Decimal,
    kind: control.LedgerKind,
    reason: str,
    actor: str,
    message_count: int,
    now: dt.datetime,
) -> int:
    """Insert one ledger row (the caller moves the balance in the same transaction); returns its id."""
    values = (account_id, _money(amount), kind.value, reason, actor, message_count, now.timestamp())
    row_id = conn.execute(INSERT_ENTRY, values).lastrowid
    assert row_id is not None
    return row_id


def write_charges(
    conn: sqlite3.Connection, charges: dict[str, tuple[Decimal, int]], now: dt.datetime
) -> None:
    """A group commit's charge rows: one per account, the batch's total for its messages."""
    stamp = now.timestamp()
    conn.executemany(
        INSERT_ENTRY,
        [
            (
                account_id,
                _money(-total),
                control.LedgerKind.CHARGE.value,
                CHARGE_REASON,
                CHARGE_ACTOR,
                n,
                stamp,
            )
            for account_id, (total, n) in charges.items()
        ],
    )


def _accounts(found: Iterable[Any]) -> list[models.Account]:
    return [rows.from_row(models.Account, r) for r in found]


class SqliteLedger(core.SqliteCore):
    """Finding and changing accounts; ledger rows with the balance they move."""

    async def find_accounts(self, where: nouns.AccountFilter) -> list[models.Account]:
        status = None if where.status is None else where.status.value
        name, after = where.name_contains, where.after
        args = (status, status, name, name, after, after, where.limit)
        return _accounts(await self._read(lambda c: c.execute(FIND_ACCOUNTS, args).fetchall()))

    async def update_account(self, account_id: str, changes: dict[str, object]) -> models.Account:
        unknown = set(changes) - nouns.UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")

        def run(conn: sqlite3.Connection) -> models.Account:
            account = _live_account(conn, account_id)
            if changes:
                sets = ", ".join(f"{name} = ?" for name in changes)
                values = [rows.cell(v, core.BACKEND) for v in changes.values()]
                conn.execute(f"UPDATE accounts SET {sets} WHERE id = ?", (*values, account_id))
                account = rows.from_row(
                    models.Account, conn.execute(SELECT_ACCOUNT, (account_id,)).fetchone()
                )
            return account

        return await self._tx(run)

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
        def run(conn: sqlite3.Connection) -> tuple[control.LedgerEntry, models.Account]:
            account = _live_account(conn, account_id)
            balance = account.balance + amount
            if balance < 0:
                raise errors.Conflict(f"the balance would fall below zero ({account.balance} {amount:+})")
            row_id = write_entry(conn, account_id, amount, kind, reason, actor, 0, now)
            conn.execute(SET_BALANCE, (_money(balance), account_id))
            entry = rows.from_row(control.LedgerEntry, conn.execute(SELECT_ENTRY, (row_id,)).fetchone())
            return entry, rows.from_row(
                models.Account, conn.execute(SELECT_ACCOUNT, (account_id,)).fetchone()
            )

        return await self._tx(run)

    async def list_ledger(
        self, account_id: str, *, before: int | None = None, limit: int = 100
    ) -> list[control.LedgerEntry]:
        args = (account_id, before, before, limit)
        found = await self._read(lambda c: c.execute(LIST_LEDGER, args).fetchall())
        return [rows.from_row(control.LedgerEntry, r) for r in found]

    async def ledger_total(self, account_id: str) -> Decimal:
        # Summed as decimals here: SQLite's SUM of text would be a float.
        found = await self._read(lambda c: c.execute(LEDGER_AMOUNTS, (account_id,)).fetchall())
        return sum((Decimal(r["amount"]) for r in found), Decimal(0)).quantize(rows.FOUR_PLACES)


def _live_account(conn: sqlite3.Connection, account_id: str) -> models.Account:
    """The account, in the write transaction; refuses an unknown or a deactivated one."""
    row = conn.execute(SELECT_ACCOUNT, (account_id,)).fetchone()
    if row is None:
        raise errors.UnknownAccount(f"no account {account_id!r}")
    account = rows.from_row(models.Account, row)
    if account.status is models.AccountStatus.DEACTIVATED:
        raise errors.Conflict(f"account {account_id!r} is deactivated")
    return account
