"""PostgreSQL partitions `attempts` by UTC day (migration 0025, docs/adr/0009): a time-bounded read touches only its
days' partitions, the pruner drops whole partitions past retention and deletes in chunks only in the default (and
legacy) partition, and the migration keeps the rows and ids it finds."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from dlrhub import settings, store
from dlrhub.services import hub as hub_
from dlrhub.services import retention
from dlrhub.store.postgres import partitions

pytestmark = pytest.mark.postgres

#: Far from the day the template was migrated on, so every partition here is the test's own.
NOW = dt.datetime(2030, 1, 10, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
INSERT = (
    "INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome) VALUES ($1, 1, $2, 1.0, 'ok')"
    " RETURNING id"
)
LIST = (
    "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = 'attempts'::regclass ORDER BY c.relname"
)


async def no_pause(_took_s: float) -> None:
    """Tests take no time between chunks."""


@pytest.fixture
async def conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(pg_url)
    yield c
    await c.close()


def day(at: dt.datetime) -> str:
    return partitions.day_name("attempts", at)


async def where(conn: asyncpg.Connection) -> dict[str, str]:
    """callback id -> the partition its attempt is in."""
    found = await conn.fetch("SELECT callback_id, tableoid::regclass::text AS part FROM attempts")
    return {r["callback_id"]: r["part"] for r in found}


def partitions_in(plan: str) -> set[str]:
    """The partitions a plan scans (those EXPLAIN ANALYZE says were executed)."""
    return {
        m.group(1)
        for line in plan.splitlines()
        if (m := re.search(r" on (attempts_\w+) attempts(_\d+)?\b", line)) and "never executed" not in line
    }


async def test_a_time_bounded_read_plans_only_its_days_partitions(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    db: Any = store.from_url(pg_url)
    try:
        await db.prepare_partitions(NOW - 3 * DAY)  # days NOW-3 .. NOW+4
    finally:
        await db.close()
    sql = "SELECT count(*) FROM attempts WHERE started_at >= $1 AND started_at < $2 AND outcome = 'ok'"
    plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (COSTS OFF) {sql}", NOW - 2 * DAY, NOW))
    # Two days back from 12:00 reach three days' partitions of the seventeen there: the days before and after, the
    # legacy partition and the default (it holds no time these days' partitions cover) are pruned away.
    touched = {day(NOW - 2 * DAY), day(NOW - DAY), day(NOW)}
    assert partitions_in(plan) == touched, plan
    assert "Index Only Scan" in plan and "Seq Scan" not in plan, plan
    assert len(await conn.fetch(LIST)) >= 17


async def test_a_callbacks_attempts_are_read_from_the_days_since_it_was_made(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    db: Any = store.from_url(pg_url)
    try:
        await db.prepare_partitions(NOW - 3 * DAY)  # days NOW-3 .. NOW+4
        await conn.execute(
            "INSERT INTO callbacks (id, event_id, account_id, dialect, order_key, seq, method, url, body, endpoint,"
            " state, due_at, created_at, updated_at) VALUES ('cb_made', 'e', 'acc', 'native', 'k', 1, 'POST',"
            " 'http://x.example/', ''::bytea, 'http://x.example:80', 'succeeded', $1, $1, $1)",
            NOW,
        )
        for at in (NOW, NOW + DAY):
            await conn.execute(INSERT, "cb_made", at)
        await conn.execute(INSERT, "cb_other", NOW - 3 * DAY)
        assert [a.started_at for a in await db.list_attempts("cb_made")] == [NOW, NOW + DAY]
        # Partitions before the callback's day less one are pruned when the statement runs (`never executed`).
        from dlrhub.store.postgres import callbacks as pg_callbacks

        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {pg_callbacks.ATTEMPTS_OF}", "cb_made"
            )
        )
        assert partitions_in(plan) == {
            day(NOW - DAY),
            day(NOW),
            *(day(NOW + i * DAY) for i in range(1, 5)),
            "attempts_default",
        }, plan
    finally:
        await db.close()


async def test_the_pruner_drops_partitions_wholly_past_and_keeps_the_rest(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    db = store.from_url(pg_url)
    try:
        hub = hub_.Hub(settings=settings.Settings(retain_attempts_days=30), store=db, clock=lambda: NOW)
        cutoff = NOW - 30 * DAY
        await db.prepare_partitions(cutoff - 6 * DAY)  # days cutoff-6 .. cutoff+1
        rows = {
            "wholly_past": cutoff - 6 * DAY,  # its day ends before the cutoff: dropped with its partition
            "last_past_day": cutoff - DAY,  # its day ends at midnight before the cutoff (12:00): dropped too
            "straddling": cutoff
            - dt.timedelta(hours=1),  # past, but its day's partition is not: kept a while
            "kept_day": cutoff + DAY,
            "in_default_old": cutoff - 10 * DAY,  # no partition: the default's chunked delete takes it
            "in_default_new": NOW - 20 * DAY,  # no partition, not past: kept
        }
        for cid, at in rows.items():
            await conn.execute(INSERT, cid, at)
        before = [r[0] for r in await conn.fetch(LIST)]
        placed = await where(conn)
        assert placed["wholly_past"] == day(cutoff - 6 * DAY)
        assert placed["straddling"] == day(cutoff)
        assert placed["in_default_old"] == placed["in_default_new"] == "attempts_default"

        counts = await retention.prune(hub, pause=no_pause)

        after = [r[0] for r in await conn.fetch(LIST)]
        dropped = set(before) - set(after)
        # The test's days before the cutoff's (cutoff-6 .. cutoff-1) and the migration's partitions (legacy and
        # its week ahead, years past) are dropped; the cutoff's own day, the days after, the round's new days ahead
        # and the default stay.
        by_migration = {p for p in before if p != "attempts_default" and p < day(cutoff - 6 * DAY)}
        assert "attempts_legacy" in by_migration
        assert dropped == {day(cutoff - i * DAY) for i in range(1, 7)} | by_migration
        assert {day(cutoff), day(cutoff + DAY), day(NOW), day(NOW + 7 * DAY), "attempts_default"} <= set(
            after
        )
        assert counts["attempts"] == 3  # two with their partitions, one in chunks
        assert set(await where(conn)) == {"straddling", "kept_day", "in_default_new"}
        # The id sequence outlived the legacy partition (the new table owns it) and goes on.
        new_id = await conn.fetchval(INSERT, "later", NOW)
        assert new_id > await conn.fetchval("SELECT max(id) FROM attempts WHERE callback_id <> 'later'")
        assert (await where(conn))["later"] == day(NOW)
    finally:
        await db.close()


async def test_partitions_ahead_are_created_once_and_skip_days_the_default_holds(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    await conn.execute(INSERT, "early", NOW + 2 * DAY)  # no partition yet: the default takes it
    db: Any = store.from_url(pg_url)
    try:
        await db.prepare_partitions(NOW)
        await db.prepare_partitions(NOW)  # a second round (or worker) finds them there
    finally:
        await db.close()
    after = {r[0] for r in await conn.fetch(LIST)}
    ahead = {day(NOW + i * DAY) for i in range(partitions.DAYS_AHEAD + 1)}
    assert ahead - after == {day(NOW + 2 * DAY)}
    assert (await where(conn))["early"] == "attempts_default"


async def test_the_migration_keeps_the_rows_and_ids_it_finds(pg_url: str, conn: asyncpg.Connection) -> None:
    # Back to the table as it was before 0025, with rows in it.
    await conn.execute("DROP TABLE attempts")
    await conn.execute(
        "CREATE TABLE attempts (id bigserial PRIMARY KEY, callback_id text NOT NULL, number integer NOT NULL,"
        " started_at timestamptz NOT NULL, duration_ms double precision NOT NULL, outcome text NOT NULL,"
        " status_code integer, response text NOT NULL DEFAULT '', error text NOT NULL DEFAULT '',"
        " retry_after_s double precision)"
    )
    await conn.execute("CREATE INDEX attempts_callback ON attempts (callback_id, number)")
    await conn.execute("CREATE INDEX attempts_started_outcome ON attempts (started_at, outcome)")
    await conn.execute("DELETE FROM schema_migrations WHERE name = '0025_attempts_partitioned'")
    today = dt.datetime.now(dt.UTC)
    old = {await conn.fetchval(INSERT, f"c{i}", today - i * DAY): f"c{i}" for i in range(5)}

    db = store.from_url(pg_url)
    try:
        assert await db.migrate() == ["0025_attempts_partitioned"]
    finally:
        await db.close()

    rows = await conn.fetch("SELECT id, callback_id, tableoid::regclass::text AS part FROM attempts")
    assert {r["id"]: r["callback_id"] for r in rows} == old
    assert {r["part"] for r in rows} == {"attempts_legacy"}
    assert await conn.fetchval(INSERT, "new", today) > max(old)
    indexes = {
        r[0] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'attempts'")
    }
    assert indexes == {"attempts_pkey", "attempts_callback", "attempts_started_outcome"}
    tomorrow = (today + DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    assert (await where(conn))[
        "new"
    ] == "attempts_legacy"  # the migration's day is the legacy partition's last
    await conn.execute(INSERT, "tomorrow", tomorrow)
    assert (await where(conn))["tomorrow"] == day(tomorrow)


async def test_a_drop_gives_way_to_a_reader_and_comes_back_next_round(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    db: Any = store.from_url(pg_url)
    reader = await asyncpg.connect(pg_url)
    try:
        await db.prepare_partitions(NOW - 10 * DAY)
        await conn.execute(INSERT, "old", NOW - 10 * DAY)
        old = day(NOW - 10 * DAY)
        # A long read of attempts holds its lock: the drop waits LOCK_TIMEOUT for it, then leaves the partition.
        async with reader.transaction():
            await reader.fetch("SELECT count(*) FROM attempts")
            assert await db.drop_partitions("attempts", NOW) == {"attempts": 0}
            assert old in {r[0] for r in await conn.fetch(LIST)}
        # Another pruner holding the partition lock: this one skips the round.
        await reader.execute("SELECT pg_advisory_lock($1)", partitions.LOCK_KEY)
        assert await db.drop_partitions("attempts", NOW) == {"attempts": 0}
        await reader.execute("SELECT pg_advisory_unlock($1)", partitions.LOCK_KEY)
        # Next round.
        assert (await db.drop_partitions("attempts", NOW))["attempts"] >= 1
        assert old not in {r[0] for r in await conn.fetch(LIST)}
    finally:
        await reader.close()
        await db.close()
