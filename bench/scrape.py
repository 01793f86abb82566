"""Scrape benchmark: what `/metrics` asks the store, at growing numbers of callbacks, against the old query.

- **scrape**: the store reads of one scrape (`services/observe.py`): `callback_counts` (the counts kept by
  migration 0014's triggers; on PostgreSQL with its fold of gone backends' rows, in one transaction),
  `oldest_pending_due_at` (the first entry of the partial index `callbacks_due`) and `count_endpoints`;
- **old**: `SELECT state, count(*) FROM callbacks GROUP BY state`, what each scrape ran before issue 14.

The two alternate round by round on the same store and driver; each size prints their medians. The callbacks are
generated in SQL (1 % pending, due over the last hour and the next; the rest succeeded, failed or cancelled;
the three dialects in turn), with the count triggers set aside while filling and the counts rebuilt after, so
filling 10,000,000 rows takes minutes rather than an hour. A size whose fill would run past `--fill-budget-s`
is skipped, and said so.

    python bench/scrape.py [--sizes 10000,1000000,10000000] [--rounds 30] [--postgres postgresql://…/admin_db]
                           [--write-cost 200]

`--write-cost N` then times what the count triggers add to writes: N batches of 256 callbacks inserted and moved
to `succeeded`, with the triggers and without, alternating.

SQLite runs in a temporary file; PostgreSQL (when `--postgres` names a database to connect to for CREATE
DATABASE) in a new database `dlrhub_bench_scrape_<pid>`, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from dlrhub import store
from dlrhub.store.postgres import core as pg_core
from dlrhub.store.sqlite import core as lite_core

OLD_QUERY = "SELECT state, count(*) AS n FROM callbacks GROUP BY state"
REBUILD_COUNTS = (
    "DELETE FROM callback_counts",
    "INSERT INTO callback_counts (dialect, state, slot, n)"
    " SELECT dialect, state, 0, count(*) FROM callbacks GROUP BY dialect, state",
)
_STATE = (
    "CASE WHEN {i} % 100 = 0 THEN 'pending' WHEN {i} % 100 < 3 THEN 'failed' WHEN {i} % 100 = 3 THEN 'cancelled'"
    " ELSE 'succeeded' END"
)
_DIALECT = "CASE {i} % 3 WHEN 0 THEN 'esms' WHEN 1 THEN 'nxcloud' ELSE 'native' END"

SQLITE_FILL = f"""
WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, state, due_at, attempts, created_at, updated_at)
SELECT 'cb' || i, 'ev' || i, 'acct' || (i % 50), {_DIALECT.format(i="i")}, 'm' || i, 'm' || i, 1, 'POST',
       'http://127.0.0.1:9/hook', X'7b7d', 'application/json', 'http://127.0.0.1:9',
       {_STATE.format(i="i")}, unixepoch() - 3600 + (i % 7200), 1, unixepoch() - 86400, unixepoch() - 86400
FROM s
"""
POSTGRES_FILL = f"""
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, state, due_at, attempts, created_at, updated_at)
SELECT 'cb' || i, 'ev' || i, 'acct' || (i % 50), {_DIALECT.format(i="i")}, 'm' || i, 'm' || i, 1, 'POST',
       'http://127.0.0.1:9/hook', '\\x7b7d'::bytea, 'application/json', 'http://127.0.0.1:9',
       {_STATE.format(i="i")}, now() - interval '1 hour' + (i % 7200) * interval '1 second', 1,
       now() - interval '1 day', now() - interval '1 day'
FROM generate_series($1::bigint, $2::bigint) AS i
"""
CHUNK = 1_000_000


class Backend:
    """One store under test: filling it, the scrape's reads, and the old query."""

    name = ""

    def __init__(self, db: store.Store) -> None:
        self.db = db

    async def fill(self, start: int, end: int) -> None:
        raise NotImplementedError

    async def old(self) -> None:
        raise NotImplementedError

    async def scrape(self) -> list[float]:
        """One scrape's reads; the milliseconds each took (counts, oldest due, endpoints)."""
        return [
            await _timed(self.db.callback_counts),
            await _timed(self.db.oldest_pending_due_at),
            await _timed(self.db.count_endpoints),
        ]


class Sqlite(Backend):
    name = "SQLite"

    async def fill(self, start: int, end: int) -> None:
        db = self.db
        assert isinstance(db, lite_core.SqliteCore)

        def run(conn: Any) -> None:
            triggers = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'callbacks'"
            ).fetchall()
            for name, _ in triggers:
                conn.execute(f"DROP TRIGGER {name}")
            for lo in range(start, end + 1, CHUNK):
                conn.execute(SQLITE_FILL, (lo, min(end, lo + CHUNK - 1)))
            for sql in REBUILD_COUNTS:
                conn.execute(sql)
            for _, sql in triggers:
                conn.execute(sql)
            conn.execute("ANALYZE")

        await db._tx(run)

    async def old(self) -> None:
        db = self.db
        assert isinstance(db, lite_core.SqliteCore)
        await db._read(lambda conn: conn.execute(OLD_QUERY).fetchall())


class Postgres(Backend):
    name = "PostgreSQL"

    async def fill(self, start: int, end: int) -> None:
        db = self.db
        assert isinstance(db, pg_core.PostgresCore)
        pool = await db.pool()
        async with pool.acquire() as conn:
            await conn.execute("ALTER TABLE callbacks DISABLE TRIGGER USER")
            for lo in range(start, end + 1, CHUNK):
                await conn.execute(POSTGRES_FILL, lo, min(end, lo + CHUNK - 1), timeout=3600)
            async with conn.transaction():
                for sql in REBUILD_COUNTS:
                    await conn.execute(sql)
            await conn.execute("ALTER TABLE callbacks ENABLE TRIGGER USER")
            await conn.execute("VACUUM ANALYZE callbacks", timeout=3600)

    async def old(self) -> None:
        db = self.db
        assert isinstance(db, pg_core.PostgresCore)
        pool = await db.pool()
        await pool.fetch(OLD_QUERY, timeout=600)


