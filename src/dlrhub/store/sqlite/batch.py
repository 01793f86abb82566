"""Group commit on SQLite: many `accept_message` calls in one transaction."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from dlrhub import errors, planning
from dlrhub.store import base, rows
from dlrhub.store.sqlite import core, messages

SELECT_REQUEST_ID = "SELECT message_id, created_at FROM request_ids WHERE account_id = ? AND request_id = ?"
UPSERT_REQUEST_ID = (
    "INSERT OR REPLACE INTO request_ids (account_id, request_id, message_id, created_at) VALUES (?, ?, ?, ?)"
)
SELECT_BALANCE = "SELECT balance FROM accounts WHERE id = ?"
SET_BALANCE = "UPDATE accounts SET balance = ? WHERE id = ?"


class SqliteBatch(messages.SqliteMessages):
    """`accept_messages`: the accept path of `SqliteMessages.accept_message`, batched."""

    async def accept_messages(self, batch: list[base.Accept]) -> list[base.IngestResult | errors.DlrhubError]:
        now = self.clock()

        def run(conn: sqlite3.Connection) -> list[base.IngestResult | errors.DlrhubError]:
            # Refusals are decided before an accept writes anything, so no savepoint is needed. Balances are
            # read once per account and written once; rows are written per table with `executemany`.
            balances: dict[str, Decimal | None] = {}
            debited: set[str] = set()
            out: list[base.IngestResult | errors.DlrhubError] = []
            message_rows: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            event_rows: list[dict[str, Any]] = []
            callback_rows: list[dict[str, Any]] = []
            recorded_at = now.timestamp()
            for item in batch:
                message = item.message
                account_id = message.account_id
                if message.request_id is not None and item.dedup_since is not None:
                    row = conn.execute(SELECT_REQUEST_ID, (account_id, message.request_id)).fetchone()
                    if row is not None and row["created_at"] >= item.dedup_since.timestamp():
                        out.append(errors.DuplicateRequest(row["message_id"]))
                        continue
                if item.charge > 0:
                    if account_id not in balances:
                        row = conn.execute(SELECT_BALANCE, (account_id,)).fetchone()
                        balances[account_id] = None if row is None else Decimal(row["balance"])
                    balance = balances[account_id]
                    if balance is None or balance < item.charge:
                        out.append(errors.InsufficientBalance())
                        continue
                    balances[account_id] = balance - item.charge
                    debited.add(account_id)
                if message.request_id is not None and item.dedup_since is not None:
                    conn.execute(
                        UPSERT_REQUEST_ID, (account_id, message.request_id, message.id, now.timestamp())
                    )
                plan = planning.plan_event(item.event, message, None, item.render, now)
                assert plan.message is not None
                mrow = rows.to_row(plan.message, core.BACKEND)
                if item.channel_due_at is not None:
                    mrow.update(channel_state="queued", channel_due_at=item.channel_due_at.timestamp())
                message_rows.setdefault(tuple(mrow), []).append(mrow)
                erow = rows.to_row(plan.event, core.BACKEND)
                erow["recorded_at"] = recorded_at
                event_rows.append(erow)
                callback_rows.extend(rows.to_row(c, core.BACKEND) for c in plan.callbacks)
                out.append(base.IngestResult(plan.event, plan.message, None, plan.callbacks))
            # The writes of `SqliteMessages._write_plan` for new messages, one statement per table.
            for columns, group in message_rows.items():
                conn.executemany(messages.insert_sql("messages", dict.fromkeys(columns)), group)
            conn.executemany(messages.INSERT_EVENT, event_rows)
            if callback_rows:
                conn.executemany(messages.INSERT_CALLBACK, callback_rows)
            for account_id in debited:
                conn.execute(SET_BALANCE, (str(balances[account_id]), account_id))
            return out

        results = await self._tx(run) if batch else []
        if any(isinstance(r, base.IngestResult) and r.callbacks for r in results):
            self._notify_callbacks()
        return results
