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
from collections.abc import Sequence
from typing import Any

import asyncpg

from dlrhub.core import control
from dlrhub.planning import accepts as accepting
from dlrhub.store import rows
from dlrhub.store.postgres import accounts, core, ledger, messages, statement

#: The request signatures of the batch's sends, taken with them: a signature already taken fails the statement
#: (`SIGNATURES_KEY`), so that nothing of it is written; the batch is then settled on the locked path.
SIGNATURES_KEY = "nxcloud_signatures_pkey"
#: Expired signatures dropped on the way, at most `accounts.SWEPT_PER_SIGNATURE` per signature taken, as a take
#: of `accounts.TAKE_SIGNATURES` does.
SWEEP_SIGNATURES = (
    "DELETE FROM nxcloud_signatures WHERE sign IN (SELECT sign FROM nxcloud_signatures"
    " WHERE expires_at < {now} ORDER BY expires_at LIMIT {limit} FOR UPDATE SKIP LOCKED)"
)


async def write(
    conn: asyncpg.Connection,
    types: statement.Types,
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
    st = statement.Statement(types)
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
        await st.insert("callbacks", messages.CALLBACK_COLUMNS, callback_rows, "ON CONFLICT (id) DO NOTHING")
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
