"""Every read of `messages` outside the overview (test_activity_plans) and the search's SQLite plans
(test_message_search) walks the index it was written for, on both backends: SQLite's EXPLAIN QUERY PLAN (it keeps
no statistics), and PostgreSQL's EXPLAIN over a realistic spread of 20,000 messages, analysed, so the planner
chooses as it would in production. After migration 0030 (one `(state, dialect, …)` index for the search where
there were two, no `tracking_id` index) no read is left without its index."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from typing import Any

import asyncpg
import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.store import message_search
from dlrhub.store.postgres import channel as pg_channel
from dlrhub.store.postgres import esms as pg_esms
from dlrhub.store.postgres import feed as pg_feed
from dlrhub.store.postgres import retention as pg_retention
from dlrhub.store.sqlite import channel as lite_channel
from dlrhub.store.sqlite import esms as lite_esms
from dlrhub.store.sqlite import feed as lite_feed
from dlrhub.store.sqlite import retention as lite_retention
from tests.conftest import make_account

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
IDS = ["m00000100", "m00000200", "m00000300"]

#: Each read: its SQLite SQL and parameters, its PostgreSQL SQL and parameters, and the index it walks.
#: `get_message` and `get_messages` (the pull: GetCallback, `/v1` statuses) are written inline in the stores.
READS: dict[str, tuple[str, Any, str, tuple[object, ...], str]] = {
    "get_message": (
        "SELECT * FROM messages WHERE id = ?",
        ("m00000100",),
        "SELECT * FROM messages WHERE id = $1",
        ("m00000100",),
        "pkey",
    ),
    "get_messages": (
        f"SELECT * FROM messages WHERE +account_id = ? AND id IN ({', '.join('?' for _ in IDS)})",
        ("a0", *IDS),
        "SELECT * FROM messages WHERE account_id = $1 AND id = ANY($2::text[])",
        ("a0", IDS),
        "pkey",
    ),
    "esms statuses": (
        lite_esms.STATUSES.format(", ".join("?" for _ in IDS)),
        ("a0", *IDS),
        pg_esms.STATUSES,
        ("a0", IDS),
        "pkey",
    ),
    "zalo msg id": (
        lite_esms.FIND_BY_ZALO_MSG_ID,
        ("z00000100", "a0"),
        pg_esms.FIND_BY_ZALO_MSG_ID,
        ("z00000100", "a0"),
        "messages_zalo_msg_id",
    ),
    "recent messages": (
        lite_feed.RECENT_MESSAGES,
        ("a0", 50),
        pg_feed.RECENT_MESSAGES,
        ("a0", 50),
        "messages_account_created_id",
    ),
    "channel due": (
        lite_channel.SELECT_DUE,
        (NOW.timestamp(), 32),
        pg_channel.SELECT_DUE,
        (NOW, 32),
        "messages_channel_due",
    ),
    "channel stale": (
        lite_channel.SELECT_STALE,
        (NOW.timestamp(), 32),
        pg_channel.CLAIM_STALE,
        (NOW, 32, NOW),
        "messages_channel_due",
    ),
    "retention": (
        lite_retention.SELECT_MESSAGES,
        {"before": (NOW - dt.timedelta(days=20)).timestamp(), "limit": 500},
        pg_retention.SELECT_MESSAGES,
        (NOW - dt.timedelta(days=20), 500),
        "messages_created_id",
    ),
    "journeys": (
        lite_retention.SELECT_JOURNEYS,
        {"before": (NOW - dt.timedelta(days=20)).timestamp(), "limit": 500},
        pg_retention.SELECT_JOURNEYS,
        (NOW - dt.timedelta(days=20), 500),
        "messages_journey",
    ),
}
#: Searches whose lead filter is the state or the dialect (the others keep the indexes they had).
SEARCHES = {
    "state": store.MessageQuery(state=models.MessageState.FAILED),
    "state accepted": store.MessageQuery(state=models.MessageState.ACCEPTED),
    "dialect": store.MessageQuery(dialect=models.Dialect.NATIVE),
    "state+dialect": store.MessageQuery(state=models.MessageState.FAILED, dialect=models.Dialect.ESMS),
    "state, deep": store.MessageQuery(state=models.MessageState.FAILED, before=(NOW, "m00000500")),
}

#: 20,000 messages over 30 days: ten accounts, most delivered, a few failed or still accepted (those queued for
#: the channel), three dialects, a Zalo msg id on most, a journey on a few.
FILL = """
INSERT INTO messages (id, account_id, dialect, type_id, recipient, state, created_at, updated_at, channel_state,
                      channel_due_at, zalo_msg_id, journey_id)
