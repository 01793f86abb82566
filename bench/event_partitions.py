"""Events partitioned by day on PostgreSQL (docs/adr/0009): what a feed page, the ingest path's lookup by id and
retention of one day cost, each against the unpartitioned table of before.

A new database is migrated (so `events` is partitioned by the store's own migration) and `--days` days of
partitions are made around a fixed day, with `--per-day` events each over `--accounts` accounts, one transaction a
day (so each day has its transaction id, as the feed orders by); the same rows, in the same transactions, go to
`events_plain`, a table as `events` was before migration 0029 (same indexes). Then, `--rounds` times, alternating
which goes first:
- `--reads` feed pages (`FEED`, 100 events) of a random account from a random position, on both tables;
- `--reads` lookups of an event by id: the ingest path's `SEEN_EVENT` (an index probe into every partition) on
  `events`, the lookup of before on the plain table;
- retention of the oldest day left: the store's `drop_partitions` (count, owners checked, DETACH and DROP) against
  the chunked delete of before on the plain table (the day's events by message id, 200 messages a statement, as
  `prune_messages` deleted them), no pause.
Medians (with ranges) are printed, each with partitioned/plain.

    python bench/event_partitions.py [--per-day 20000] [--days 38] [--accounts 100] [--rounds 6] [--reads 300]
                                     [--postgres postgresql://…/admin_db]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import time
from typing import Any

import asyncpg

from dlrhub import store
from dlrhub.store.postgres import feed as pg_feed
from dlrhub.store.postgres import messages as pg_messages

NOW = dt.datetime(2031, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PLAIN = """
CREATE TABLE events_plain (LIKE events INCLUDING DEFAULTS);
ALTER TABLE events_plain ADD PRIMARY KEY (id);
CREATE INDEX events_plain_message ON events_plain (message_id, seq);
CREATE INDEX events_plain_journey ON events_plain (journey_id) WHERE journey_id IS NOT NULL;
CREATE INDEX events_plain_feed ON events_plain (account_id, xact, pos) WHERE applied;
"""
#: `$1` the day, `$2` rows a day, `$3` the day's number, `$4` accounts: two events a message, at even steps.
FILL = """
INSERT INTO {table} (id, message_id, seq, kind, applied, occurred_at, recorded_at, account_id, pos)
SELECT 'e' || ($3 * $2 + i), 'm' || (($3 * $2 + i) / 2), 1 + i % 2, 'accepted', true,
       $1::timestamptz + (i::float8 / $2) * interval '1 day', $1::timestamptz + (i::float8 / $2) * interval '1 day',
       'acc' || (($3 * $2 + i) / 2 % $4), $3 * $2 + i
FROM generate_series(0, $2::bigint - 1) AS i
"""
PLAIN_FEED = pg_feed.FEED.replace("FROM events", "FROM events_plain")
PLAIN_SEEN = "SELECT * FROM events_plain WHERE id = $1"
#: The messages of one day (of the plain table), oldest first, as prune_messages picked them.
PLAIN_MESSAGES = (
    "SELECT DISTINCT message_id FROM events_plain WHERE recorded_at >= $1 AND recorded_at < $2 ORDER BY 1"
)
PLAIN_CHUNK = "DELETE FROM events_plain WHERE message_id = ANY($1::text[])"


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):8.3f} ms (range {min(values):.3f}–{max(values):.3f})"


async def _setup(url: str, first: dt.datetime, per_day: int, days: int, accounts: int) -> list[str]:
    """Make the tables; returns each day's transaction id."""
    db: Any = store.from_url(url)
    try:
        await db.migrate()
        for start in range(0, days, 8):  # each call makes its day and the 7 after
            await db.prepare_partitions(first + start * DAY)
        await db.drop_partitions("events", first)  # the migration's own (empty) partitions, years before
    finally:
        await db.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PLAIN)
        xacts = []
        for d in range(days):
            async with conn.transaction():  # one transaction a day: the day's rows share their `xact`
                for table in ("events", "events_plain"):
                    await conn.execute(FILL.format(table=table), first + d * DAY, per_day, d, accounts)
                xacts.append(await conn.fetchval("SELECT pg_current_xact_id()::text"))
        await conn.execute("ANALYZE")
        parts = await conn.fetchval("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")
        print(f"setup: {per_day * days} events in each table, {parts} partitions")
    finally:
        await conn.close()
    return xacts


