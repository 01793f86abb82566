"""The reconciliation reads: the feed is complete and exactly-once under concurrent writers on PostgreSQL, whose
transactions commit out of position order (ADR 0006), and every read is served by its index on both backends."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import random
import re
import sqlite3
from typing import Any

import asyncpg
import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.planning import events as planning
from dlrhub.store.postgres import feed as pg_feed
from dlrhub.store.sqlite import core
from dlrhub.store.sqlite import feed as lite_feed
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import eventually

#: An event row written by hand, in a transaction the test holds open: its position is taken now, its commit
#: comes when the test says.
RAW_EVENT = """
INSERT INTO events (id, account_id, message_id, seq, kind, applied, occurred_at, recorded_at)
VALUES ($1, $2, $3, 1, 'accepted', true, now(), now())
"""


def accepted(account: models.Account, message_id: str) -> tuple[models.StatusEvent, models.Message]:
    now = dt.datetime.now(dt.UTC)
    message = models.Message(
        id=message_id,
        account_id=account.id,
        dialect=models.Dialect.NATIVE,
        type_id=24,
        recipient="84900000000",
        state=models.MessageState.ACCEPTED,
        seq=0,
        created_at=now,
        updated_at=now,
    )
    return models.StatusEvent(
        id=f"{message_id}:accepted", kind=models.EventKind.ACCEPTED, occurred_at=now, message_id=message_id
    ), message


async def write(db: store.Store, account: models.Account, message_id: str) -> None:
    """One event through the store's own path (`apply_event`), in its own transaction."""
    event, message = accepted(account, message_id)
    inputs = planning.RenderInputs(account=account)
    await db.apply_event(event, inputs, now=dt.datetime.now(dt.UTC), new_message=message)


async def drain(db: store.Store, account_id: str, after: store.FeedPosition, limit: int = 3):
    """Every event the feed gives after `after`, page by page; and the position to go on from."""
    got = []
    while True:
        page = await db.feed_events(account_id, after, limit)
        got += page
        if page:
            after = page[-1].position
        if len(page) < limit:
            return got, after


@pytest.mark.postgres
async def test_an_event_committed_late_is_not_skipped(pg_url: str) -> None:
    db = store.from_url(pg_url)
    account = make_account()
    await db.create_account(account, [])
    late = await asyncpg.connect(pg_url)
    try:
        tx = late.transaction()
        await tx.start()
        # The late transaction takes its position first...
        await late.execute(RAW_EVENT, "late", account.id, "m-late")
        # ...then another commits a later position.
        await write(db, account, "m-early")
        positions = dict(await late.fetch("SELECT id, pos FROM events"))
        assert positions["m-early:accepted"] > positions["late"]
        # A reader by position alone would page past "late" here, and never see it.
        first, cursor = await drain(db, account.id, store.FEED_START)
        assert "late" not in [e.event.id for e in first]
        # The feed holds back while the older transaction runs.
        assert first == []
        await tx.commit()

        async def both() -> bool:
            nonlocal first, cursor
            more, cursor = await drain(db, account.id, cursor)
            first += more
            return len(first) >= 2

        await eventually(both)
        assert [e.event.id for e in first] == ["late", "m-early:accepted"]
        assert (await db.feed_events(account.id, cursor, 10)) == []
    finally:
        await late.close()
        await db.close()


@pytest.mark.postgres
async def test_concurrent_writers_and_a_polling_reader_see_every_event_once(pg_url: str) -> None:
    db = store.from_url(pg_url)
    account, other = make_account(), make_account()
    for a in (account, other):
        await db.create_account(a, [])
    rng = random.Random(13)
    written: list[str] = []
    done = asyncio.Event()

    async def slow_writer(n: int) -> None:
        """Holds each transaction open a while after taking its position, so commits come out of order."""
        conn = await asyncpg.connect(pg_url)
        try:
            for i in range(15):
                async with conn.transaction():
                    await conn.execute(RAW_EVENT, f"raw-{n}-{i}", account.id, f"m-raw-{n}-{i}")
                    await asyncio.sleep(rng.random() * 0.02)
                written.append(f"raw-{n}-{i}")
        finally:
            await conn.close()

    async def store_writer(n: int) -> None:
        for i in range(15):
            await write(db, account if i % 3 else other, f"m-{n}-{i}")
            if i % 3:
                written.append(f"m-{n}-{i}:accepted")

    seen: list[str] = []
    cursor = store.FEED_START

    async def reader() -> None:
        nonlocal cursor
        while not done.is_set():
            page, cursor = await drain(db, account.id, cursor, limit=rng.choice((1, 2, 5)))
            seen.extend(e.event.id for e in page)
            await asyncio.sleep(0.001)

    reading = asyncio.create_task(reader())
    try:
        await asyncio.gather(*(slow_writer(n) for n in range(4)), *(store_writer(n) for n in range(4)))
    finally:
        done.set()
        await reading

    async def all_seen() -> bool:
        nonlocal cursor
        page, cursor = await drain(db, account.id, cursor)
        seen.extend(e.event.id for e in page)
        return len(seen) >= len(written)

    # On a timeout, the assertion below says what is missing and who holds the horizon back.
    with contextlib.suppress(AssertionError):
        await eventually(all_seen, within_s=60)
    missing = sorted(set(written) - set(seen))
    assert not missing, (missing, await horizon(pg_url))
    assert len(seen) == len(set(seen)), "an event came twice"
    assert set(seen) == set(written), "another account's event came"
    await db.close()


