"""A scrape's store reads never scan `callbacks`: the counts come from `callback_counts`, the backlog's age off the
partial index `callbacks_due` (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN over a filled, analysed table)."""

from __future__ import annotations

import re
import sqlite3

import asyncpg
import pytest

from dlrhub.store.postgres import callbacks as pg_callbacks
from dlrhub.store.sqlite import callbacks as lite_callbacks

PG_FILL = """
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, state, due_at, attempts, created_at, updated_at)
SELECT 'cb' || i, 'ev' || i, 'a', 'native', 'm' || i, 'm' || i, 1, 'POST', 'http://127.0.0.1:9/h', '\\x7b7d'::bytea,
       NULL, 'http://127.0.0.1:9', CASE WHEN i % 100 = 0 THEN 'pending' ELSE 'succeeded' END,
       now() + (i % 600) * interval '1 second', 1, now(), now()
FROM generate_series(1, 50000) AS i
"""


def test_sqlite_oldest_due_reads_the_index(lite: sqlite3.Connection):
    plan = [row[3] for row in lite.execute(f"EXPLAIN QUERY PLAN {lite_callbacks.OLDEST_PENDING_DUE}")]
    assert any("callbacks_due" in step for step in plan), plan
    assert not [step for step in plan if re.fullmatch(r"SCAN callbacks\b.*", step) and "INDEX" not in step]


def test_sqlite_counts_do_not_touch_callbacks(lite: sqlite3.Connection):
    plan = [row[3] for row in lite.execute(f"EXPLAIN QUERY PLAN {lite_callbacks.COUNT_CALLBACKS}")]
    assert plan and not [step for step in plan if re.search(r"\bcallbacks\b", step)], plan


@pytest.mark.postgres
async def test_postgres_scrape_reads_scan_no_callbacks(pg_url: str):
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(PG_FILL)
        await conn.execute("ANALYZE callbacks")
        for sql in (
            pg_callbacks.OLDEST_PENDING_DUE,
            pg_callbacks.COUNT_CALLBACKS,
            pg_callbacks.FOLD_CALLBACK_COUNTS,
        ):
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}"))
            assert "Seq Scan on callbacks" not in plan, plan
            if sql is pg_callbacks.OLDEST_PENDING_DUE:
                assert "callbacks_due" in plan, plan
    finally:
        await conn.close()
