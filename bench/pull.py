"""Pull benchmark: eSMS GetCallback for 200 ids in a store of 1,000,000 messages, against the bare SQL query.

Both run in the same process, on the same store and driver (SQLite's one connection thread, or the asyncpg pool):

- **bare**: the very SQL the store runs for GetCallback (`store/{sqlite,postgres}/esms.py` `STATUSES`: the 16
  columns a record needs, `WHERE account_id = … AND id IN (200 ids)`), rows fetched and discarded;
- **getcallback**: exactly what the route does with the request body: parse and validate it, authenticate the
  keys, count the TPS limit (raised out of the way), check the OAId, load the 200 messages, build the records
  and serialise the answer with orjson.
- **http** (`--http`): the same request over loopback HTTP to `dlrhub api` under uvicorn in its own process,
  one keep-alive client connection (request latency includes the client).

Each round picks 200 random ids of the 1,000,000 (190 of them sent with a CallbackUrl on average).

    python bench/pull.py [--messages 1000000] [--rounds 2000] [--database-url postgresql://…] [--http]

Prints req/s, p50 and p99 of each, and getcallback's rate as a share of bare (target: >= 50 %, p99 < 25 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from dlrhub import settings, store
from dlrhub.adapters import ratelimit
from dlrhub.api import esms as esms_api
from dlrhub.dialects.esms import responses
from dlrhub.services import accounts, esms
from dlrhub.services import hub as hub_

IDS = 200
SUFFIX = "5f0c3e9a1b7d4c2e8a6f0b3d123"

_STATE_SQL = (
    "CASE {m} WHEN 0 THEN 'accepted' WHEN 1 THEN 'failed' WHEN 2 THEN 'delivered' WHEN 3 THEN 'delivered'"
    " ELSE 'success' END"
)
_ZALO_SQL = (
    'CASE {m} WHEN 0 THEN NULL WHEN 1 THEN \'{{"error":-118,"message":"Zalo account does not exist"}}\''
    ' ELSE \'{{"error":0,"message":"Success","data":{{"msg_id":"a4d0243feee163bd3af2"}}}}\' END'
)

#: 1,000,000 messages generated inside SQLite (ids: 8 hex digits of i + SUFFIX).
SQLITE_FILL = """
WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
INSERT INTO messages (id, account_id, dialect, type_id, recipient, recipient_kind, state, seq, callback_url,
    oa_id, template_id, template_data, price, currency, telco_id, zalo_msg_id, code, zalo_res, created_at,
    updated_at)
SELECT printf('%08x', i) || '{suffix}', ?, 'esms', 25, '0901888484', 'phone', {state}, 2,
    CASE WHEN i % 20 = 0 THEN NULL ELSE 'https://customer.example/esms' END,
    ?, '100001', '{{"customer_name":"An"}}', '300.0000', 'VND', 2,
    CASE WHEN i % 5 IN (0, 1) THEN NULL ELSE 'a4d0243feee163bd3af2' END,
    CASE WHEN i % 5 = 1 THEN -118 ELSE NULL END, {zalo}, ?, ?
FROM s
""".format(suffix=SUFFIX, state=_STATE_SQL.format(m="i % 5"), zalo=_ZALO_SQL.format(m="i % 5"))

#: The same on PostgreSQL, from generate_series.
POSTGRES_FILL = """
INSERT INTO messages (id, account_id, dialect, type_id, recipient, recipient_kind, state, seq, callback_url,
    oa_id, template_id, template_data, price, currency, telco_id, zalo_msg_id, code, zalo_res, created_at,
    updated_at)
SELECT lpad(to_hex(i), 8, '0') || '{suffix}', $1, 'esms', 25, '0901888484', 'phone', {state}, 2,
    CASE WHEN i % 20 = 0 THEN NULL ELSE 'https://customer.example/esms' END,
    $2, '100001', '{{"customer_name":"An"}}'::jsonb, 300, 'VND', 2,
    CASE WHEN i % 5 IN (0, 1) THEN NULL ELSE 'a4d0243feee163bd3af2' END,
    CASE WHEN i % 5 = 1 THEN -118 ELSE NULL END, ({zalo})::jsonb, now(), now()
FROM generate_series($3::int, $4::int) AS i
""".format(suffix=SUFFIX, state=_STATE_SQL.format(m="i % 5"), zalo=_ZALO_SQL.format(m="i % 5"))


def sms_id(i: int) -> str:
    return f"{i:08x}{SUFFIX}"


async def fill(db: store.Store, account_id: str, oa_id: str, count: int) -> None:
    """Generate `count` messages in batches, inside the database."""
    batch = 100_000
    for start in range(1, count + 1, batch):
        end = min(count, start + batch - 1)
        if isinstance(db, _sqlite_type()):
            now = time.time()
            args = (start, end, account_id, oa_id, now, now)
            await db._tx(lambda conn, a=args: conn.execute(SQLITE_FILL, a))  # type: ignore[attr-defined]
        else:
            pool = await db.pool()  # type: ignore[attr-defined]
            await pool.execute(POSTGRES_FILL, account_id, oa_id, start, end)
        print(f"  filled {end:,} messages", file=sys.stderr, flush=True)
    if not isinstance(db, _sqlite_type()):
        pool = await db.pool()  # type: ignore[attr-defined]
        await pool.execute("ANALYZE messages")


def _sqlite_type() -> type:
    from dlrhub.store import sqlite

    return sqlite.SqliteStore


def bare_query(db: store.Store, account_id: str) -> Callable[[list[str]], Awaitable[Any]]:
    """The bare baseline through the store's own driver and connection."""
    from dlrhub.store.postgres import esms as pg_esms
    from dlrhub.store.sqlite import esms as sqlite_esms

    if isinstance(db, _sqlite_type()):

        def fetch(conn: Any, ids: list[str]) -> Any:
            cursor = conn.cursor()
            cursor.row_factory = None
            sql = sqlite_esms.STATUSES.format(", ".join("?" for _ in ids))
            return cursor.execute(sql, (account_id, *ids)).fetchall()

        async def sqlite_run(ids: list[str]) -> Any:
            return await db._read(lambda conn: fetch(conn, ids))  # type: ignore[attr-defined]

        return sqlite_run

    async def pg_run(ids: list[str]) -> Any:
        pool = await db.pool()  # type: ignore[attr-defined]
        return await pool.fetch(pg_esms.STATUSES, account_id, ids)

    return pg_run


