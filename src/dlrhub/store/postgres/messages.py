"""Messages and their events on PostgreSQL: accepting a message and applying a status event."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
from collections.abc import AsyncIterator

import asyncpg

from dlrhub.core import errors, models
from dlrhub.planning import events as planning
from dlrhub.store import message_search, nouns, rows
from dlrhub.store.postgres import core, statement

_MESSAGE_COLUMNS = [c for c in rows.columns(models.Message) if c != "id"]
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
#: A callback row's columns as a statement of `statement.Statement` inserts them.
CALLBACK_COLUMNS = (*CALLBACK_ORDER, "updated_at")
#: An event row's columns.
EVENT_COLUMNS = (*rows.columns(models.StatusEvent), "recorded_at", "account_id")
#: An event `e` still kept. Retention forgets a message's or journey's events with it, but those of a day's
#: partition stay there until the day is dropped (docs/adr/0009): they are not seen, and a message made again
#: under the same id does not own them (made more than a day after they were recorded, or by another account, as
#: EVENTS_OF reads).
KEPT_EVENT = (
    "(e.message_id IS NULL OR EXISTS (SELECT FROM messages AS o WHERE o.id = e.message_id"
    " AND o.account_id = e.account_id AND o.created_at <= e.recorded_at + interval '1 day'))"
    " AND (e.journey_id IS NULL OR EXISTS (SELECT FROM journeys AS j WHERE j.journey_id = e.journey_id))"
)
#: Whether an event id is stored: a duplicate (`SEEN_EVENT` then reads what is stored). Both reads below alias the
#: event's message `m`.
EVENT_SEEN = "EXISTS (SELECT FROM events AS e WHERE e.id = {id} AND " + KEPT_EVENT + ")"
#: An event's message, locked, and whether the event is stored already.
LOCK_MESSAGE = (
    f"SELECT m.*, {EVENT_SEEN.format(id='$2')} AS event_seen FROM messages m WHERE m.id = $1 FOR UPDATE OF m"
)
#: A message inserted by its first event (`{insert}`: `core.insert_sql`'s, its values first; the event's id in
#: `${n}`), as `LOCK_MESSAGE` answers; no row when it is stored already.
INSERT_MESSAGE = (
    "WITH m AS ({insert} ON CONFLICT (id) DO NOTHING RETURNING *)"
    f" SELECT m.*, {EVENT_SEEN.format(id='${n}')} AS event_seen FROM m"
)
#: A stored event, by its id. `events` is partitioned by day (docs/adr/0009) and its key is `(id, recorded_at)`:
#: an id is looked up in every partition (an index probe each), because an `event_id` is an idempotency key for as
#: long as the event is kept, whatever message it came with. Two deliveries of one id are serialised by the id's
#: lock (BEGIN_EVENT), taken before the lookup.
SEEN_EVENT = "SELECT e.* FROM events AS e WHERE e.id = $1 AND " + KEPT_EVENT
#: No constraint keeps an id unique any more, and the lock of its message or journey does not serialise two
#: deliveries of one id that name two messages (or none): every event's transaction begins with a lock on its
#: id's key (`event_lock_key`), in BEGIN's round trip, so that the second delivery looks the id up once the first
#: has committed. Taken before any row lock, by every event alike: no two events wait on each other in turn.
BEGIN_EVENT = "BEGIN; SELECT pg_advisory_xact_lock({key})"
#: A message's events, from the partitions since its creation (less a day for hosts whose clocks disagree), and
#: of its account: a message made again under the id of one retention deleted (whose events stay in their day's
#: partition until the day is dropped) shows none of the old one's, whoever made either.
EVENTS_OF = (
    "SELECT * FROM events WHERE message_id = $1"
    " AND recorded_at >= (SELECT created_at FROM messages WHERE id = $1) - interval '1 day'"
    " AND account_id = (SELECT account_id FROM messages WHERE id = $1)"
    " ORDER BY seq, recorded_at"
)
UPSERT_REQUEST_ID = (
    "INSERT INTO request_ids (account_id, request_id, message_id, created_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (account_id, request_id) DO UPDATE SET message_id = EXCLUDED.message_id,"
    " created_at = EXCLUDED.created_at"
)


def event_lock_key(event_id: str) -> int:
    """The key of `event_id`'s advisory lock: a signed 64-bit hash of it."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big", signed=True)


