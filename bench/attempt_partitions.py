"""Attempts partitioned by day on PostgreSQL (docs/adr/0009): what retention of one day costs, and what a read by
callback pays for the partitions, each against the unpartitioned table of before.

A new database is migrated (so `attempts` is partitioned by the store's own migration) and `--days` days of
partitions are made around a fixed day, with `--per-day` attempts each (two a callback); the
same rows go to `attempts_plain`, a table as `attempts` was before migration 0025 (same indexes). Then, `--rounds`
times, alternating which goes first:
- retention of the oldest day left (no pause between chunks): the store's `drop_partitions` (count and `DROP TABLE`) against the chunked
  delete that pruned attempts before (1,000 rows per statement, `attempts_started_outcome` oldest first) on the
  plain table, until a chunk comes back short;
- `--reads` reads of one callback's attempts: the store's `list_attempts` (every partition's index probed), the same
  SQL by the bare driver on `attempts`, and on the plain table.
Medians (with ranges) are printed, each line ending with partitioned/plain.

    python bench/attempt_partitions.py [--per-day 10000] [--days 36] [--rounds 6] [--reads 300]
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
from dlrhub.store.postgres import retention as pg_retention

NOW = dt.datetime(2031, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PLAIN = """
CREATE TABLE attempts_plain (LIKE attempts INCLUDING DEFAULTS);
ALTER TABLE attempts_plain ADD PRIMARY KEY (id);
CREATE INDEX attempts_plain_callback ON attempts_plain (callback_id, number);
CREATE INDEX attempts_plain_started_outcome ON attempts_plain (started_at, outcome);
"""
#: `$1` the first day, `$2` rows a day, `$3` days: row i is at an even step through its day.
FILL = """
INSERT INTO {table} (callback_id, number, started_at, duration_ms, outcome)
SELECT 'cb' || (i / 2), 1 + i % 2, $1::timestamptz + (i::float8 / $2) * interval '1 day', 12.5, 'ok'
FROM generate_series(0, $2::bigint * $3 - 1) AS i
"""
CHUNK = pg_retention.DELETE_DEFAULT_ATTEMPTS.replace("attempts_default", "attempts_plain")
READ = "SELECT * FROM {table} WHERE callback_id = $1 ORDER BY number, id"


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):9.2f} ms (range {min(values):.2f}–{max(values):.2f})"


async def _setup(url: str, first: dt.datetime, per_day: int, days: int) -> None:
    db: Any = store.from_url(url)
    try:
        await db.migrate()
        for start in range(0, days, 8):  # each call makes its day and the 7 after
            await db.prepare_partitions(first + start * DAY)
        await db.drop_partitions("attempts", first)  # the migration's own (empty) partitions, years before
    finally:
        await db.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PLAIN)
        for table in ("attempts", "attempts_plain"):
            await conn.execute(FILL.format(table=table), first, per_day, days)
        await conn.execute("ANALYZE")
        parts = await conn.fetchval("SELECT count(*) FROM pg_inherits WHERE inhparent = 'attempts'::regclass")
        print(f"setup: {per_day * days} attempts in each table, {parts} partitions")
    finally:
        await conn.close()


async def run(admin: str, per_day: int, days: int, rounds: int, reads: int) -> None:
    name = f"part_bench_{os.getpid()}"
    boot = await asyncpg.connect(admin)
    await boot.execute(f'CREATE DATABASE "{name}"')
    await boot.close()
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    first = NOW - days * DAY
    try:
        await _setup(url, first, per_day, days)
        db: Any = store.from_url(url)
        conn = await asyncpg.connect(url)
        drop: list[float] = []
        chunked: list[float] = []
        part_read: list[float] = []
        plain_read: list[float] = []
        bare_part_read: list[float] = []
        callbacks = [f"cb{random.randrange(per_day * days // 2)}" for _ in range(reads)]
        try:
            for r in range(rounds):
                before = first + (r + 1) * DAY

                async def by_drop(before: dt.datetime = before) -> None:
                    t = time.perf_counter()
                    n = (await db.drop_partitions("attempts", before))["attempts"]
                    drop.append((time.perf_counter() - t) * 1000)
                    assert n == per_day, n

                async def by_chunks(before: dt.datetime = before) -> None:
                    t = time.perf_counter()
                    n = 1000
                    while n == 1000:
                        n = int((await conn.execute(CHUNK, before, 1000)).rsplit(" ", 1)[-1])
                    chunked.append((time.perf_counter() - t) * 1000)

                async def part_reads() -> None:
                    t = time.perf_counter()
                    for cb in callbacks:
                        await db.list_attempts(cb)
                    part_read.append((time.perf_counter() - t) * 1000 / reads)

                async def plain_reads() -> None:
                    for table, times in (("attempts", bare_part_read), ("attempts_plain", plain_read)):
                        t = time.perf_counter()
                        for cb in callbacks:
                            await conn.fetch(READ.format(table=table), cb)
                        times.append((time.perf_counter() - t) * 1000 / reads)

                pairs = [(by_drop, by_chunks), (part_reads, plain_reads)]
                for a, b in pairs:
                    for step in (a, b) if r % 2 == 0 else (b, a):
                        await step()
        finally:
            await conn.close()
            await db.close()
        print(f"retention of one day ({per_day} attempts), drop partition: {_median(drop)}")
        print(f"retention of one day ({per_day} attempts), chunked delete:  {_median(chunked)}")
        print(f"  partitioned/plain: {statistics.median(drop) / statistics.median(chunked):.3f}")
        print(f"a callback's attempts, partitioned (list_attempts): {_median(part_read)}")
        print(f"a callback's attempts, partitioned (bare query):    {_median(bare_part_read)}")
        print(f"a callback's attempts, plain table (bare query):    {_median(plain_read)}")
        print(
            f"  store/bare (both partitioned): {statistics.median(part_read) / statistics.median(bare_part_read):.2f}"
        )
        print(
            f"  partitioned/plain (both bare): {statistics.median(bare_part_read) / statistics.median(plain_read):.2f}"
        )
    finally:
        boot = await asyncpg.connect(admin)
        await boot.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await boot.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=36)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    asyncio.run(run(args.postgres, args.per_day, args.days, args.rounds, args.reads))


if __name__ == "__main__":
    main()
