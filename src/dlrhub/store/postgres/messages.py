"""Messages and their events on PostgreSQL: accepting a message and applying a status event."""

from __future__ import annotations

import datetime as dt

import asyncpg

from dlrhub.core import errors, models
from dlrhub.planning import events as planning
from dlrhub.store import message_search, nouns, rows
from dlrhub.store.postgres import core

_MESSAGE_COLUMNS = [c for c in rows.columns(models.Message) if c != "id"]
UPDATE_MESSAGE = f"UPDATE messages SET {', '.join(f'{c} = ${i}' for i, c in enumerate(_MESSAGE_COLUMNS, start=2))} WHERE id = $1"
INSERT_CALLBACK = (
    "INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,"
    " content_type, endpoint, state, due_at, attempts, last_outcome, last_status, created_at, updated_at,"
    " traceparent, health_key)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20)"
    " ON CONFLICT (id) DO NOTHING"
)
CALLBACK_ORDER = (
    "id",
    "event_id",
    "account_id",
    "dialect",
    "message_id",
    "order_key",
    "seq",
    "method",
    "url",
    "body",
    "content_type",
    "endpoint",
    "state",
    "due_at",
    "attempts",
    "last_outcome",
    "last_status",
    "created_at",
    "traceparent",
    "health_key",
)
#: An event row's columns, in the order of INSERT_EVENT's parameters.
EVENT_COLUMNS = (*rows.columns(models.StatusEvent), "recorded_at", "account_id")
INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(EVENT_COLUMNS) + 1))})"
)
#: The event stored under an id, looked up after its message or journey is locked (which serialises two deliveries
#: of it): `events` is partitioned by day (docs/adr/0009), and an event is recorded no earlier than its owner (`$2`,
#: the earlier creation time of the two) was made and no later than now (`$3`), give or take a day for clocks that
#: disagree, so only those days' partitions are read. With no owner (`$2` NULL) every partition up to tomorrow is
#: looked in, under LOCK_EVENT_ID.
SEEN_EVENT = (
    "SELECT * FROM events WHERE id = $1"
    " AND recorded_at >= coalesce($2::timestamptz - interval '1 day', '-infinity'::timestamptz)"
    " AND recorded_at < $3::timestamptz + interval '1 day'"
)
#: Two deliveries of an event with neither message nor journey have no row lock to queue on: they queue on this.
LOCK_EVENT_ID = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
#: A message's events, from the partitions since its creation (less a day, as SEEN_EVENT).
EVENTS_OF = (
    "SELECT * FROM events WHERE message_id = $1"
    " AND recorded_at >= (SELECT created_at FROM messages WHERE id = $1) - interval '1 day'"
    " ORDER BY seq, recorded_at"
)
UPSERT_REQUEST_ID = (
    "INSERT INTO request_ids (account_id, request_id, message_id, created_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (account_id, request_id) DO UPDATE SET message_id = EXCLUDED.message_id,"
    " created_at = EXCLUDED.created_at"
)


class PostgresMessages(core.PostgresCore):
    """Accepting messages, applying events, reading messages and events."""

    async def apply_event(
        self,
        event: models.StatusEvent,
        inputs: planning.RenderInputs,
        *,
        now: dt.datetime,
        new_message: models.Message | None = None,
    ) -> planning.IngestResult:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            message = None
            if event.message_id:
                if new_message is not None:
                    # Insert first, so that concurrent first events for one message queue on its row lock.
                    mrow = rows.to_row(new_message, core.BACKEND)
                    await conn.execute(*core.insert_sql("messages", mrow, "ON CONFLICT (id) DO NOTHING"))
                row = await conn.fetchrow("SELECT * FROM messages WHERE id = $1 FOR UPDATE", event.message_id)
                message = None if row is None else rows.from_row(models.Message, row)
            journey = None
            if event.journey_id:
                jrow = await conn.fetchrow(
                    "SELECT * FROM journeys WHERE journey_id = $1 FOR UPDATE", event.journey_id
                )
                journey = None if jrow is None else rows.from_row(models.Journey, jrow)
            made = [owner.created_at for owner in (message, journey) if owner is not None]
            if not made:
                await conn.execute(LOCK_EVENT_ID, event.id)
            seen = await conn.fetchrow(SEEN_EVENT, event.id, min(made, default=None), now)
            stored = None if seen is None else rows.from_row(models.StatusEvent, seen)
            applied = planning.decide(event, stored, message, journey, new_message, inputs, now)
            if applied.plan is not None:
                await self._write_plan(conn, applied.plan, now, message_written=applied.insert_message)
            return applied.result

    async def _write_plan(
        self, conn: asyncpg.Connection, plan: planning.Plan, now: dt.datetime, *, message_written: bool
    ) -> None:
        if plan.message is not None and not message_written and plan.event.applied:
            mrow = rows.to_row(plan.message, core.BACKEND)
            await conn.execute(UPDATE_MESSAGE, mrow["id"], *(mrow[c] for c in _MESSAGE_COLUMNS))
        if plan.journey is not None and plan.event.applied:
            await conn.execute(
                "UPDATE journeys SET state = $2, acknowledged_message_id = $3 WHERE journey_id = $1",
                plan.journey.journey_id,
                plan.journey.state.value,
                plan.journey.acknowledged_message_id,
            )
        erow = rows.to_row(plan.event, core.BACKEND)
        erow["recorded_at"] = now
        erow["account_id"] = plan.account_id
        await conn.execute(INSERT_EVENT, *(erow[c] for c in EVENT_COLUMNS))
        if plan.callbacks:
            params = []
            for callback in plan.callbacks:
                crow = rows.to_row(callback, core.BACKEND)
                params.append([crow[c] for c in CALLBACK_ORDER])
            await conn.executemany(INSERT_CALLBACK, params)
            await conn.execute("SELECT pg_notify($1, '')", core.CALLBACKS_CHANNEL)

    async def get_message(self, message_id: str) -> models.Message:
        pool = await self.pool()
        row = await pool.fetchrow("SELECT * FROM messages WHERE id = $1", message_id)
        if row is None:
            raise errors.UnknownMessage(f"no message {message_id!r}")
        return rows.from_row(models.Message, row)

    async def get_messages(self, account_id: str, message_ids: list[str]) -> list[models.Message]:
        if not message_ids:
            return []
        pool = await self.pool()
        found = await pool.fetch(
            "SELECT * FROM messages WHERE account_id = $1 AND id = ANY($2::text[])", account_id, message_ids
        )
        by_id = {r["id"]: rows.from_row(models.Message, r) for r in found}
        return [by_id[i] for i in dict.fromkeys(message_ids) if i in by_id]

    async def search_messages(self, q: nouns.MessageQuery) -> list[models.Message]:
        sql, params = message_search.select(q, core.BACKEND)
        pool = await self.pool()
        return [rows.from_row(models.Message, r) for r in await pool.fetch(sql, *params)]

    async def list_events(self, message_id: str) -> list[models.StatusEvent]:
        pool = await self.pool()
        found = await pool.fetch(EVENTS_OF, message_id)
        return [rows.from_row(models.StatusEvent, r) for r in found]
