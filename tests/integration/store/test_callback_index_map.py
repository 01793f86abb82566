"""Every index on `callbacks` has a reader, and every read of `callbacks` seeks the index meant for it.

Each index costs every callback's lifecycle an entry or two (insert, then the record of its end), so one no query
reads is dead weight, and a read that stops seeking its index scans the table. The map below is the one place
that says which read each index is for (docs/benchmarks.md, "Which read each callbacks index serves"): adding
or dropping an index, or changing a read's SQL, must keep it true. SQLite's plans (EXPLAIN QUERY PLAN) are the
same with and without `ANALYZE`; PostgreSQL's are taken on a filled, analysed table (the claims, also on stale
statistics, are `test_claim_plans.py`'s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.store import claims, nouns
from dlrhub.store.postgres import activity as pg_activity
from dlrhub.store.postgres import callbacks as pg_callbacks
from dlrhub.store.postgres import dispatch as pg_dispatch
from dlrhub.store.postgres import feed as pg_feed
from dlrhub.store.postgres import retention as pg_retention
from dlrhub.store.sqlite import activity as lite_activity
from dlrhub.store.sqlite import callbacks as lite_callbacks
from dlrhub.store.sqlite import core as lite_core
from dlrhub.store.sqlite import dispatch as lite_dispatch
from dlrhub.store.sqlite import feed as lite_feed
from dlrhub.store.sqlite import retention as lite_retention
from tests import pg
from tests.integration.store import test_claim_plans

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T = NOW.timestamp()
#: 20,000 callbacks: 3 % pending, 1 % failed, the rest succeeded; 4 accounts, 40 destinations.
LITE_FILL = """
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 20000)
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
    content_type, endpoint, state, due_at, attempts, created_at, updated_at, health_key, last_outcome)
SELECT 'cb' || i, 'ev' || i, 'acc_' || (i % 4), 'native', 'm' || i, 'm' || i, 1, 'POST',
    'http://127.0.0.1:' || (i % 40) || '/cb', x'00', 'application/json', 'http://127.0.0.1:' || (i % 40),
    CASE WHEN i % 100 < 3 THEN 'pending' WHEN i % 100 = 3 THEN 'failed' ELSE 'succeeded' END,
    :t + i, 1, :t + i, :t + i, 'acc_' || (i % 4) || ':http://127.0.0.1:' || (i % 40) || '/cb',
    CASE WHEN i % 100 IN (1, 3) THEN 'error' ELSE 'ok' END
FROM g
"""
PG_FILL = """
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
    content_type, endpoint, state, due_at, attempts, created_at, updated_at, health_key, last_outcome)
SELECT 'cb' || i, 'ev' || i, 'acc_' || (i % 4), 'native', 'm' || i, 'm' || i, 1, 'POST',
    'http://127.0.0.1:' || (i % 40) || '/cb', '\\x00'::bytea, 'application/json', 'http://127.0.0.1:' || (i % 40),
    CASE WHEN i % 100 < 3 THEN 'pending' WHEN i % 100 = 3 THEN 'failed' ELSE 'succeeded' END,
    $1::timestamptz + i * interval '1 second', 1, $1::timestamptz + i * interval '1 second',
    $1::timestamptz + i * interval '1 second', 'acc_' || (i % 4) || ':http://127.0.0.1:' || (i % 40) || '/cb',
    CASE WHEN i % 100 IN (1, 3) THEN 'error' ELSE 'ok' END
