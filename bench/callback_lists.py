"""Callback lists benchmark: a page of the dashboard's failed and pending lists over many callbacks, per filter.

Fills a fresh store with `--callbacks` callbacks (90 % delivered, 5 % given up, 1 % cancelled, 4 % pending; 97
accounts, 53 destinations, three dialects, one every 2.5 s back in time), then times one page (50 rows and one to
know there is more) of each list the dashboard asks for, through `Callbacks.find_callbacks` as the page calls it,
and, alternating round by round, the same SQL with the bare driver on its own connection (`sqlite3` in the calling
thread, one `asyncpg` connection; `find_query` of each backend builds it), rows fetched and discarded; each line
ends with store/bare. It also prints the plan PostgreSQL or SQLite chose. The worst case is a filter nothing matches: the page then walks
every callback not delivered (the `callbacks_unsettled` index), never the delivered ones.

    python bench/callback_lists.py [--callbacks 1000000]
    python bench/callback_lists.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

With `--postgres` it makes a database of its own on that server (`dlrhub_bench_lists_<random>`) and drops it after.

`--write-cost N` then times what the index costs writes: N batches of 256 callbacks inserted pending (into the
index) and moved to `succeeded` (out of it), with the index and without (dropped inside the batch's transaction,
which is rolled back either way), alternating; medians per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from dlrhub import store
from dlrhub.core import models
from dlrhub.store.postgres import dispatch as pg_dispatch
from dlrhub.store.sqlite import core as sqlite_core
from dlrhub.store.sqlite import dispatch as sqlite_dispatch

S = models.CallbackState
FAILED = (S.FAILED, S.CANCELLED)
_STATE = (
    "CASE WHEN {n} % 100 < 90 THEN 'succeeded' WHEN {n} % 100 < 95 THEN 'failed'"
    " WHEN {n} % 100 < 96 THEN 'cancelled' ELSE 'pending' END"
)
_COLUMNS = (
    "id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body, content_type, endpoint,"
    " state, due_at, attempts, retry_from, created_at, updated_at"
)
FILL_SQLITE = f"""
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count)
INSERT INTO callbacks ({_COLUMNS})
SELECT printf('cb_%08d', n), 'ev' || n, 'acc_' || (n % 97),
  CASE n % 3 WHEN 0 THEN 'esms' WHEN 1 THEN 'nxcloud' ELSE 'native' END, 'm' || n, 'm' || n, 1, 'POST',
  'http://h' || (n % 53) || '.example/x', X'7b7d', 'application/json', 'http://h' || (n % 53) || '.example:80',
  {_STATE.format(n="n")}, :now, 1, 0, :now - (:count - n) * 2.5, :now
FROM g
"""
FILL_POSTGRES = f"""
INSERT INTO callbacks ({_COLUMNS})
SELECT 'cb_' || lpad(g::text, 8, '0'), 'ev' || g, 'acc_' || (g % 97), (ARRAY['esms','nxcloud','native'])[1 + g % 3],
  'm' || g, 'm' || g, 1, 'POST', 'http://h' || (g % 53) || '.example/x', '\\x7b7d'::bytea, 'application/json',
  'http://h' || (g % 53) || '.example:80', {_STATE.format(n="g")}, now(), 1, 0,
  now() - (($1::int - g) * interval '2.5 seconds'), now()
FROM generate_series(1, $1::int) g
"""


WRITE_BATCH = 256
WRITE_SQLITE = f"""
WITH RECURSIVE g(n) AS (SELECT :lo UNION ALL SELECT n + 1 FROM g WHERE n < :hi)
INSERT INTO callbacks ({_COLUMNS})
SELECT 'w' || n, 'wev' || n, 'acc_1', 'native', 'wm' || n, 'wm' || n, 1, 'POST', 'http://h1.example/x', X'7b7d',
  'application/json', 'http://h1.example:80', 'pending', :now, 0, 0, :now, :now
FROM g
"""
WRITE_POSTGRES = f"""
INSERT INTO callbacks ({_COLUMNS})
SELECT 'w' || g, 'wev' || g, 'acc_1', 'native', 'wm' || g, 'wm' || g, 1, 'POST', 'http://h1.example/x',
  '\\x7b7d'::bytea, 'application/json', 'http://h1.example:80', 'pending', now(), 0, 0, now(), now()
