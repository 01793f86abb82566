"""A group commit's rows in one statement: a data-modifying CTE per table, each row set passed as one array per
column and spread by `unnest`.

One round trip writes the whole batch, and PostgreSQL plans and runs each table's insert once, where a pipelined
`executemany` binds and runs the statement once per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from dlrhub.core import control
from dlrhub.planning import accepts as accepting
from dlrhub.store import rows
from dlrhub.store.postgres import core, ledger, messages

#: A table's column types (`PostgresCore.column_types`).
Types = Callable[[str], Awaitable[dict[str, str]]]

CALLBACK_COLUMNS = (*messages.CALLBACK_ORDER, "updated_at")


class Statement:
    """One statement of data-modifying CTEs, with its parameters."""

    def __init__(self, types: Types) -> None:
        self.types = types
        self.ctes: list[str] = []
        self.args: list[Any] = []
        self.final = "SELECT 1"

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
        spread = await self.arrays(table, columns, values)
        self.ctes.append(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({spread}) {suffix}"
        )

    def sql(self) -> str:
        ctes = ", ".join(f"w{i} AS ({cte})" for i, cte in enumerate(self.ctes))
        return f"WITH {ctes} {self.final}" if ctes else self.final


async def write(conn: asyncpg.Connection, types: Types, decided: accepting.Decided, now: dt.datetime) -> None:
    """The writes of `PostgresMessages._write_plan` for the batch's new messages, in one statement: request ids,
    messages, events (in the batch's order: their `pos` follows it), callbacks (and a NOTIFY), balances and the
    ledger's charge rows."""
    message_rows: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    event_rows: list[tuple[Any, ...]] = []
    callback_rows: list[tuple[Any, ...]] = []
    for accepted in decided.accepted:
        plan = accepted.plan
        assert plan.message is not None
        mrow = rows.to_row(plan.message, core.BACKEND)
        if accepted.channel_due_at is not None:
            mrow.update(channel_state="queued", channel_due_at=accepted.channel_due_at)
        message_rows.setdefault(tuple(mrow), []).append(tuple(mrow.values()))
        erow = rows.to_row(plan.event, core.BACKEND)
        erow["recorded_at"] = now
        erow["account_id"] = plan.account_id
        event_rows.append(tuple(erow[c] for c in messages.EVENT_COLUMNS))
        for callback in plan.callbacks:
            crow = rows.to_row(callback, core.BACKEND)
            callback_rows.append((*(crow[c] for c in messages.CALLBACK_ORDER), crow["created_at"]))
    st = Statement(types)
    if decided.request_ids:
        # The last of one key wins, as it would in a row-by-row upsert.
        last = {(a, r): m for a, r, m in decided.request_ids}
        await st.insert(
            "request_ids",
            ("account_id", "request_id", "message_id", "created_at"),
            [(a, r, m, now) for (a, r), m in last.items()],
            "ON CONFLICT (account_id, request_id) DO UPDATE SET message_id = EXCLUDED.message_id,"
            " created_at = EXCLUDED.created_at",
        )
    for columns, group in message_rows.items():
        await st.insert("messages", columns, group)
    if event_rows:
        await st.insert("events", messages.EVENT_COLUMNS, event_rows)
    if callback_rows:
        await st.insert("callbacks", CALLBACK_COLUMNS, callback_rows, "ON CONFLICT (id) DO NOTHING")
        st.final = f"SELECT pg_notify({st.param(core.CALLBACKS_CHANNEL, 'text')}, '')"
    if decided.balances:
        spread = await st.arrays("accounts", ("id", "balance"), list(decided.balances.items()))
        st.ctes.append(
            f"UPDATE accounts SET balance = v.balance FROM unnest({spread}) AS v(id, balance) WHERE accounts.id = v.id"
        )
        charges = [
            (
                account_id,
                -total,
                control.LedgerKind.CHARGE.value,
                ledger.CHARGE_REASON,
                ledger.CHARGE_ACTOR,
                n,
                now,
            )
            for account_id, (total, n) in decided.charges.items()
        ]
        await st.insert("ledger", ledger.CHARGE_COLUMNS, charges)
    if st.ctes:
        await conn.execute(st.sql(), *st.args)
