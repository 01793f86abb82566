"""Group commit on PostgreSQL: many `accept_message` calls in one transaction, each in its own savepoint."""

from __future__ import annotations

import asyncpg

from dlrhub import errors, planning
from dlrhub.store import base, rows
from dlrhub.store.postgres import core, messages

SEED_REQUEST_ID = (
    "INSERT INTO request_ids (account_id, request_id, message_id, created_at)"
    " VALUES ($1, $2, '', '-infinity') ON CONFLICT DO NOTHING"
)


class PostgresBatch(messages.PostgresMessages):
    """`accept_messages`: the accept path of `PostgresMessages.accept_message`, batched."""

    async def accept_messages(self, batch: list[base.Accept]) -> list[base.IngestResult | errors.DlrhubError]:
        if not batch:
            return []
        now = self.clock()

        async def accept(conn: asyncpg.Connection, item: base.Accept) -> base.IngestResult:
            message = item.message
            if message.request_id is not None and item.dedup_since is not None:
                # Serialise concurrent sends of the same RequestId on a row lock (inserted if missing).
                await conn.execute(SEED_REQUEST_ID, message.account_id, message.request_id)
                row = await conn.fetchrow(messages.CHECK_REQUEST_ID, message.account_id, message.request_id)
                if row is not None and row["message_id"] and row["created_at"] >= item.dedup_since:
                    raise errors.DuplicateRequest(row["message_id"])
                await conn.execute(
                    messages.UPSERT_REQUEST_ID, message.account_id, message.request_id, message.id, now
                )
            if (
                item.charge > 0
                and await conn.execute(messages.DEBIT, message.account_id, item.charge) == "UPDATE 0"
            ):
                raise errors.InsufficientBalance()
            plan = planning.plan_event(item.event, message, None, item.render, now)
            assert plan.message is not None
            mrow = rows.to_row(plan.message, core.BACKEND)
            if item.channel_due_at is not None:
                mrow.update(channel_state="queued", channel_due_at=item.channel_due_at)
            await conn.execute(*core.insert_sql("messages", mrow))
            await self._write_plan(conn, plan, now, message_written=True)
            return base.IngestResult(plan.event, plan.message, None, plan.callbacks)

        out: list[base.IngestResult | errors.DlrhubError] = []
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            for item in batch:
                try:
                    async with conn.transaction():  # a savepoint: a refusal undoes only this accept
                        out.append(await accept(conn, item))
                except errors.DlrhubError as exc:
                    out.append(exc)
        return out
