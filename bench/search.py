"""Message search benchmark: the dashboard's searches over 1,000,000 messages, against the bare SQL query.

The store is filled in one bulk write (SQLite: executemany in one transaction; PostgreSQL: COPY) with a realistic
spread: 40 accounts of very different sizes, about 200,000 recipients (and one busy test number with 2 % of all), most messages delivered and a few failed or
still accepted, three dialects, 30 days, and sends that arrive together sharing one `created_at` (group commit).

Then, for each kind of search the page offers, its first page (50 rows) and a deep page (the 11th, through the
keyset cursor) run interleaved, round by round:

- **store**: `store.search_messages(MessageQuery)`, the call `services/search.py` makes (rows to `Message`s);
- **bare**: the same SQL (`store/message_search.select`) with the bare driver on a connection of its own
  (`sqlite3` in the calling thread, one `asyncpg` connection), rows fetched and discarded.

    python bench/search.py [--rows 1000000] [--rounds 300] [--backends sqlite,postgres]
                           [--postgres-dsn postgresql://postgres@127.0.0.1:5432/test]

PostgreSQL runs in a throwaway database (`dlrhub_bench_search_<pid>`) created from the DSN's server and dropped
after. Prints p50/p99 per search for both, and store/bare (p50). Target: p99 < 100 ms on both at 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from dlrhub import settings, store
from dlrhub.core import models
from dlrhub.services import accounts
from dlrhub.services import hub as hub_
from dlrhub.store import message_search, nouns

DAYS = 30
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
PAGE = 50
DEEP = 40
#: The bulk-filled columns (the others take their defaults).
COLUMNS = (
    "id",
    "account_id",
    "dialect",
    "type_id",
    "recipient",
    "state",
    "seq",
    "request_id",
    "code",
    "created_at",
    "updated_at",
)
STATES = (
    (models.MessageState.DELIVERED, 60),
    (models.MessageState.SUCCESS, 26),
    (models.MessageState.FAILED, 12),
    (models.MessageState.ACCEPTED, 2),
)
DIALECTS = ((models.Dialect.ESMS, 55), (models.Dialect.NXCLOUD, 35), (models.Dialect.NATIVE, 10))


def generate(count: int, account_ids: list[str], seed: int = 7) -> list[tuple[Any, ...]]:
    """`count` message rows in `COLUMNS` order, oldest first; `created_at` as epoch microseconds."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) for k in range(len(account_ids))]  # a few big accounts, a long tail of small ones
    phones = max(10, count // 5)
    span_us = DAYS * 86_400_000_000
    stamps = sorted(rng.randrange(span_us) for _ in range(count))
    states = rng.choices([s for s, _ in STATES], [w for _, w in STATES], k=count)
    dialects = rng.choices([d for d, _ in DIALECTS], [w for _, w in DIALECTS], k=count)
    owners = rng.choices(account_ids, weights, k=count)
    base = int(START.timestamp() * 1_000_000)
    out: list[tuple[Any, ...]] = []
    i = 0
    while i < count:
        group = min(count - i, rng.choice((1, 1, 1, 2, 5, 20)))  # sends gathered in one commit share a time
        at = base + stamps[i]
        for j in range(i, i + group):
            dialect = dialects[j]
            n = 0 if rng.random() < 0.02 else rng.randrange(phones)  # 2 %: the one busy (test) number
            if dialect is models.Dialect.NXCLOUD:
                mid, recipient, request_id = f"zalomid.{rng.getrandbits(128):032x}", f"849{n:08d}", None
            else:
                mid, recipient = f"{rng.getrandbits(128):032x}{j % 100:02d}", f"09{n:08d}"
                request_id = f"req-{j}" if j % 2 == 0 else None
            state = states[j]
            code = -118 if state is models.MessageState.FAILED else None
            out.append(
                (mid, owners[j], dialect.value, 25, recipient, state.value, 2, request_id, code, at, at)
            )
        i += group
    return out


async def fill(db: store.Store, data: list[tuple[Any, ...]]) -> None:
    """Write `data` in one bulk write, then let PostgreSQL gather statistics (as its autovacuum would)."""
    marks = ", ".join("?" for _ in COLUMNS)
    sql = f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({marks})"
    if _is_sqlite(db):
        rows = [(*r[:-2], r[-2] / 1e6, r[-1] / 1e6) for r in data]
        await db._tx(lambda conn: conn.executemany(sql, rows))  # type: ignore[attr-defined]
        return
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    records = [
        (*r[:-2], epoch + dt.timedelta(microseconds=r[-2]), epoch + dt.timedelta(microseconds=r[-1]))
        for r in data
    ]
    pool = await db.pool()  # type: ignore[attr-defined]
    async with pool.acquire() as conn:
        await conn.copy_records_to_table("messages", records=records, columns=list(COLUMNS))
        await conn.execute("ANALYZE messages")


def _is_sqlite(db: store.Store) -> bool:
    from dlrhub.store import sqlite

    return isinstance(db, sqlite.SqliteStore)


def searches(
    data: list[tuple[Any, ...]], account_ids: list[str], n: int, seed: int = 11
) -> dict[str, list[nouns.MessageQuery]]:
    """`n` first-page queries of each kind the page offers, drawn from the data."""
    rng = random.Random(seed)
    with_request = [r for r in data[: len(data)] if r[7] is not None]
    last = START + dt.timedelta(days=DAYS)

    def day() -> tuple[dt.datetime, dt.datetime]:
        since = START + dt.timedelta(days=rng.randrange(DAYS))
        return since, since + dt.timedelta(days=1)

    def q(**kw: Any) -> nouns.MessageQuery:
        return nouns.MessageQuery(limit=PAGE, **kw)

    big, small = account_ids[0], account_ids[-1]
    kinds: dict[str, Callable[[], nouns.MessageQuery]] = {
        "id": lambda: q(public_id=rng.choice(data)[0]),
        "request id": lambda: q(public_id=rng.choice(with_request)[7]),
        "phone": lambda: q(phones=_forms(rng.choice(data)[4])),
        "phone (busy)": lambda: q(phones=_forms("0900000000")),
        "account (big)": lambda: q(account_id=big),
        "account (small)": lambda: q(account_id=small),
        "account+state": lambda: q(account_id=rng.choice(account_ids), state=models.MessageState.FAILED),
        "state failed": lambda: q(state=models.MessageState.FAILED),
        "state accepted": lambda: q(state=models.MessageState.ACCEPTED),
        "dialect native": lambda: q(dialect=models.Dialect.NATIVE),
        "one day": lambda: q(since=(d := day())[0], until=d[1]),
        "account+day": lambda: q(account_id=rng.choice(account_ids[:5]), since=(d := day())[0], until=d[1]),
        "all": lambda: q(until=last),
    }
    return {name: [make() for _ in range(n)] for name, make in kinds.items()}


def _forms(recipient: str) -> tuple[str, ...]:
    return (
        (recipient, "84" + recipient[1:]) if recipient.startswith("0") else (recipient, "0" + recipient[2:])
    )


async def deepen(db: store.Store, queries: list[nouns.MessageQuery]) -> list[nouns.MessageQuery]:
    """The same queries at their 11th page (walked through the keyset, unmeasured); those with fewer pages drop."""
    deep = []
    for query in queries:
        page = query
        for _ in range(DEEP):
            found = await db.search_messages(page)
            if len(found) < PAGE:
                break
            page = dataclasses_replace(page, before=(found[-1].created_at, found[-1].id))
        else:
            deep.append(page)
    return deep


def dataclasses_replace(query: nouns.MessageQuery, **changes: Any) -> nouns.MessageQuery:
    import dataclasses

    return dataclasses.replace(query, **changes)


async def bare_runner(
    db: store.Store, url: str
) -> tuple[Callable[[nouns.MessageQuery], Awaitable[Any]], Callable[[], Awaitable[None]]]:
    """The bare driver on a connection of its own, and how to close it."""
    if _is_sqlite(db):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)

        async def run_sqlite(query: nouns.MessageQuery) -> Any:
            sql, params = message_search.select(query, "sqlite")
            return conn.execute(sql, params).fetchall()

        async def close_sqlite() -> None:
            conn.close()

        return run_sqlite, close_sqlite
    pg = await asyncpg.connect(url)

    async def run_pg(query: nouns.MessageQuery) -> Any:
        sql, params = message_search.select(query, "postgres")
        return await pg.fetch(sql, *params)

    return run_pg, pg.close


