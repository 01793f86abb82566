"""Group commit on SQLite: many `accept_message` calls in one transaction."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from typing import Any

from dlrhub.core import errors
from dlrhub.planning import accepts as accepting
from dlrhub.planning import events
from dlrhub.store import rows
from dlrhub.store.sqlite import accounts, core, ledger, messages

SELECT_REQUEST_ID = "SELECT message_id, created_at FROM request_ids WHERE account_id = ? AND request_id = ?"
UPSERT_REQUEST_ID = (
    "INSERT OR REPLACE INTO request_ids (account_id, request_id, message_id, created_at) VALUES (?, ?, ?, ?)"
)
SELECT_BALANCE = "SELECT balance FROM accounts WHERE id = ?"
SET_BALANCE = "UPDATE accounts SET balance = ? WHERE id = ?"


class SqliteBatch(messages.SqliteMessages):
    """`accept_messages`: the accept path of `SqliteMessages.accept_message`, batched."""

    async def accept_messages(
        self, batch: list[accepting.Accept], now: dt.datetime
    ) -> list[events.IngestResult | errors.DlrhubError]:
        if not batch:
            return []

        def run(conn: sqlite3.Connection) -> list[events.IngestResult | errors.DlrhubError]:
            rest, merge = accepting.without_replays(batch, _take_signatures(conn, batch, now))
            decided = accepting.decide(rest, now, _seen(conn, rest), _balances(conn, rest))
            _write(conn, decided, now)
            return merge(decided.results)

        results = await self._tx(run)
        if any(isinstance(r, events.IngestResult) and r.callbacks for r in results):
            self._notify_callbacks()
        return results


def _take_signatures(conn: sqlite3.Connection, batch: list[accepting.Accept], now: dt.datetime) -> list[bool]:
    """Take the batch's signatures in its transaction, in order (`SqliteAccounts.take_signature` for each)."""
    taken = []
    for signature in accepting.signatures(batch):
        conn.execute(accounts.SWEEP_SIGNATURES, (now.timestamp(),))
        insert = conn.execute(accounts.TAKE_SIGNATURE, (signature.sign, signature.expires_at.timestamp()))
        taken.append(insert.rowcount == 1)
    return taken


def _seen(
    conn: sqlite3.Connection, batch: list[accepting.Accept]
) -> dict[accepting.RequestKey, accepting.Seen]:
    seen = {}
    for key in accepting.request_keys(batch):
        row = conn.execute(SELECT_REQUEST_ID, key).fetchone()
        if row is not None:
            seen[key] = accepting.Seen(
                row["message_id"], dt.datetime.fromtimestamp(row["created_at"], dt.UTC)
            )
    return seen


def _balances(conn: sqlite3.Connection, batch: list[accepting.Accept]) -> dict[str, Decimal | None]:
    balances: dict[str, Decimal | None] = {}
    for account_id in accepting.charged_accounts(batch):
        row = conn.execute(SELECT_BALANCE, (account_id,)).fetchone()
        balances[account_id] = None if row is None else Decimal(row["balance"])
    return balances


def _write(conn: sqlite3.Connection, decided: accepting.Decided, now: dt.datetime) -> None:
    """The writes of `SqliteMessages._write_plan` for new messages, one statement per table."""
    stamp = now.timestamp()
    message_rows: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    event_rows: list[tuple[Any, ...]] = []
    callback_rows: list[dict[str, Any]] = []
    for accepted in decided.accepted:
        plan = accepted.plan
        assert plan.message is not None
        mrow = rows.to_row(plan.message, core.BACKEND)
        if accepted.channel_due_at is not None:
            mrow.update(channel_state="queued", channel_due_at=accepted.channel_due_at.timestamp())
        message_rows.setdefault(tuple(mrow), []).append(tuple(mrow.values()))
        event_rows.append(messages.event_values(plan, now))
        callback_rows.extend(rows.to_row(c, core.BACKEND) for c in plan.callbacks)
    if decided.request_ids:
        conn.executemany(UPSERT_REQUEST_ID, [(*r, stamp) for r in decided.request_ids])
    for columns, group in message_rows.items():
        conn.executemany(messages.insert_sql("messages", columns), group)
    conn.executemany(messages.INSERT_EVENT, event_rows)
    if callback_rows:
        conn.executemany(messages.INSERT_CALLBACK, callback_rows)
    for account_id, balance in decided.balances.items():
        conn.execute(SET_BALANCE, (str(balance), account_id))
    if decided.charges:
        ledger.write_charges(conn, decided.charges, now)