SELECT 'm' || lpad(n::text, 8, '0'), 'a' || (n % 10), (ARRAY['esms', 'esms', 'nxcloud', 'native'])[n % 4 + 1], 25,
       '849' || lpad((n % 5000)::text, 8, '0'),
       CASE WHEN n % 50 = 0 THEN 'accepted' WHEN n % 8 = 0 THEN 'failed' ELSE 'delivered' END,
       $1::timestamptz - interval '30 days' + n * interval '2 minutes',
       $1::timestamptz - interval '30 days' + n * interval '2 minutes',
       CASE WHEN n % 50 = 0 THEN 'queued' ELSE 'done' END,
       CASE WHEN n % 50 = 0 THEN $1::timestamptz END,
       CASE WHEN n % 50 <> 0 THEN 'z' || lpad(n::text, 8, '0') END,
       CASE WHEN n % 100 = 1 THEN 'j' || n END
FROM generate_series(1, 20000) AS n
"""


@pytest.fixture
async def pg(pg_url: str):
    db = store.from_url(pg_url)
    for n in range(10):
        await db.create_account(make_account(id=f"a{n}"), [])
    await db.close()
    conn = await asyncpg.connect(pg_url)
    await conn.execute(FILL, NOW)
    await conn.execute("ANALYZE")
    yield conn
    await conn.close()


def lite_walks(plan: list[str], index: str) -> bool:
    if index == "pkey":
        return any(
            re.match(r"SEARCH messages USING INDEX sqlite_autoindex_messages_1 \(id=\?\)", s) for s in plan
        )
    walk = "(SEARCH|SCAN)" if index == "messages_channel_due" else "SEARCH"  # the stale claim's: see below
    return any(re.match(rf"{walk} (messages|m) USING (COVERING )?INDEX {index}\b", s) for s in plan)


@pytest.mark.parametrize("name", sorted(READS))
def test_sqlite_reads_of_messages_walk_their_index(lite: sqlite3.Connection, name: str) -> None:
    sql, params, _, _, index = READS[name]
    plan = [row[3] for row in lite.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert lite_walks(plan, index), plan
    # The stale claim reads the in-flight messages' partial index whole (few rows), sorted after: not the table.
    assert not [s for s in plan if re.match(r"SCAN (messages|m)\b", s) and "messages_channel_due" not in s], (
        plan
    )


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(READS))
async def test_postgres_reads_of_messages_walk_their_index(pg: asyncpg.Connection, name: str) -> None:
    _, _, sql, params, index = READS[name]
    plan = "\n".join(r[0] for r in await pg.fetch(f"EXPLAIN {sql}", *params))
    assert not re.search(r"Seq Scan on messages\b", plan), plan
    assert ("messages_pkey" if index == "pkey" else index) in plan, plan


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(SEARCHES))
async def test_postgres_searches_by_state_or_dialect_walk_one_index(
    pg: asyncpg.Connection, name: str
) -> None:
    sql, params = message_search.select(SEARCHES[name], "postgres")
    plan = "\n".join(r[0] for r in await pg.fetch(f"EXPLAIN {sql}", *params))
    assert "Seq Scan" not in plan, plan
    assert "messages_state_dialect" in plan, plan
    scans = re.findall(r"(?:Index|Bitmap Index) Scan(?: Backward)? using (\w+)", plan)
    assert set(scans) == {"messages_state_dialect"}, plan


def test_sqlite_searches_by_state_or_dialect_walk_one_index(lite: sqlite3.Connection) -> None:
    for name, q in SEARCHES.items():
        sql, params = message_search.select(q, "sqlite")
        plan = [row[3] for row in lite.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        walks = [s for s in plan if s.startswith(("SEARCH messages", "SCAN messages"))]
        assert walks and all("USING INDEX messages_state_dialect " in s for s in walks), (name, plan)
