"""Overview benchmark: what one refresh of the dashboard's overview (`services/overview.snapshot`) costs the store,
on a store with millions of messages and attempts, of which the last hour holds `--hour`.

Messages and attempts are generated in SQL: `--total` of each, `--hour` of them created in the last hour (evenly),
the rest spread over the 30 days before; one message in ten went through the Zalo channel (a third of those
refused), one attempt in twenty failed; 1 % of the callbacks gave up. Each read of the snapshot is timed on its
own, then the whole snapshot, `--rounds` times; medians are printed. Each of the four range reads alternates, round
by round, with its bare query: the same SQL run by the bare driver on its own connection (`sqlite3` in the calling
thread, one `asyncpg` connection), rows fetched and discarded; the line ends with store/bare.

    python bench/overview.py [--total 5000000] [--hour 360000] [--rounds 20] [--postgres postgresql://…/admin_db]

SQLite runs in a temporary file; PostgreSQL (when `--postgres` names a database to connect to for CREATE
DATABASE) in a new database `dlrhub_bench_overview_<pid>`, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from dlrhub import settings, store
from dlrhub.core import models
from dlrhub.services import hub as hub_
from dlrhub.services import overview
from dlrhub.store.postgres import activity as pg_activity
from dlrhub.store.postgres import core as pg_core
from dlrhub.store.sqlite import activity as lite_activity
from dlrhub.store.sqlite import core as lite_core

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
MONTH_S = 30 * 86400

#: Row i (1-based) is at `now - age(i)`: the first `hour` rows evenly over the last hour, the rest over the month.
_AGE = (
    "CASE WHEN {i} <= {hour} THEN {i} * 3600.0 / {hour} ELSE 3600 + ({i} - {hour}) * {month}.0 / {rest} END"
)
_MSG_COLUMNS = "id, account_id, dialect, type_id, recipient, state, code, zalo_res, channel_state, created_at, updated_at"
_MSG = """'m' || i, 'acct', CASE WHEN i % 10 = 0 THEN 'esms' ELSE 'native' END, 25, '84900000001',
       CASE WHEN i % 30 = 0 THEN 'failed' WHEN i % 10 = 0 THEN 'delivered' ELSE 'success' END,
       CASE WHEN i % 30 = 0 THEN 17004 WHEN i % 10 = 0 THEN 17003 ELSE 0 END,
       CASE WHEN i % 30 = 0 THEN '{{"error": -118, "message": "x"}}' END,
       CASE WHEN i % 10 = 0 THEN 'done' ELSE 'none' END"""
_ATT = "'cb' || i, 1, {at}, 12.5, CASE WHEN i % 20 = 0 THEN 'http_status' ELSE 'ok' END"

SQLITE_SERIES = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})"
PG_SERIES = "WITH s(i) AS (SELECT generate_series(1, {n}))"


def fill_sql(backend: str, total: int, hour: int) -> list[str]:
    """The statements that fill the tables (besides the account), for `backend`."""
    lite = backend == "sqlite"

    def at(i: str) -> str:
        seconds = (
            f"{NOW.timestamp()} - ({_AGE.format(i=i, hour=hour, month=MONTH_S, rest=max(1, total - hour))})"
        )
        return seconds if lite else f"to_timestamp({seconds})"

    def series(n: int) -> str:
        return (SQLITE_SERIES if lite else PG_SERIES).format(n=n)

    msg = _MSG.replace("{{", "{").replace("}}", "}")
    if not lite:
        msg = msg.replace("x\"}'", "x\"}'::jsonb")
    body = "X'7b7d'" if lite else "'\\x7b7d'::bytea"
    return [
        f"{series(total)} INSERT INTO messages ({_MSG_COLUMNS}) SELECT {msg}, {at('i')}, {at('i')} FROM s",
        f"{series(total)} INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome)"
        f" SELECT {_ATT.format(at=at('i'))} FROM s",
        f"{series(total // 100)} INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq,"
        " method, url, body, endpoint, state, due_at, created_at, updated_at)"
        f" SELECT 'cb' || i, 'ev' || i, 'acct', 'native', 'm' || i, 'm' || i, 1, 'POST', 'http://x:80/h', {body},"
        f" 'http://x:80', 'failed', {at('i * 100')}, {at('i * 100')}, {at('i * 100')} FROM s",
    ]


async def fill(db: store.Store, backend: str, total: int, hour: int) -> None:
    account = models.Account(
        id="acct", name="bench", status=models.AccountStatus.ACTIVE, esms_api_key="k", esms_secret_key="s",
        nx_access_key="nk", nx_access_secret="ns", balance=Decimal(0), currency="VND", prices={},
        utc_offset_minutes=420, signing_secrets=(), created_at=NOW,
    )  # fmt: skip
    await db.create_account(account, [])
    started = time.perf_counter()
    if isinstance(db, lite_core.SqliteCore):
        conn = db._writer_connection()
        for sql in fill_sql(backend, total, hour):
            with conn:
                conn.execute(sql)
        conn.execute("ANALYZE")
    elif isinstance(db, pg_core.PostgresCore):
        pool = await db.pool()
        for sql in fill_sql(backend, total, hour):
            await pool.execute(sql)
        await pool.execute("VACUUM ANALYZE messages, attempts, callbacks")
    print(
        f"  filled {total:,} messages and attempts ({hour:,} in the last hour) in {time.perf_counter() - started:.0f} s"
    )


async def median_ms(call: Callable[[], Awaitable[Any]], rounds: int) -> float:
    await call()  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def paired_ms(
    call: Callable[[], Awaitable[Any]], bare: Callable[[], Awaitable[Any]], rounds: int
) -> tuple[float, float]:
    """Medians (ms) of `call` and `bare`, alternated round by round."""
    await call()
    await bare()  # warm both
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for side, fn in enumerate((call, bare)):
            started = time.perf_counter()
            await fn()
            times[side].append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


#: The four range reads' SQL on each backend, by the store method that runs it.
RANGE_SQL = {
    "sqlite": {
        "accepted_per_minute": lite_activity.ACCEPTED_PER_MINUTE,
        "delivered_per_minute": lite_activity.DELIVERED_PER_MINUTE,
        "finished_badly": lite_activity.FINISHED_BADLY,
        "zalo_results": lite_activity.ZALO_RESULTS,
    },
    "postgres": {
        "accepted_per_minute": pg_activity.ACCEPTED_PER_MINUTE,
        "delivered_per_minute": pg_activity.DELIVERED_PER_MINUTE,
        "finished_badly": pg_activity.FINISHED_BADLY,
        "zalo_results": pg_activity.ZALO_RESULTS,
    },
}
PER_MINUTE = {"accepted_per_minute", "delivered_per_minute"}


def bare_reads(
    backend: str, conn: Any, since: dt.datetime, until: dt.datetime
) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The bare driver running each range read's SQL with the store's parameters."""
    reads: dict[str, Callable[[], Awaitable[Any]]] = {}
    for name, sql in RANGE_SQL[backend].items():
        if backend == "sqlite":
            args: tuple[Any, ...] = (since.timestamp(), until.timestamp())
            args += (since.timestamp(), 60) if name in PER_MINUTE else ()

            async def lite(sql: str = sql, args: tuple[Any, ...] = args) -> Any:
                return conn.execute(sql, args).fetchall()

            reads[name] = lite
        else:
            pargs: tuple[Any, ...] = (since, until) + ((since, 60) if name in PER_MINUTE else ())

            async def pg(sql: str = sql, pargs: tuple[Any, ...] = pargs) -> Any:
                return await conn.fetch(sql, *pargs)

            reads[name] = pg
    return reads