@contextlib.asynccontextmanager
async def _event_transaction(conn: asyncpg.Connection, event_id: str) -> AsyncIterator[None]:
    """A transaction that holds `event_id`'s lock from its start (BEGIN_EVENT, one round trip); committed when
    the block ends, rolled back when it raises."""
    await conn.execute(BEGIN_EVENT.format(key=event_lock_key(event_id)))  # an integer: nothing to quote
    try:
        yield
    except BaseException:
        if not conn.is_closed():
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await conn.execute("ROLLBACK")  # else the pool's reset rolls it back
        raise
    await conn.execute("COMMIT")


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
        """Four round trips for an event of a message: BEGIN with the id's lock, the message's read (inserting
        `new_message` first, or locking the stored one) with the check of the event's id, the writes, COMMIT."""
        pool = await self.pool()
        async with pool.acquire() as conn, _event_transaction(conn, event.id):
            message, seen_checked = None, False
            if event.message_id:
                row = None
                if new_message is not None:
                    # Insert first, so that concurrent first events for one message queue on its row lock.
                    sql, *values = core.insert_sql("messages", rows.to_row(new_message, core.BACKEND))
                    row = await conn.fetchrow(
                        INSERT_MESSAGE.format(insert=sql, n=len(values) + 1), *values, event.id
                    )
                if row is None:  # stored already (by this event's message's first event, maybe a moment ago)
                    row = await conn.fetchrow(LOCK_MESSAGE, event.message_id, event.id)
                if row is not None:
                    message, seen_checked = rows.from_row(models.Message, row), not row["event_seen"]
            journey = None
            if event.journey_id:
                jrow = await conn.fetchrow(
                    "SELECT * FROM journeys WHERE journey_id = $1 FOR UPDATE", event.journey_id
                )
                journey = None if jrow is None else rows.from_row(models.Journey, jrow)
            seen = None if seen_checked else await conn.fetchrow(SEEN_EVENT, event.id)
            stored = None if seen is None else rows.from_row(models.StatusEvent, seen)
            applied = planning.decide(event, stored, message, journey, new_message, inputs, now)
            if applied.plan is not None:
                await self._write_plan(conn, applied.plan, now, message_written=applied.insert_message)
            return applied.result

    async def _write_plan(
        self, conn: asyncpg.Connection, plan: planning.Plan, now: dt.datetime, *, message_written: bool
    ) -> None:
        """The plan's writes in one statement: the message's and journey's updates, the event, its callbacks and
        the dispatchers' NOTIFY."""
        st = statement.Statement(functools.partial(self.column_types, conn))
        if plan.message is not None and not message_written and plan.event.applied:
            await st.update("messages", "id", rows.to_row(plan.message, core.BACKEND), _MESSAGE_COLUMNS)
        if plan.journey is not None and plan.event.applied:
            jrow = rows.to_row(plan.journey, core.BACKEND)
            await st.update("journeys", "journey_id", jrow, ("state", "acknowledged_message_id"))
        erow = rows.to_row(plan.event, core.BACKEND)
        erow["recorded_at"] = now
        erow["account_id"] = plan.account_id
        await st.insert("events", EVENT_COLUMNS, [tuple(erow[c] for c in EVENT_COLUMNS)])
        if plan.callbacks:
            crows = [rows.to_row(callback, core.BACKEND) for callback in plan.callbacks]
            values = [(*(crow[c] for c in CALLBACK_ORDER), crow["created_at"]) for crow in crows]
            await st.insert("callbacks", CALLBACK_COLUMNS, values, "ON CONFLICT (id) DO NOTHING")
            st.notify = True
        sql = st.sql()  # before reading `st.args`: the NOTIFY's channel is one of them
        await conn.execute(sql, *st.args)

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