async def _timed(step: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await step()
    return (time.perf_counter() - started) * 1000


async def measure(backend: Backend, sizes: list[int], rounds: int, budget_s: float) -> list[tuple[int, str]]:
    """Fill `backend` up to each size in turn and time both; the printed table rows."""
    lines = []
    have = 0
    fill_s = 0.0
    for size in sizes:
        if have and fill_s / have * (size - have) > budget_s:
            lines.append(
                (size, f"| {backend.name} | {size:,} | skipped: filling would take over {budget_s:g} s |")
            )
            print(lines[-1][1], flush=True)
            continue
        started = time.perf_counter()
        await backend.fill(have + 1, size)
        fill_s += time.perf_counter() - started
        have = size
        await backend.scrape()  # warm: the first read of a fresh table pays for the page cache
        await backend.old()
        parts: list[list[float]] = []
        old_ms = []
        for _ in range(rounds):
            parts.append(await backend.scrape())
            old_ms.append(await _timed(backend.old))
        scrape, old = statistics.median(sum(p) for p in parts), statistics.median(old_ms)
        each = " / ".join(f"{statistics.median(p[i] for p in parts):.2f}" for i in range(3))
        line = (
            f"| {backend.name} | {size:,} | {scrape:.2f} ({each}) | {old:.1f} | {old / scrape:,.0f}x |"
            f" {fill_s:.0f} s |"
        )
        lines.append((size, line))
        print(line, flush=True)
    return lines


WRITE_BATCH = 256
#: Moves a batch to `succeeded`, as `record_attempts` does (the count triggers fire on it).
FINISH = "UPDATE callbacks SET state = 'succeeded' WHERE id IN ({ids})"


async def write_cost(backend: Backend, rounds: int) -> None:
    """The count triggers' cost on writes: a batch of WRITE_BATCH callbacks inserted, then moved to `succeeded`
    (one transaction each), with the triggers and without, alternating; medians per batch."""
    db = backend.db
    times: dict[bool, list[float]] = {True: [], False: []}
    next_id = 50_000_000
    for i in range(rounds * 2):
        on = i % 2 == 0
        lo, hi = next_id, next_id + WRITE_BATCH - 1
        next_id += WRITE_BATCH
        ids = ", ".join(f"'cb{n}'" for n in range(lo, hi + 1))
        if isinstance(db, lite_core.SqliteCore):

            def run(conn: Any, lo: int = lo, hi: int = hi, ids: str = ids, on: bool = on) -> float:
                triggers = conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'callbacks'"
                ).fetchall()
                if not on:
                    for name, _ in triggers:
                        conn.execute(f"DROP TRIGGER {name}")
                started = time.perf_counter()
                conn.execute(SQLITE_FILL, (lo, hi))
                conn.execute(FINISH.format(ids=ids))
                took = time.perf_counter() - started
                if not on:
                    for _, sql in triggers:
                        conn.execute(sql)
                return took

            times[on].append(await db._tx(run) * 1000)
        else:
            assert isinstance(db, pg_core.PostgresCore)
            pool = await db.pool()
            async with pool.acquire() as conn:
                if not on:
                    await conn.execute("ALTER TABLE callbacks DISABLE TRIGGER USER")
                started = time.perf_counter()
                async with conn.transaction():
                    await conn.execute(POSTGRES_FILL, lo, hi)
                async with conn.transaction():
                    await conn.execute(FINISH.format(ids=ids))
                times[on].append((time.perf_counter() - started) * 1000)
                if not on:
                    await conn.execute("ALTER TABLE callbacks ENABLE TRIGGER USER")
    with_, without = statistics.median(times[True]), statistics.median(times[False])
    print(
        f"| {backend.name} | {WRITE_BATCH} inserted + moved | {with_:.2f} | {without:.2f} |"
        f" {(with_ / without - 1) * 100:+.0f} % |",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,1000000,10000000")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--fill-budget-s", type=float, default=600.0)
    parser.add_argument("--postgres", default="", help="an admin DSN (CREATE DATABASE); empty: SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--write-cost", type=int, default=0, help="rounds of the triggers' write cost; 0: skip"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        "| store | callbacks | scrape ms, median (counts / oldest due / endpoints) | old GROUP BY ms, median"
        " | old / scrape | filled in |"
    )
    print("|---|---|---|---|---|---|")
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="dlrhub-bench-scrape-"))
        db = store.from_url(f"sqlite:///{folder / 'bench.sqlite3'}")
        try:
            await db.migrate()
            await measure(Sqlite(db), sizes, args.rounds, args.fill_budget_s)
            if args.write_cost:
                await write_cost(Sqlite(db), args.write_cost)
        finally:
            await db.close()
            shutil.rmtree(folder, ignore_errors=True)
    if args.postgres:
        name = f"dlrhub_bench_scrape_{os.getpid()}"  # two runs at once do not drop each other's
        admin = await asyncpg.connect(args.postgres)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = args.postgres.rsplit("/", 1)[0] + "/" + name
        db = store.from_url(url)
        try:
            await db.migrate()
            await measure(Postgres(db), sizes, args.rounds, args.fill_budget_s)
            if args.write_cost:
                await write_cost(Postgres(db), args.write_cost)
        finally:
            await db.close()
            admin = await asyncpg.connect(args.postgres)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
