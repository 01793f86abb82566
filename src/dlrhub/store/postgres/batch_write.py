"""A group commit's rows in one statement: a data-modifying CTE per table, each row set passed as one array per
column and spread by `unnest`.

One round trip writes the whole batch, and PostgreSQL plans and runs each table's insert once, where a pipelined
`executemany` binds and runs the statement once per row.

A batch decided without its balances (`Decided.checked` False, one account charged) carries its debit in the
statement: a conditional UPDATE of the balance, and every other write of the statement runs only if it debited
(`GUARD`). Run on its own, outside a transaction, such a statement is the batch's whole transaction: one round
trip, holding the balance's row lock only while PostgreSQL runs and commits it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from dlrhub.core import control
from dlrhub.planning import accepts as accepting
from dlrhub.store import rows
from dlrhub.store.postgres import accounts, core, ledger, messages

#: A table's column types (`PostgresCore.column_types`).
Types = Callable[[str], Awaitable[dict[str, str]]]

CALLBACK_COLUMNS = (*messages.CALLBACK_ORDER, "updated_at")
#: The request signatures of the batch's sends, taken with them: a signature already taken fails the statement
#: (`SIGNATURES_KEY`), so that nothing of it is written; the batch is then settled on the locked path.
SIGNATURES_KEY = "nxcloud_signatures_pkey"
#: Expired signatures dropped on the way, at most `accounts.SWEPT_PER_SIGNATURE` per signature taken, as a take
#: of `accounts.TAKE_SIGNATURES` does.
SWEEP_SIGNATURES = (
    "DELETE FROM nxcloud_signatures WHERE sign IN (SELECT sign FROM nxcloud_signatures"
    " WHERE expires_at < {now} ORDER BY expires_at LIMIT {limit} FOR UPDATE SKIP LOCKED)"
)
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
        spread = await self.arrays(table, columns, values)
        where = f"WHERE {self.guard}" if self.guard else ""
        self.ctes.append(
            (
                None,
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({spread}) {where} {suffix}",
            )
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


async def write(
    conn: asyncpg.Connection,
    types: Types,
    decided: accepting.Decided,
    now: dt.datetime,
    signatures: Sequence[accepting.Signature] = (),
) -> bool:
    """The writes of `PostgresMessages._write_plan` for the batch's new messages, in one statement: balances,
    the `signatures` to take, request ids, messages, events (in the batch's order: their `pos` follows it),
    callbacks (and a NOTIFY) and the ledger's charge rows. False when it wrote nothing: a batch not `checked` that
    a balance does not cover. A signature taken before raises asyncpg.UniqueViolationError (`SIGNATURES_KEY`)."""
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
    if decided.charges and not decided.checked:
        if len(decided.charges) != 1:
            raise ValueError("a batch decided without its balances may charge one account only")
        [(account_id, (total, _))] = decided.charges.items()
        await st.debit_checked(account_id, total)
    if signatures:
        now_, limit = (
            st.param(now, "timestamptz"),
            st.param(accounts.SWEPT_PER_SIGNATURE * len(signatures), "int"),
        )
        st.ctes.append((None, SWEEP_SIGNATURES.format(now=now_, limit=limit)))
        await st.insert(
            "nxcloud_signatures", ("sign", "expires_at"), [(s.sign, s.expires_at) for s in signatures]
        )
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
        st.notify = True
    if decided.balances:
        spread = await st.arrays("accounts", ("id", "balance"), list(decided.balances.items()))
        st.ctes.append(
            (
                None,
                f"UPDATE accounts SET balance = v.balance FROM unnest({spread}) AS v(id, balance)"
                " WHERE accounts.id = v.id",
            )
        )
    if decided.charges:
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
    if not st.ctes:
        return True
    sql = st.sql()  # before reading `st.args`: the NOTIFY's channel is one of them
    return bool(await conn.fetchval(sql, *st.args))
