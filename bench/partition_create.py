"""Making a day's partition on PostgreSQL with a big default partition (docs/adr/0009): how long readers of the
parent wait behind it.

A new database is migrated, today's week of partitions is made, and `--rows` events go to `events_default` (at a
time no partition covers, as rows of days without a partition would). Then, `--rounds` times, the pruner's
`partitions.create_ahead` makes the next day's partition (one new day a round, as in the steady state) while a
reader runs the ingest path's lookup of an event by id (`SEEN_EVENT`, which probes every partition, the default
included) back to back on another connection. Printed: the creation's own time, the reader's longest lookup
during it, and, the same run's bare baseline, the reader's longest lookup over as long with nothing else running.

Run it against the tree to measure on `PYTHONPATH` (the creation is the tree's own `create_ahead`):

    PYTHONPATH=src python bench/partition_create.py [--rows 1500000] [--rounds 3]
                                                   [--postgres postgresql://…/admin_db]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time

import asyncpg

from dlrhub import store
from dlrhub.store.postgres import messages, partitions

NOW = dt.datetime(2031, 3, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
#: Far from every day made here: these rows stay in the default partition.
DEFAULT_AT = dt.datetime(2033, 1, 1, tzinfo=dt.UTC)
FILL = """
INSERT INTO events (id, message_id, seq, kind, applied, occurred_at, recorded_at, account_id)
SELECT 'd' || g, 'm' || (g / 2), 1, 'accepted', true, $2::timestamptz, $2::timestamptz + g * interval '1 second',
       'acc'
FROM generate_series($1::bigint, $1::bigint + $3::bigint - 1) AS g
"""


async def reader(url: str, stop: asyncio.Event, worst: list[float]) -> None:
    """Look events up by id back to back until `stop`; the longest lookup goes in `worst[0]`."""
    conn = await asyncpg.connect(url)
    try:
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            await conn.fetchrow(messages.SEEN_EVENT, f"absent-{n}")
            worst[0] = max(worst[0], time.perf_counter() - started)
            n += 1
    finally:
        await conn.close()


async def timed(url: str, conn: asyncpg.Connection, now: dt.datetime) -> tuple[float, float, list[str]]:
    """Make `now`'s days ahead with a reader alongside: the creation's time, the reader's longest lookup."""
    stop, worst = asyncio.Event(), [0.0]
    task = asyncio.create_task(reader(url, stop, worst))
    await asyncio.sleep(0.3)  # the reader is connected and reading
    worst[0] = 0.0
    started = time.perf_counter()
    created = await partitions.create_ahead(conn, "events", now)
    took = time.perf_counter() - started
    stop.set()
    await task
    return took, worst[0], created


async def bare(url: str, seconds: float) -> float:
    """The reader's longest lookup over `seconds` with nothing else running."""
    stop, worst = asyncio.Event(), [0.0]
    task = asyncio.create_task(reader(url, stop, worst))
    await asyncio.sleep(0.3)
    worst[0] = 0.0
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return worst[0]


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms ({min(values) * 1000:.1f}–{max(values) * 1000:.1f})"


async def main(args: argparse.Namespace) -> None:
    name = "dlrhub_bench_partition_create"
    boot = await asyncpg.connect(args.postgres)
    await boot.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await boot.execute(f'CREATE DATABASE "{name}"')
    await boot.close()
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    db = store.from_url(url)
    await db.migrate()
    await db.close()
    conn = await asyncpg.connect(url)
    try:
        await partitions.create_ahead(conn, "events", NOW)
        step = 500_000
        for first in range(0, args.rows, step):
            await conn.execute(FILL, first, DEFAULT_AT, min(step, args.rows - first))
        await conn.execute("VACUUM ANALYZE events_default")
        rows = await conn.fetchval("SELECT count(*) FROM events_default")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('events_default'))")
        print(f"events_default: {rows} rows, {size}")
        took, worst, bare_worst = [], [], []
        for i in range(1, args.rounds + 1):
            t, w, created = await timed(url, conn, NOW + i * DAY)
            assert len(created) == 1, created
            took.append(t)
            worst.append(w)
            bare_worst.append(await bare(url, max(t, 0.5)))
            print(
                f"round {i}: made {created[0]} in {t * 1000:.1f} ms; longest lookup meanwhile {w * 1000:.1f} ms;"
                f" bare {bare_worst[-1] * 1000:.1f} ms"
            )
        print(f"making a day's partition: {ms(took)}")
        print(f"longest lookup by id meanwhile: {ms(worst)}")
        print(f"bare baseline, longest lookup by id: {ms(bare_worst)}")
    finally:
        await conn.close()
        boot = await asyncpg.connect(args.postgres)
        await boot.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await boot.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
