"""On PostgreSQL a claim's lease is a HOT update (migration 0027): no new entry in any of `callbacks`' indexes.

The lease sets only `lease_until` and `lease_owner`, which no index holds; PostgreSQL writes it without touching
the indexes only when the row's page has room for the new version, which the table's fillfactor leaves. Counted
with the backend's statistics not yet reported (`pg_stat_get_xact_*`, read before and after), never a timing.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from dlrhub.store.postgres import callbacks

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: `$1` pending callbacks to one destination, inserted together (so they fill pages in due order).
FILL = """
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
    content_type, endpoint, state, due_at, attempts, created_at, updated_at, health_key)
SELECT 'cb' || g, 'ev' || g, 'acc_1', 'native', 'm' || g, 'm' || g, 1, 'POST', 'http://127.0.0.1:9/h',
    convert_to(repeat('x', 300), 'UTF8'), 'application/json', 'http://127.0.0.1:9/h', 'pending',
    $2::timestamptz + g * interval '1 ms', 0, $2, $2, 'acc_1:http://127.0.0.1:9/h'
FROM generate_series(1, $1) g
"""
UPDATED = """
SELECT pg_stat_get_xact_tuples_updated('callbacks'::regclass) AS n,
       pg_stat_get_xact_tuples_hot_updated('callbacks'::regclass) AS hot
"""


async def test_callbacks_leave_room_for_their_leases(pg_url: str):
    conn = await asyncpg.connect(pg_url)
    try:
        options = await conn.fetchval("SELECT reloptions FROM pg_class WHERE relname = 'callbacks'")
        assert "fillfactor=50" in options
    finally:
        await conn.close()


@pytest.mark.parametrize("batch", [64, 500])
async def test_a_lease_writes_no_index_entry(pg_url: str, batch: int):
    conn = await asyncpg.connect(pg_url, server_settings=callbacks.PLAN_BY_INDEX)
    try:
        await conn.execute(FILL, 2_000, NOW)
        now = NOW + dt.timedelta(hours=1)
        until = now + dt.timedelta(minutes=1)
        for _ in range(3):
            async with conn.transaction():
                before = await conn.fetchrow(UPDATED)
                claimed = await conn.fetch(
                    callbacks.CLAIM_ENDPOINTS, ["http://127.0.0.1:9/h"], [batch], now, until, "w1"
                )
                counted = await conn.fetchrow(UPDATED)
            assert len(claimed) == batch
            updated, hot = counted["n"] - before["n"], counted["hot"] - before["hot"]
            assert (updated, hot) == (batch, batch)
    finally:
        await conn.close()