def _pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


async def measure(
    db: store.Store,
    bare: Callable[[nouns.MessageQuery], Awaitable[Any]],
    kinds: dict[str, list[nouns.MessageQuery]],
    rounds: int,
) -> list[tuple[str, float, float, float, float]]:
    """Each kind's queries round-robin for `rounds` rounds, store and bare alternately; returns p50/p99 of both."""

    async def via_store(query: nouns.MessageQuery) -> Any:
        return await db.search_messages(query)

    table = []
    for name, queries in kinds.items():
        if not queries:
            continue
        for query in queries[:5]:  # warm up
            await via_store(query)
            await bare(query)
        times: dict[str, list[float]] = {"store": [], "bare": []}
        for i in range(rounds):
            query = queries[i % len(queries)]
            order = (
                (("store", via_store), ("bare", bare))
                if i % 2 == 0
                else (("bare", bare), ("store", via_store))
            )
            for side, fn in order:
                t0 = time.perf_counter()
                await fn(query)
                times[side].append(time.perf_counter() - t0)
        row = (
            name,
            _pct(times["store"], 0.5),
            _pct(times["store"], 0.99),
            _pct(times["bare"], 0.5),
            _pct(times["bare"], 0.99),
        )
        table.append(row)
        print(
            f"  {name:<24} store p50 {row[1]:7.2f} p99 {row[2]:7.2f} ms | bare p50 {row[3]:7.2f} p99 {row[4]:7.2f} ms | {row[1] / row[3]:5.2f}x",
            flush=True,
        )
    return table


