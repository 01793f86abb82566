"""Messages and their events on SQLite: accepting a message and applying a status event."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from typing import Any

from dlrhub.core import errors, models
from dlrhub.planning import events as planning
from dlrhub.store import message_search, nouns, rows
from dlrhub.store.sqlite import core

_MESSAGE_COLUMNS = [c for c in rows.columns(models.Message) if c != "id"]
UPDATE_MESSAGE = f"UPDATE messages SET {', '.join(f'{c} = :{c}' for c in _MESSAGE_COLUMNS)} WHERE id = :id"
#: An event row's columns, in the order of INSERT_EVENT's parameters (positional binding is the cheaper).
EVENT_COLUMNS = (*rows.columns(models.StatusEvent), "recorded_at", "account_id")
INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)
INSERT_CALLBACK = (
    "INSERT OR IGNORE INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url,"
    " body, content_type, endpoint, health_key, state, due_at, attempts, last_outcome, last_status, created_at,"
    " updated_at, traceparent) VALUES (:id, :event_id, :account_id, :dialect, :message_id, :order_key, :seq,"
    " :method, :url, :body, :content_type, :endpoint, :health_key, :state, :due_at, :attempts, :last_outcome,"
    " :last_status, :created_at, :created_at, :traceparent)"
)
UPDATE_JOURNEY = "UPDATE journeys SET state = ?, acknowledged_message_id = ? WHERE journey_id = ?"


def insert_sql(table: str, columns: Iterable[str]) -> str:
    """An INSERT of `columns` into `table`, bound by position: pass a row's values in the same order."""
    names = list(columns)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"


def event_values(plan: planning.Plan, recorded_at: dt.datetime) -> tuple[Any, ...]:
    """INSERT_EVENT's parameters for the event of `plan`."""
    erow = rows.to_row(plan.event, core.BACKEND)
    erow["recorded_at"] = recorded_at.timestamp()
    erow["account_id"] = plan.account_id
    return tuple(erow[c] for c in EVENT_COLUMNS)


class SqliteMessages(core.SqliteCore):
    """Accepting messages, applying events, reading messages and events."""

    async def apply_event(
        self,
        event: models.StatusEvent,
        inputs: planning.RenderInputs,
        *,
        now: dt.datetime,
        new_message: models.Message | None = None,
    ) -> planning.IngestResult:

        def run(conn: sqlite3.Connection) -> planning.IngestResult:
            seen = conn.execute("SELECT * FROM events WHERE id = ?", (event.id,)).fetchone()
            message = self._message(conn, event.message_id) if event.message_id else None
            journey = None
            if event.journey_id:
                jrow = conn.execute(
                    "SELECT * FROM journeys WHERE journey_id = ?", (event.journey_id,)
                ).fetchone()
                journey = None if jrow is None else rows.from_row(models.Journey, jrow)
            stored = None if seen is None else rows.from_row(models.StatusEvent, seen)
            applied = planning.decide(event, stored, message, journey, new_message, inputs, now)
            plan = applied.plan
            if plan is not None:
                if applied.insert_message and plan.message is not None:
                    mrow = rows.to_row(plan.message, core.BACKEND)
                    conn.execute(insert_sql("messages", mrow), tuple(mrow.values()))
                self._write_plan(conn, plan, now, message_written=applied.insert_message)
            return applied.result

        result = await self._tx(run)
        if result.callbacks:
            self._notify_callbacks()
        return result

    def _write_plan(
        self, conn: sqlite3.Connection, plan: planning.Plan, now: dt.datetime, *, message_written: bool
    ) -> None:
        if plan.message is not None and not message_written and plan.event.applied:
            conn.execute(UPDATE_MESSAGE, rows.to_row(plan.message, core.BACKEND))
        if plan.journey is not None and plan.event.applied:
            conn.execute(
                UPDATE_JOURNEY,
                (plan.journey.state.value, plan.journey.acknowledged_message_id, plan.journey.journey_id),
            )
        conn.execute(INSERT_EVENT, event_values(plan, now))
        conn.executemany(INSERT_CALLBACK, [rows.to_row(c, core.BACKEND) for c in plan.callbacks])

    @staticmethod
    def _message(conn: sqlite3.Connection, message_id: str) -> models.Message | None:
        row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return None if row is None else rows.from_row(models.Message, row)

    async def get_message(self, message_id: str) -> models.Message:
        message = await self._read(lambda conn: self._message(conn, message_id))
        if message is None:
            raise errors.UnknownMessage(f"no message {message_id!r}")
        return message

    async def get_messages(self, account_id: str, message_ids: list[str]) -> list[models.Message]:
        if not message_ids:
            return []

        def run(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            marks = ", ".join("?" for _ in message_ids)
            # `+account_id` keeps SQLite on the primary key: with many ids it would otherwise pick the
            # (account_id, created_at) index and scan every message of the account.
            sql = f"SELECT * FROM messages WHERE +account_id = ? AND id IN ({marks})"
            return conn.execute(sql, (account_id, *message_ids)).fetchall()

        by_id = {r["id"]: rows.from_row(models.Message, r) for r in await self._read(run)}
        return [by_id[i] for i in dict.fromkeys(message_ids) if i in by_id]

    async def search_messages(self, q: nouns.MessageQuery) -> list[models.Message]:
        sql, params = message_search.select(q, core.BACKEND)
        found = await self._read(lambda c: c.execute(sql, params).fetchall())
        return [rows.from_row(models.Message, r) for r in found]

    async def list_events(self, message_id: str) -> list[models.StatusEvent]:
        found = await self._read(
            lambda c: c.execute(
                "SELECT * FROM events WHERE message_id = ? ORDER BY seq, recorded_at", (message_id,)
            ).fetchall()
        )
        return [rows.from_row(models.StatusEvent, r) for r in found]