def _summary(name: str, latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies)
    result = {
        "rps": len(latencies) / sum(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }
    print(
        f"{name:>12}: {result['rps']:8.0f} req/s   p50 {result['p50_ms']:6.2f} ms   p99 {result['p99_ms']:6.2f} ms"
    )
    return result


async def measure(
    rounds: int, total: int, runs: dict[str, Callable[[list[str]], Awaitable[Any]]]
) -> dict[str, dict[str, float]]:
    """Run every function on the same random 200 ids per round, interleaved (so machine noise hits all alike);
    req/s is rounds / time spent in that function."""
    rng = random.Random(7)
    picks = [[sms_id(rng.randint(1, total)) for _ in range(IDS)] for _ in range(rounds)]
    for ids in picks[: max(10, rounds // 20)]:  # warm up
        for fn in runs.values():
            await fn(ids)
    latencies: dict[str, list[float]] = {name: [] for name in runs}
    for ids in picks:
        for name, fn in runs.items():
            t0 = time.perf_counter()
            await fn(ids)
            latencies[name].append(time.perf_counter() - t0)
    return {name: _summary(name, values) for name, values in latencies.items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def http_run(database_url: str, creds: dict[str, str], rounds: int, total: int) -> dict[str, float]:
    import aiohttp

    port = _free_port()
    env = {
        **os.environ,
        "DLRHUB_DATABASE_URL": database_url,
        "DLRHUB_ESMS_GETCALLBACK_TPS": "1000000000",
        "DLRHUB_PORT": str(port),
    }
    code = (
        "import uvicorn; from dlrhub import settings; from dlrhub.api import app; from dlrhub.services import hub;"
        "c = settings.load(); uvicorn.run(app.create_app(hub.Hub.open(c), manage_store=True), host='127.0.0.1',"
        " port=c.port, log_level='warning', access_log=False, loop='uvloop', http='httptools')"
    )
    server = subprocess.Popen([sys.executable, "-c", code], env=env)  # noqa: ASYNC220  # a bench-only server
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/ZaloCallback/GetCallback"
            for _ in range(100):
                try:
                    async with session.post(url, data=b"{}") as r:
                        await r.read()
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)

            async def one(ids: list[str]) -> Any:
                async with session.post(url, data=orjson.dumps({**creds, "ListRefid": ids})) as r:
                    body = await r.read()
                    assert r.status == 200, body[:200]
                    return body

            return (await measure(rounds, total, {"http": one}))["http"]
    finally:
        server.terminate()
        server.wait(timeout=10)


async def main_async(args: argparse.Namespace) -> None:
    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.mkdtemp(prefix="dlrhub-bench-pull-")
        url = f"sqlite:///{Path(tmp) / 'pull.sqlite3'}"
    config = settings.Settings(database_url=url, esms_getcallback_tps=1_000_000_000)
    hub = hub_.Hub.open(config)
    await hub.store.migrate()
    new = await accounts.create(hub, "bench")
    account, oa_id = new.account, new.oa.oa_id
    print(f"store: {url.split('://')[0]}; filling {args.messages:,} messages", file=sys.stderr)
    t0 = time.perf_counter()
    await fill(hub.store, account.id, oa_id, args.messages)
    print(f"  filled in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    creds = {"ApiKey": account.esms_api_key, "SecretKey": account.esms_secret_key, "OAId": oa_id}
    limiter = ratelimit.Limiter.memory()

    async def getcallback(ids: list[str]) -> bytes:
        raw = orjson.dumps({**creds, "ListRefid": ids})
        query, acc = await esms.authenticate_get_callback(hub, raw)
        wait = await limiter.hit(esms_api.GET_CALLBACK_SCOPE, acc.id, hub.settings.esms_getcallback_tps)
        assert wait is None
        return responses.get_callback(await esms.get_callback(hub, query, acc))

    sample = orjson.loads(await getcallback([sms_id(i) for i in range(1, IDS + 1)]))
    assert len(sample["Data_callback"]) == IDS - IDS // 20, len(sample["Data_callback"])
    results = await measure(
        args.rounds, args.messages, {"bare": bare_query(hub.store, account.id), "getcallback": getcallback}
    )
    bare, full = results["bare"], results["getcallback"]
    print(f"getcallback / bare: {full['rps'] / bare['rps']:.0%}  (target >= 50 %, p99 < 25 ms)")
    await limiter.close()
    await hub.close()
    if args.http:
        await http_run(url, creds, args.rounds, args.messages)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--http", action="store_true", help="also measure over HTTP against `dlrhub api`")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