FROM generate_series(1, 50000) AS i
"""
HEALTH_KEY = "acc_1:http://127.0.0.1:1/cb"
FAILED_PAGE = nouns.CallbackFilter(states=(models.CallbackState.FAILED,), newest_first=True, limit=50)


def _lite_reads() -> dict[str, tuple[str, Any, set[str]]]:
    """Each SQLite read of `callbacks`: its SQL, parameters and the indexes its plan must search."""
    step = claims.Pass(512, 64, frozenset())
    until, owner = T + 60, "w1"
    found, found_params = lite_dispatch.find_query(FAILED_PAGE)
    return {
        "ACCOUNTS_PENDING": (
            lite_callbacks.ACCOUNTS_PENDING,
            {"after": "", "n": 64},
            {"callbacks_account_due"},
        ),
        "CLAIM_DUE": (
            lite_callbacks.CLAIM_DUE,
            {
                "exclude": "[]",
                "accounts": '["acc_0", "acc_1"]',
                "now": T,
                "until": until,
                "owner": owner,
                "limit": step.limit,
                "quota": step.quota,
                "share": step.share,
                "steps": step.steps,
            },
            {"callbacks_account_due", "callbacks_order"},
        ),
        "CLAIM_ENDPOINT": (
            lite_callbacks.CLAIM_ENDPOINT,
            {"endpoint": "http://127.0.0.1:1", "now": T, "until": until, "owner": owner, "limit": 64},
            {"callbacks_endpoint_due", "callbacks_order"},
        ),
        "OLDEST_PENDING_DUE": (lite_callbacks.OLDEST_PENDING_DUE, (), {"callbacks_due"}),
        "OLDEST_DUE": (lite_callbacks.OLDEST_DUE, (T,), {"callbacks_due"}),
        "DEFER_ENDPOINT": (
            lite_dispatch.DEFER_ENDPOINT,
            (T, T, HEALTH_KEY, T, T, 0, 500),
            {"callbacks_health"},
        ),
        "ADVANCE_ENDPOINT": (
            lite_dispatch.ADVANCE_ENDPOINT,
            (T, T, HEALTH_KEY, T, T + 60, T, 0, 500),
            {"callbacks_health"},
        ),
        "CANCEL_ENDPOINT": (lite_dispatch.CANCEL_ENDPOINT, (T, HEALTH_KEY, 0, 500), {"callbacks_health"}),
        "RECENT_FAILURES": (lite_dispatch.RECENT_FAILURES, (HEALTH_KEY, 3), {"callbacks_health_failed"}),
        "FIND failed, newest first": (found, found_params, {"callbacks_unsettled"}),
        "FIND by message": (
            *lite_dispatch.find_query(nouns.CallbackFilter(message_id="m1")),
            {"callbacks_message"},
        ),
        "UNDELIVERED": (
            lite_feed.UNDELIVERED,
            {"account_id": "acc_1", "pending_before": T, "after_at": 0.0, "after_id": "", "limit": 100},
            {"callbacks_undelivered"},
        ),
        "MESSAGE_ENDPOINTS": (lite_feed.MESSAGE_ENDPOINTS, ('["m1", "m2"]',), {"callbacks_message"}),
        "FINISHED_BADLY": (lite_activity.FINISHED_BADLY, (T, T + 3600), {"callbacks_finished_badly"}),
        "retention SELECT_CALLBACKS": (
            lite_retention.SELECT_CALLBACKS,
            {"before": T + 10_000, "limit": 500},
            {"callbacks_created"},
        ),
    }


@pytest.fixture(params=["fresh", "analysed"])
async def lite(sqlite_url: str, request: pytest.FixtureRequest):
    db = store.from_url(sqlite_url)
    assert isinstance(db, lite_core.SqliteCore)
    conn = db._writer_connection()
    conn.execute(LITE_FILL, {"t": T})
    if request.param == "analysed":
        conn.execute("ANALYZE")
    conn.commit()
    yield conn
    await db.close()


def _lite_plan(conn: sqlite3.Connection, sql: str, params: Any) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


def _lite_table_walks(conn: sqlite3.Connection, sql: str, params: Any) -> list[int]:
    """The program's walks of the `callbacks` table itself (a Rewind or Last on a cursor opened on its b-tree),
    whatever alias or CTE name the query plan shows; a row read by rowid is a seek, not a walk."""
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'callbacks'"
    ).fetchone()
    program = conn.execute(f"EXPLAIN {sql}", params).fetchall()
    cursors = {p1 for _, opcode, p1, p2, *_ in program if opcode in ("OpenRead", "OpenWrite") and p2 == root}
    return [addr for addr, opcode, p1, *_ in program if opcode in ("Rewind", "Last") and p1 in cursors]


@pytest.mark.parametrize("name", list(_lite_reads()))
def test_sqlite_reads_search_their_indexes(lite: sqlite3.Connection, name: str):
    sql, params, indexes = _lite_reads()[name]
    plan = _lite_plan(lite, sql, params)
    used = {m[1] for step in plan if (m := re.search(r"USING (?:COVERING )?INDEX (\w+)", step))}
    assert indexes <= used, plan
    assert _lite_table_walks(lite, sql, params) == [], plan


def test_every_sqlite_index_on_callbacks_has_a_reader(lite: sqlite3.Connection):
    indexes = {
        name
        for (name,) in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'callbacks' AND sql IS NOT NULL"
        )
    }
    read = set().union(*(indexes for _, _, indexes in _lite_reads().values()))
    assert indexes == read


def _pg_reads() -> dict[str, tuple[str, list[Any], set[str]]]:
    """Each PostgreSQL read of `callbacks` besides the claims: its SQL, arguments and the indexes its plan uses."""
    found, found_args = pg_dispatch.find_query(FAILED_PAGE)
    until = NOW + dt.timedelta(hours=1)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return {
        "OLDEST_PENDING_DUE": (pg_callbacks.OLDEST_PENDING_DUE, [], {"callbacks_due"}),
        "OLDEST_DUE": (pg_callbacks.OLDEST_DUE, [NOW], {"callbacks_due"}),
        "DEFER_ENDPOINT": (pg_dispatch.DEFER_ENDPOINT, [HEALTH_KEY, until, NOW], {"callbacks_health"}),
        "ADVANCE_ENDPOINT": (pg_dispatch.ADVANCE_ENDPOINT, [HEALTH_KEY, until, NOW], {"callbacks_health"}),
        "CANCEL_ENDPOINT": (pg_dispatch.CANCEL_ENDPOINT, [HEALTH_KEY, NOW], {"callbacks_health"}),
        "RECENT_FAILURES": (pg_dispatch.RECENT_FAILURES, [[HEALTH_KEY], 3], {"callbacks_health_failed"}),
        "FIND failed, newest first": (found, found_args, {"callbacks_unsettled"}),
        "FIND by message": (
            *pg_dispatch.find_query(nouns.CallbackFilter(message_id="m1")),
            {"callbacks_message"},
        ),
        "UNDELIVERED": (pg_feed.UNDELIVERED, ["acc_1", NOW, epoch, "", 100], {"callbacks_undelivered"}),
        "MESSAGE_ENDPOINTS": (pg_feed.MESSAGE_ENDPOINTS, [["m1", "m2"]], {"callbacks_message"}),
        "FINISHED_BADLY": (pg_activity.FINISHED_BADLY, [NOW, until], {"callbacks_finished_badly"}),
        "retention SELECT_CALLBACKS": (pg_retention.SELECT_CALLBACKS, [NOW, 500], {"callbacks_created"}),
    }


@pytest.fixture(scope="module")
def pg_filled(pg_template: pg.Template) -> Iterator[str]:
    """One filled, analysed database for the module's plans (they only read)."""
    name = asyncio.run(pg_template.clone())

    async def fill() -> None:
        conn = await asyncpg.connect(pg.admin_dsn(name))
        try:
            await conn.execute(PG_FILL, NOW - dt.timedelta(hours=10))
            await conn.execute("ANALYZE callbacks")
        finally:
            await conn.close()

    asyncio.run(fill())
    yield pg.admin_dsn(name)
    asyncio.run(pg.Template.drop(name))