async def run(admin: str, per_day: int, days: int, accounts: int, rounds: int, reads: int) -> None:
    name = f"h_events_bench_{os.getpid()}"
    boot = await asyncpg.connect(admin)
    await boot.execute(f'CREATE DATABASE "{name}"')
    await boot.close()
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    first = NOW - days * DAY
    try:
        xacts = await _setup(url, first, per_day, days, accounts)
        db: Any = store.from_url(url)
        conn = await asyncpg.connect(url)
        times: dict[str, list[float]] = {
            k: [] for k in ("feed", "feed_plain", "seen", "seen_plain", "drop", "chunked")
        }
        total = per_day * days
        try:
            for r in range(rounds):
                # Feed pages from random positions, and lookups of random ids of today's events.
                # A cursor at a random event's place: its transaction (day) and position.
                positions = [random.randrange(total) for _ in range(reads)]
                pages = [(f"acc{random.randrange(accounts)}", xacts[p // per_day], p) for p in positions]
                ids = [f"e{random.randrange(total - per_day, total)}" for _ in range(reads)]  # today's
                before = first + (r + 1) * DAY

                async def feed(table: str, sql: str, pages: list[Any] = pages) -> None:
                    t = time.perf_counter()
                    for account, xact, pos in pages:
                        await conn.fetch(sql, account, xact, pos, 100)
                    times[table].append((time.perf_counter() - t) * 1000 / reads)

                async def seen(table: str, sql: str, *extra: Any, ids: list[str] = ids) -> None:
                    t = time.perf_counter()
                    for eid in ids:
                        await conn.fetchrow(sql, eid, *extra)
                    times[table].append((time.perf_counter() - t) * 1000 / reads)

                async def by_drop(before: dt.datetime = before) -> None:
                    t = time.perf_counter()
                    n = (await db.drop_partitions("events", before + DAY))["events"]  # the margin for clocks
                    times["drop"].append((time.perf_counter() - t) * 1000)
                    assert n == per_day, n

                async def by_chunks(before: dt.datetime = before) -> None:
                    t = time.perf_counter()
                    found = [r[0] for r in await conn.fetch(PLAIN_MESSAGES, before - DAY, before)]
                    for i in range(0, len(found), 200):
                        await conn.execute(PLAIN_CHUNK, found[i : i + 200])
                    times["chunked"].append((time.perf_counter() - t) * 1000)

                pairs: list[tuple[Any, Any]] = [
                    (lambda: feed("feed", pg_feed.FEED), lambda: feed("feed_plain", PLAIN_FEED)),
                    (
                        lambda: seen("seen", pg_messages.SEEN_EVENT),
                        lambda: seen("seen_plain", PLAIN_SEEN),
                    ),
                    (by_drop, by_chunks),
                ]
                for a, b in pairs:
                    for step in (a, b) if r % 2 == 0 else (b, a):
                        await step()
        finally:
            await conn.close()
            await db.close()
        for what, part, plain in (
            ("a feed page (100 events)", "feed", "feed_plain"),
            ("an event by id (ingest lookup)", "seen", "seen_plain"),
            (f"retention of one day ({per_day} events)", "drop", "chunked"),
        ):
            ratio = statistics.median(times[part]) / statistics.median(times[plain])
            print(
                f"{what}: partitioned {_median(times[part])}, plain {_median(times[plain])}, ratio {ratio:.3f}"
            )
    finally:
        boot = await asyncpg.connect(admin)
        await boot.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await boot.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-day", type=int, default=20000)
    parser.add_argument("--days", type=int, default=38)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    asyncio.run(run(args.postgres, args.per_day, args.days, args.accounts, args.rounds, args.reads))


if __name__ == "__main__":
    main()
