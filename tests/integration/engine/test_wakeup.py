"""The store wakes a waiting dispatcher when callbacks are written: NOTIFY on PostgreSQL, in-process on SQLite."""

from __future__ import annotations

import asyncio

import asyncpg

from dlrhub import store
from dlrhub.core import models
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest


async def test_new_callbacks_wake_a_waiting_dispatcher(db_url):
    waiting = store.from_url(db_url)
    # SQLite wakes only within the writing process, so the writer is the same store there.
    writer = waiting if db_url.startswith("sqlite") else store.from_url(db_url)
    try:
        account = make_account()
        await writer.create_account(account, [])
        await waiting.wait_for_callbacks(0.01)  # subscribes (LISTEN) and clears any earlier wake-up
        waiter = asyncio.create_task(waiting.wait_for_callbacks(3600))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        await ingest(writer, account, "w1", models.EventKind.SUCCESS, "http://127.0.0.1:9/x")
        # Woken by the write, long before its hour-long timeout.
        await asyncio.wait_for(waiter, timeout=30)
    finally:
        if writer is not waiting:
            await writer.close()
        await waiting.close()


async def test_waiters_on_one_postgres_store_share_one_listen_connection(pg_url):
    waiting = store.from_url(pg_url)
    database = pg_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(pg_url)
    try:
        # Both start at once, before either has subscribed.
        await asyncio.gather(waiting.wait_for_callbacks(0.01), waiting.wait_for_callbacks(0.01))
        listening = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %'", database
        )
        assert listening == 1
    finally:
        await waiting.close()
        await admin.close()