@pytest.mark.postgres
@pytest.mark.parametrize("name", list(_pg_reads()))
async def test_postgres_reads_use_an_index(pg_filled: str, name: str):
    """PostgreSQL picks among the indexes by cost (a health key's few pending callbacks may come off
    `callbacks_due`'s range as cheaply as off `callbacks_health`): each read uses one, and never reads the table
    whole."""
    sql, args, _ = _pg_reads()[name]
    conn = await asyncpg.connect(pg_filled)
    try:
        async with conn.transaction():  # EXPLAIN of an UPDATE plans it only: nothing is written
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *args))
    finally:
        await conn.close()
    assert re.search(
        r"(Index Scan|Index Only Scan|Bitmap Index Scan)( Backward)?( using| on) callbacks_", plan
    ), plan
    assert "Seq Scan on callbacks" not in plan, plan


@pytest.mark.postgres
async def test_every_postgres_index_on_callbacks_has_a_reader(pg_filled: str):
    conn = await asyncpg.connect(pg_filled)
    try:
        rows = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'callbacks' AND indexname <> 'callbacks_pkey'"
        )
    finally:
        await conn.close()
    read = set().union(
        *(indexes for _, _, indexes in _pg_reads().values()), *test_claim_plans.CLAIMS.values()
    )
    assert {r["indexname"] for r in rows} == read