FROM generate_series($1::int, $2::int) g
"""
#: The batch's callbacks delivered: they leave the partial index.
DELIVERED = "UPDATE callbacks SET state = 'succeeded', attempts = 1 WHERE id >= 'w' AND id < 'x'"
DROP = "DROP INDEX callbacks_unsettled"


def print_cost(times: dict[bool, list[float]]) -> None:
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(
        f"  write cost: {WRITE_BATCH} callbacks inserted then delivered: {on:.2f} ms with the index, "
        f"{off:.2f} ms without ({(on / off - 1) * 100:+.0f} %)"
    )


def sqlite_cost(conn: Any, rounds: int) -> None:
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds * 2):
        on = i % 2 == 0
        conn.execute("BEGIN")
        if not on:
            conn.execute(DROP)
        t0 = time.perf_counter()
        conn.execute(WRITE_SQLITE, {"lo": 1, "hi": WRITE_BATCH, "now": time.time()})
        conn.execute(DELIVERED)
        times[on].append((time.perf_counter() - t0) * 1000)
        conn.execute("ROLLBACK")
    print_cost(times)


async def postgres_cost(conn: asyncpg.Connection, rounds: int) -> None:
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds * 2):
        on = i % 2 == 0
        tx = conn.transaction()
        await tx.start()
        if not on:
            await conn.execute(DROP)
        t0 = time.perf_counter()
        await conn.execute(WRITE_POSTGRES, 1, WRITE_BATCH)
        await conn.execute(DELIVERED)
        times[on].append((time.perf_counter() - t0) * 1000)
        await tx.rollback()
    print_cost(times)


#: The page whose plan is printed.
ONE_ACCOUNT = store.CallbackFilter(
    states=FAILED,
    account_id="acc_7",
    newest_first=True,
    limit=51,
)


def cases(later: tuple[dt.datetime, str]) -> dict[str, store.CallbackFilter]:
    now = dt.datetime.now(dt.UTC)
    return {
        "failed, everything": store.CallbackFilter(states=FAILED),
        "failed, one account": store.CallbackFilter(states=FAILED, account_id="acc_7"),
        "failed, destination + dialect": store.CallbackFilter(
            states=FAILED, endpoint="http://h5.example:80", dialect=models.Dialect.ESMS
        ),
        "pending, one destination": store.CallbackFilter(
            states=(S.PENDING,), endpoint="http://h5.example:80"
        ),
        "failed, a page 100 deep": store.CallbackFilter(states=FAILED, before=later),
        "failed, a week's range": store.CallbackFilter(
            states=FAILED, created_from=now - dt.timedelta(days=14), created_to=now - dt.timedelta(days=7)
        ),
        "failed, nothing matches (worst)": store.CallbackFilter(states=FAILED, account_id="acc_none"),
    }


async def timed(
    db: store.Store, rounds: int, bare: Callable[[store.CallbackFilter], Awaitable[Any]]
) -> list[tuple[str, int, float, float, float]]:
    """Per case: rows on the page, the store's p50 and max, the bare query's p50 (alternated round by round)."""
    deep = await db.find_callbacks(store.CallbackFilter(states=FAILED, newest_first=True, limit=5001))
    found = []
    for name, where in cases((deep[-1].created_at, deep[-1].id)).items():
        page = dataclasses.replace(where, newest_first=True, limit=51)
        mine: list[float] = []
        base: list[float] = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            rows = await db.find_callbacks(page)
            t1 = time.perf_counter()
            await bare(page)
            t2 = time.perf_counter()
            mine.append((t1 - t0) * 1000)
            base.append((t2 - t1) * 1000)
        found.append((name, len(rows), statistics.median(mine), max(mine), statistics.median(base)))
    return found


def report(
    backend: str, count: int, fill_s: float, found: list[tuple[str, int, float, float, float]]
) -> None:
    print(
        f"{backend}: {count:,} callbacks (filled in {fill_s:.1f} s); one page of 50: store p50 / max,"
        " bare p50, store/bare"
    )
    for name, rows, p50, worst, bare in found:
        print(
            f"  {name:<34} {rows:>3} rows  {p50:8.2f} ms  {worst:8.2f} ms  {bare:8.2f} ms  {p50 / bare:5.2f}"
        )


async def on_sqlite(count: int, rounds: int, write_cost: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = store.from_url(f"sqlite:///{Path(folder) / 'lists.sqlite3'}")
        assert isinstance(db, sqlite_core.SqliteCore)
        try:
            await db.migrate()
            conn = db._writer_connection()
            t0 = time.perf_counter()
            with conn:
                conn.execute(FILL_SQLITE, {"count": count, "now": time.time()})
            fill_s = time.perf_counter() - t0
            reader = sqlite3.connect(Path(folder) / "lists.sqlite3")

            async def bare(where: store.CallbackFilter) -> Any:
                return reader.execute(*sqlite_dispatch.find_query(where)).fetchall()

            report("SQLite", count, fill_s, await timed(db, rounds, bare))
            reader.close()
            sql, params = sqlite_dispatch.find_query(ONE_ACCOUNT)
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            print("  plan (failed, one account):", "; ".join(plan))
            if write_cost:
                sqlite_cost(conn, write_cost)
        finally:
            await db.close()


async def on_postgres(dsn: str, count: int, rounds: int, write_cost: int) -> None:
    name = f"dlrhub_bench_lists_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = dsn.rsplit("/", 1)[0] + "/" + name
    try:
        db = store.from_url(url)
        try:
            await db.migrate()
            conn = await asyncpg.connect(url)
            t0 = time.perf_counter()
            await conn.execute(FILL_POSTGRES, count)
            await conn.execute("ANALYZE callbacks")
            fill_s = time.perf_counter() - t0

            async def bare(where: store.CallbackFilter) -> Any:
                sql, args = pg_dispatch.find_query(where)
                return await conn.fetch(sql, *args)

            report("PostgreSQL", count, fill_s, await timed(db, rounds, bare))
            sql, args = pg_dispatch.find_query(ONE_ACCOUNT)
            plan = await conn.fetch("EXPLAIN (COSTS OFF) " + sql, *args)
            print("  plan (failed, one account):", "; ".join(r[0].strip() for r in plan if "Scan" in r[0]))
            if write_cost:
                await postgres_cost(conn, write_cost)
            await conn.close()
        finally:
            await db.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callbacks", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=21, help="timed runs of each page")
    parser.add_argument("--write-cost", type=int, default=0, help="rounds of the index's write cost; 0: skip")
    parser.add_argument(
        "--postgres", help="a PostgreSQL DSN (its server gets a database of the benchmark's own)"
    )
    args = parser.parse_args(argv)
    if args.postgres:
        asyncio.run(on_postgres(args.postgres, args.callbacks, args.rounds, args.write_cost))
    else:
        asyncio.run(on_sqlite(args.callbacks, args.rounds, args.write_cost))


if __name__ == "__main__":
    main(sys.argv[1:])
