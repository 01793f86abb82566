"""Group commit on PostgreSQL: many `accept_message` calls in one transaction, in a few round trips."""

from __future__ import annotations

import datetime as dt
import functools

import asyncpg

from dlrhub.core import errors
from dlrhub.planning import accepts as accepting
from dlrhub.planning import events
from dlrhub.store.postgres import accounts, batch_write, messages

#: The batch's request ids are inserted if missing, then locked, in one order (so batches cannot deadlock):
#: a concurrent send of the same RequestId waits for this transaction, then sees its message.
SEED_REQUEST_IDS = (
    "INSERT INTO request_ids (account_id, request_id, message_id, created_at)"
    " SELECT a, r, '', '-infinity' FROM unnest($1::text[], $2::text[]) AS t(a, r) ORDER BY a, r"
    " ON CONFLICT DO NOTHING"
)
LOCK_REQUEST_IDS = (
    "SELECT account_id, request_id, message_id, created_at FROM request_ids"
    " WHERE (account_id, request_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    " ORDER BY account_id, request_id FOR UPDATE"
)
#: NO KEY UPDATE, as an UPDATE of the balance would take: it leaves the account's key free, so the foreign-key
#: checks of other sends' messages (KEY SHARE) do not wait for this batch.
LOCK_BALANCES = "SELECT id, balance FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE"
#: The seeded rows no accept of the batch used (it was refused): a refused accept leaves nothing behind.
DROP_UNUSED_SEEDS = (
    "DELETE FROM request_ids WHERE message_id = ''"
    " AND (account_id, request_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
)


class PostgresBatch(messages.PostgresMessages):
    """`accept_messages`: the accept path of `PostgresMessages.accept_message`, batched.

    A batch without RequestIds that charges one account (or none) is first decided as if the balance covered
    its charges, and written in one statement on its own that debits only if it does
    (`statement.Statement.debit_checked`): one round trip, and the balance's row lock held only while it runs.
    Any other batch, or one the balance does not cover, reads and locks its request ids and balances up front
    in a transaction, `accepting.decide` settles every accept from them, and the rows go in one statement: a
    few round trips however many sends it holds. (Several accounts' balances are locked in id order, so batches
    cannot deadlock: one UPDATE of several rows would lock them in the plan's order.)
    """

    async def accept_messages(
        self, batch: list[accepting.Accept], now: dt.datetime
    ) -> list[events.IngestResult | errors.DlrhubError]:
        if not batch:
            return []
        keys = accepting.request_keys(batch)
        pool = await self.pool()
        signatures = accepting.signatures(batch)
        if not keys and len(accepting.charged_accounts(batch)) <= 1:
            optimistic = accepting.decide(batch, now, {}, None)
            async with pool.acquire() as conn:
                types = functools.partial(self.column_types, conn)
                try:
                    if await batch_write.write(conn, types, optimistic, now, signatures):
                        return optimistic.results
                except asyncpg.UniqueViolationError as exc:
                    if exc.constraint_name != batch_write.SIGNATURES_KEY:
                        raise
        if not signatures:
            return await self._accept_locked(batch, now)
        # Taken on their own first, as a signature outside a send is (`PostgresAccounts.take_signature`).
        takes = [accounts.Take(s.sign, s.expires_at, now) for s in signatures]
        taken = await accounts.take_signatures(pool, takes)
        rest, merge = accepting.without_replays(batch, taken)
        return merge(await self._accept_locked(rest, now) if rest else [])

    async def _accept_locked(
        self, batch: list[accepting.Accept], now: dt.datetime
    ) -> list[events.IngestResult | errors.DlrhubError]:
        """The batch settled from its request ids and balances, read and locked first in its transaction."""
        keys = accepting.request_keys(batch)
        pool = await self.pool()
        charged = accepting.charged_accounts(batch)
        async with pool.acquire() as conn, conn.transaction():
            seen = {}
            if keys:
                accounts, request_ids = [k[0] for k in keys], [k[1] for k in keys]
                await conn.execute(SEED_REQUEST_IDS, accounts, request_ids)
                for row in await conn.fetch(LOCK_REQUEST_IDS, accounts, request_ids):
                    if row["message_id"]:  # not a row this batch just seeded
                        key = (row["account_id"], row["request_id"])
                        seen[key] = accepting.Seen(row["message_id"], row["created_at"])
            balances = {}
            if charged:
                balances = {r["id"]: r["balance"] for r in await conn.fetch(LOCK_BALANCES, charged)}
            decided = accepting.decide(batch, now, seen, balances)
            await batch_write.write(conn, functools.partial(self.column_types, conn), decided, now)  # checked
            if keys and len(decided.request_ids) < len(keys):
                await conn.execute(DROP_UNUSED_SEEDS, accounts, request_ids)
        return decided.results
