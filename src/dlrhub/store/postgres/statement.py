"""One statement of data-modifying CTEs, built a part at a time: each row set passed as one array per column and
spread by `unnest`, and a NOTIFY of the dispatchers at its end (the group commit's write, an event's write)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from dlrhub.store.postgres import core

#: A table's column types (`PostgresCore.column_types`).
Types = Callable[[str], Awaitable[dict[str, str]]]

#: Whether the statement writes: true unless the balance does not cover the charges (`debit_checked`).
GUARD = "EXISTS (SELECT FROM debited)"


class Statement:
    """One statement of data-modifying CTEs, with its parameters."""

    def __init__(self, types: Types) -> None:
        self.types = types
        #: Each CTE's name (None: `w<i>`, a write nothing reads) and query.
        self.ctes: list[tuple[str | None, str]] = []
        self.args: list[Any] = []
        #: The condition every insert of the statement is under (None: none).
        self.guard: str | None = None
        self.notify = False

    def param(self, value: Any, cast: str) -> str:
        self.args.append(value)
        return f"${len(self.args)}::{cast}"

    async def arrays(self, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]) -> str:
        """`unnest(...)` of `values` (rows of `columns`), each column one array parameter cast to its type."""
        types = await self.types(table)
        cols = zip(*values, strict=True) if values else ([] for _ in columns)
        return ", ".join(self.param(list(col), types[c] + "[]") for c, col in zip(columns, cols, strict=True))

    async def insert(
        self, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]], suffix: str = ""
    ) -> None:
        """Insert `values` (rows of `columns`), one array parameter per column.

        A column whose rows all hold one object (an account id, the batch's time, a state, NULL), the first
        excepted, goes as one value and a NULL array instead (`unnest` pads a NULL array with NULLs, and a CASE
        takes the value): asyncpg encodes an array element by element, checking each one for a nested array,
        and most of a batch's columns are the same in every row. The statement's text stays the same whichever
        columns are alike, so it is prepared once.
        """
        types = await self.types(table)
        cols = zip(*values, strict=True) if values else ([] for _ in columns)
        exprs: list[str] = []
        spread: list[str] = []
        for i, (c, col) in enumerate(zip(columns, cols, strict=True)):
            first = col[0] if col else None
            alike = i > 0 and bool(col) and all(v is first for v in col)
            array = self.param(None if alike else list(col), types[c] + "[]")
            spread.append(array)
            if i == 0:
                exprs.append("u.c0")
            else:
                one = self.param(first if alike else None, types[c])
                exprs.append(f"CASE WHEN {array} IS NULL THEN {one} ELSE u.c{i} END")
        names = ", ".join(f"c{i}" for i in range(len(columns)))
        where = f"WHERE {self.guard}" if self.guard else ""
        self.ctes.append(
            (
                None,
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)}"
                f" FROM unnest({', '.join(spread)}) AS u({names}) {where} {suffix}",
            )
        )

    async def update(self, table: str, key: str, row: dict[str, Any], columns: Sequence[str]) -> None:
        """`UPDATE table SET <columns> WHERE key = ...` with the values of `row`, each a parameter cast to its
        column's type."""
        types = await self.types(table)
        sets = ", ".join(f"{c} = {self.param(row[c], types[c])}" for c in columns)
        self.ctes.append(
            (None, f"UPDATE {table} SET {sets} WHERE {key} = {self.param(row[key], types[key])}")
        )

    def sql(self) -> str:
        """The statement: it answers one row, whether it wrote (and NOTIFYs the dispatchers if it did)."""
        ok = self.guard or "true"
        final = f"SELECT {ok} AS ok"
        if self.notify:
            final += f", CASE WHEN {ok} THEN pg_notify({self.param(core.CALLBACKS_CHANNEL, 'text')}, '') END"
        ctes = ", ".join(f"{name or f'w{i}'} AS ({cte})" for i, (name, cte) in enumerate(self.ctes))
        return f"WITH {ctes} {final}" if ctes else final

    async def debit_checked(self, account_id: str, total: Decimal) -> None:
        """Debit `total` from the account if its balance covers it: the statement's guard from here on.

        One account only: its row is locked once, by this UPDATE, which (in READ COMMITTED) rechecks the balance
        on the latest version of the row after waiting for another writer of it.
        """
        types = await self.types("accounts")
        amount, account = self.param(total, types["balance"]), self.param(account_id, types["id"])
        self.ctes.append(
            (
                "debited",
                f"UPDATE accounts SET balance = balance - {amount} WHERE id = {account} AND balance >= {amount}"
                " RETURNING id",
            )
        )
        self.guard = GUARD