async def horizon(pg_url: str) -> object:
    """The feed's horizon now, and the write transactions of the server holding it back (for a failure)."""
    conn = await asyncpg.connect(pg_url)
    try:
        xmin = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
        held = await conn.fetch(
            "SELECT datname, backend_xid::text, now() - xact_start AS age, left(query, 80) AS query"
            " FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY xact_start"
        )
        return xmin, [dict(r) for r in held]
    finally:
        await conn.close()


async def test_the_feed_reads_each_accounts_applied_events_from_a_position(db: store.Store) -> None:
    account, other = make_account(), make_account()
    for a in (account, other):
        await db.create_account(a, [])
    for i in range(5):
        await write(db, account, f"m{i}")
        await write(db, other, f"o{i}")
    # A repeat of an event is a duplicate: it changes nothing and is not in the feed twice.
    await write(db, account, "m0")
    got: list[store.FeedEvent] = []

    async def five() -> bool:
        nonlocal got
        got, _ = await drain(db, account.id, store.FEED_START, limit=2)
        return len(got) >= 5

    await eventually(five)
    assert [e.event.id for e in got] == [f"m{i}:accepted" for i in range(5)]
    assert [e.position for e in got] == sorted(e.position for e in got)
    assert all(e.event.seq == 1 and e.event.applied for e in got)
    after_third = await db.feed_events(account.id, got[2].position, 10)
    assert [e.event.id for e in after_third] == ["m3:accepted", "m4:accepted"]


def _plan(conn: sqlite3.Connection, sql: str, params: Any) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


def test_sqlite_reads_use_their_indexes(lite: sqlite3.Connection) -> None:
    feed_plan = _plan(lite, lite_feed.FEED, ("a", 0, 10))
    assert any("events_feed" in step for step in feed_plan), feed_plan
    undelivered = _plan(
        lite,
        lite_feed.UNDELIVERED,
        {"account_id": "a", "pending_before": 0.0, "after_at": 0.0, "after_id": "", "limit": 10},
    )
    assert any("callbacks_undelivered" in step for step in undelivered), undelivered
    for plan in (feed_plan, undelivered):
        assert not [s for s in plan if re.fullmatch(r"SCAN (events|callbacks|c)\b.*", s) and "INDEX" not in s]
        assert not [s for s in plan if "TEMP B-TREE" in s], plan
    recent = _plan(lite, lite_feed.RECENT_MESSAGES, ("a", 10))
    assert any("messages_account_created" in step for step in recent), recent


#: Half the rows are one big account's (a backlog of failed callbacks), the rest spread over 200 small ones.
PG_FILL = """
INSERT INTO events (id, account_id, message_id, seq, kind, applied, occurred_at, recorded_at)
SELECT 'e' || i, CASE WHEN i % 2 = 0 THEN 'big' ELSE 'acc' || (i % 200) END, 'm' || i, 1, 'accepted',
       i % 10 <> 1, now(), now()
FROM generate_series(1, 50000) AS i;
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, state, due_at, attempts, created_at, updated_at)
SELECT 'cb' || i, 'e' || i, CASE WHEN i % 2 = 0 THEN 'big' ELSE 'acc' || (i % 200) END, 'native', 'm' || i,
       'm' || i, 1, 'POST', 'http://127.0.0.1:9/h', '\\x7b7d'::bytea, NULL, 'http://127.0.0.1:9',
       CASE WHEN i % 2 = 0 THEN 'failed' WHEN i % 50 = 1 THEN 'pending' ELSE 'succeeded' END,
       now(), 1, now() - (i % 600) * interval '1 second', now()
FROM generate_series(1, 50000) AS i;
ANALYZE events;
ANALYZE callbacks;
"""


@pytest.mark.postgres
async def test_postgres_reads_use_their_indexes(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(PG_FILL)
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        now = dt.datetime.now(dt.UTC)
        for account in ("acc7", "big"):
            for name, sql, args in (
                ("events_feed", pg_feed.FEED, (account, "0", 0, 100)),
                ("callbacks_undelivered", pg_feed.UNDELIVERED, (account, now, epoch, "", 100)),
            ):
                plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *args))
                # events are partitioned by day (docs/adr/0009): each partition has its part of `events_feed`,
                # named for its columns.
                assert name in plan or (name == "events_feed" and "_account_id_xact_pos_idx" in plan), plan
                assert "Seq Scan on events" not in plan and "Seq Scan on callbacks" not in plan, plan
                if account == "big":  # a page of a long backlog is read in index order, never sorted whole
                    assert not re.search(r"^\s*(->\s*)?Sort\b(?! Key)", plan, re.M), (
                        plan
                    )  # a Sort node, not a Merge Append's key
    finally:
        await conn.close()


def test_positions_order_by_transaction_then_position() -> None:
    assert store.FeedPosition(1, 9) < store.FeedPosition(2, 1) < store.FeedPosition(2, 3)
    assert dataclasses.astuple(store.FEED_START) == (0, 0)


async def test_sqlite_positions_are_never_handed_out_again_after_pruning(sqlite_url: str) -> None:
    db = store.from_url(sqlite_url)
    assert isinstance(db, core.SqliteCore)
    account = make_account()
    await db.create_account(account, [])
    await write(db, account, "m1")
    [first] = await db.feed_events(account.id, store.FEED_START, 10)
    # Pruning the newest rows (an idle week) must not let a new event take their position again.
    db._writer_connection().execute("DELETE FROM events")
    await write(db, account, "m2")
    [second] = await db.feed_events(account.id, first.position, 10)
    assert second.event.id == "m2:accepted" and second.position > first.position
    await db.close()