async def explain(url: str, kinds: dict[str, list[nouns.MessageQuery]]) -> None:
    """Print the plan of each kind's first query (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL)."""
    for name, queries in kinds.items():
        if not queries:
            continue
        if url.startswith("sqlite"):
            sql, params = message_search.select(queries[0], "sqlite")
            with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
                plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        else:
            sql, params = message_search.select(queries[0], "postgres")
            conn = await asyncpg.connect(url)
            try:
                plan = [r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *params)]
            finally:
                await conn.close()
        print(f"  plan of {name}: " + " | ".join(p.strip() for p in plan))


async def run_backend(
    url: str, label: str, args: argparse.Namespace
) -> list[tuple[str, float, float, float, float]]:
    hub = hub_.Hub.open(settings.Settings(database_url=url))
    await hub.store.migrate()
    account_ids = [
        (await accounts.create(hub, f"bench {k}", with_demo_oa=False)).account.id for k in range(40)
    ]
    data = generate(args.rows, account_ids)
    print(f"{label}: filling {args.rows:,} messages", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    await fill(hub.store, data)
    print(f"  filled in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    first = searches(data, account_ids, n=50)
    kinds: dict[str, list[nouns.MessageQuery]] = {}
    for name, queries in first.items():
        kinds[name] = queries
        if name not in ("id", "request id", "phone"):  # those have a page or two
            kinds[f"{name}, page {DEEP + 1}"] = await deepen(hub.store, queries[:10])
    bare, close = await bare_runner(hub.store, url)
    try:
        if args.explain:
            await explain(url, kinds)
        print(f"{label}: {args.rounds} rounds per search, {PAGE} rows a page (p50/p99 in ms)")
        table = await measure(hub.store, bare, kinds, args.rounds)
    finally:
        await close()
        await hub.close()
    worst = max(row[2] for row in table)
    print(f"{label}: worst store p99 {worst:.2f} ms (target < 100 ms)")
    return table


async def main_async(args: argparse.Namespace) -> None:
    backends = args.backends.split(",")
    if "sqlite" in backends:
        tmp = tempfile.mkdtemp(prefix="dlrhub-bench-search-")
        try:
            await run_backend(f"sqlite:///{Path(tmp) / 'search.sqlite3'}", "SQLite", args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if "postgres" in backends:
        name = f"dlrhub_bench_search_{os.getpid()}"
        admin = await asyncpg.connect(args.postgres_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            base, _, _ = args.postgres_dsn.rpartition("/")
            await run_backend(f"{base}/{name}", "PostgreSQL", args)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--explain", action="store_true", help="print each search's query plan first")
    default_dsn = "postgresql://{}@{}:{}/{}".format(
        os.environ.get("PGUSER", "postgres"),
        os.environ.get("PGHOST", "127.0.0.1"),
        os.environ.get("PGPORT", "5432"),
        os.environ.get("PGDATABASE", "test"),
    )
    parser.add_argument(
        "--postgres-dsn", default=default_dsn, help="a server to make the throwaway database on"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