async def others(db: store.Store) -> None:
    """The snapshot's reads of a few rows each: the counts, the backlog's age, endpoints, OAs and their quota."""
    await db.callback_counts()
    await db.oldest_pending_due_at()
    await db.count_endpoints()
    await db.list_oas()
    await db.quota_used("2026-06-01")


async def measure(db: store.Store, rounds: int, backend: str, conn: Any) -> None:
    since, until = overview.window(NOW)
    hub = hub_.Hub(settings=settings.Settings(), store=db, clock=lambda: NOW)
    ranged: dict[str, Callable[[], Awaitable[Any]]] = {
        "accepted_per_minute": lambda: db.accepted_per_minute(since, until),
        "delivered_per_minute": lambda: db.delivered_per_minute(since, until),
        "finished_badly": lambda: db.finished_badly(since, until),
        "zalo_results": lambda: db.zalo_results(since, until),
    }
    bare = bare_reads(backend, conn, since, until)
    for name, call in ranged.items():
        mine, base = await paired_ms(call, bare[name], rounds)
        print(
            f"  {name:<22} {mine:8.1f} ms, bare {base:8.1f} ms, store/bare {mine / base:5.2f} (medians of {rounds})"
        )
    whole: dict[str, Callable[[], Awaitable[Any]]] = {
        "the other reads": lambda: others(db),
        "whole snapshot": lambda: overview.snapshot(hub),
    }
    for name, call in whole.items():
        print(f"  {name:<22} {await median_ms(call, rounds):8.1f} ms (median of {rounds})")
    found = await overview.snapshot(hub)
    print(f"  (the hour: {found.accepted.total:,} accepted, {found.delivered.total:,} delivered, "
          f"{sum(r.count for r in found.zalo):,} Zalo sends)")  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite, {args.total:,} messages:")
        db = store.from_url(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        await db.migrate()
        await fill(db, "sqlite", args.total, args.hour)
        conn = sqlite3.connect(Path(tmp) / "bench.sqlite3")
        await measure(db, args.rounds, "sqlite", conn)
        conn.close()
        await db.close()
    if args.postgres:
        name = f"dlrhub_bench_overview_{os.getpid()}"
        admin = await asyncpg.connect(args.postgres)
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            print(f"PostgreSQL, {args.total:,} messages:")
            db = store.from_url(url)
            await db.migrate()
            await fill(db, "postgres", args.total, args.hour)
            conn = await asyncpg.connect(url)
            await measure(db, args.rounds, "postgres", conn)
            await conn.close()
            await db.close()
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {name}")
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=5_000_000)
    parser.add_argument("--hour", type=int, default=360_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", default="")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
