"""Flatness benchmark: ingest, dispatch and pull on a store holding 10,000,000 rows against an empty one, with
the pruner running alongside, and the store's size under steady traffic once retention applies.

For each backend (an SQLite file; PostgreSQL databases `<prefix>full`, `<prefix>empty`, ...) it keeps two stores:

- **empty**: the bench accounts and a working set of `--working-set` recent eSMS messages (what the pulls read);
- **full**: the same, plus a history generated inside the database (recursive CTE / generate_series, in batches)
  of about `--rows` rows: messages, two events each, a finished callback for 80 % of them with one attempt (two
  when it failed), a RequestId for 30 %. Their ages spread evenly over 100 days, so about 70 % are older than the
  default 30-day retention and the pruner has work; the rest is within it. On PostgreSQL, both stores' `attempts`
  and `events` have a partition for each day of the 100 and the week ahead, and no `_legacy` partition (as a store
  on the partitioned schema for 100 days has them: `partition_by_day`), so the history goes into its days.

Then, round by round, the same-run baselines and the two stores in alternating order (medians and ranges):

- **ingest**: signed NXCloud `mt` sends through dlrhub's own app in-process (ASGI called directly, 32 at once),
  against a bare FastAPI app answering the same JSON through the same caller (`bench/ingest.py`'s baseline);
- **dispatch**: `--callbacks` pre-queued callbacks delivered by the dispatcher worker (default settings) to a local
  nginx receiver, against a bare aiohttp client (keep-alive, the default pool) POSTing as many;
- **pull**: eSMS GetCallback for 200 random ids of the working set (what the route does with the body), against
  the bare SQL the store runs for it on the same store and driver (`bench/pull.py`).

While a store is measured, the pruner worker (`workers.pruner.run`, default settings: `prune_chunk_rows` a chunk,
a pause of four times the chunk's time, at least 50 ms, between chunks) runs beside it on the same event loop, as `dlrhub serve` runs it; on the full store it has
millions of old rows to delete. Target: each full/empty ratio within 20 %.

`--phase size` then runs the steady state on a fresh store for `--size-seconds`: events ingested at `--size-rate`
a second (`services.events.ingest_external`: a message, its event, a callback), the dispatcher delivering them,
and the pruner with every retention at 1 day and a clock `1 day - --window` seconds ahead (rows age out
`--window` seconds after their last change) and a round every `--prune-every` seconds; it samples the file size
(+ WAL) or `pg_database_size` every `--sample-s`. Where the server runs with autovacuum off (the test server
does), `--vacuum-every` plain `VACUUM`s the pruned tables, as autovacuum would.

    python bench/flat.py [--rows 10000000] [--backends sqlite,postgres] [--data DIR] [--quick]
                         [--phase all|prepare|measure|size|clean]

Generation takes minutes at 10,000,000 rows: `--phase prepare --data DIR` generates once (resumably, a pristine
copy kept in DIR / database `<prefix>full`) and clones it; `--phase measure --data DIR` measures on the clone and
drops it, so measurement alone can run under a lock; `--phase clean --data DIR` removes everything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import asyncpg
import fastapi
import orjson

import receivers
from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.core import models, urls
from dlrhub.dialects.esms import responses
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import accounts, esms, events
from dlrhub.services import hub as hub_
from dlrhub.store.postgres import esms as pg_esms
from dlrhub.store.postgres import partitions as pg_partitions
from dlrhub.store.sqlite import esms as sqlite_esms
from dlrhub.workers import dispatcher, pruner

#: Rows per generated message: itself, 2 events, 0.8 callback, 0.8 * 1.04 attempts, 0.3 RequestId.
PER_MESSAGE = 1 + 2 + 0.8 + 0.8 * 1.04 + 0.3
HISTORY_DAYS = 100
BATCH = 100_000
HISTORY_SUFFIX = "0c3e9a1b7d4c2e8a6f0b3d12345"
WORKING_SUFFIX = "5f0c3e9a1b7d4c2e8a6f0b3d123"
DLR_URL = "https://customer.example/dlr"
IDS = 200
NX_PATH = "/v1/zalo/mt"
NX_BODY: dict[str, Any] = {
    "phone": "84901888484",
    "functionType": "template",
    "messageData": {"templateId": "100001", "templateData": {"name": "Nguyen Van An", "order": "A-10023"}},
}
LOOPBACK = ("127.0.0.1",)
#: How the generated message ids are made; a store prepared with other ids is generated again.
IDS_MINTED = "time-ordered"
#: How the PostgreSQL stores' time-partitioned tables are laid out (`partition_by_day`); a store laid out
#: otherwise is generated again.
LAYOUT = "by-day"
TABLES = ("messages", "events", "callbacks", "attempts", "request_ids")


# -- generation, inside the database -------------------------------------------------------------------------
class Sql:
    """The generator's SQL for one backend: named `:params` (turned into `$n` with casts on PostgreSQL)."""

    #: PostgreSQL casts of the named parameters.
    CASTS: ClassVar[dict[str, str]] = {
        "lo": "bigint",
        "hi": "bigint",
        "total": "bigint",
        "now": "float8",
        "span": "float8",
    }

    def __init__(self, backend: str) -> None:
        self.pg = backend == "postgres"

    def ts(self, expr: str) -> str:
        return f"to_timestamp({expr})" if self.pg else f"({expr})"

    def head(self, extra: str = "") -> str:
        t = ":now - :span * (:total - i) / :total"
        if self.pg:
            series = "s(i) AS (SELECT generate_series(:lo, :hi))"
            ms = f"lpad(to_hex((({t}) * 1000)::bigint), 12, '0')"
            scatter = "lpad(to_hex((i * 2654435761) % 4294967296), 8, '0')"
        else:
            series = "s(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM s WHERE i < :hi)"
            ms = f"printf('%012x', CAST(({t}) * 1000 AS INTEGER))"
            scatter = "printf('%08x', (i * 2654435761) % 4294967296)"
        # Message ids as dlrhub mints them (ids.message_id, ADR 0003): the creation time in ms first, so a day's
        # messages sit together in every index keyed by message id; callback ids are scattered, as uuid5's are.
        return (
            f"WITH RECURSIVE {series}, g AS (SELECT i, {ms} || {scatter} || substr(:suffix, 13) AS mid,"
            f" {scatter} AS scatter, {t} AS t,"
            " CASE i % 3 WHEN 0 THEN :a0 WHEN 1 THEN :a1 ELSE :a2 END AS acc FROM s)" + extra
        )

    def statements(self) -> dict[str, str]:
        pad8 = (
            "lpad(((i * 7919) % 100000000)::text, 8, '0')"
            if self.pg
            else "printf('%08d', (i * 7919) % 100000000)"
        )
        body = "'\\x7b7d'::bytea" if self.pg else "X'7b7d'"
        true = "true" if self.pg else "1"
        ok = "i % 100 < 96"
        dialect = "CASE WHEN i % 10 < 6 THEN 'esms' WHEN i % 10 < 9 THEN 'nxcloud' ELSE 'native' END"
        two = ", k(n) AS (VALUES (1), (2))"
        return {
            "messages": self.head()
            + " INSERT INTO messages (id, account_id, dialect, type_id, recipient, state, seq, callback_url,"
            " request_id, oa_id, template_id, telco_id, code, created_at, updated_at)"
            f" SELECT mid, acc, {dialect}, 25, '09' || {pad8},"
            " CASE WHEN i % 100 < 88 THEN 'delivered' ELSE 'failed' END, 2,"
            " CASE WHEN i % 5 = 0 THEN NULL ELSE :url END, CASE WHEN i % 10 < 3 THEN 'req-' || mid END, :oa,"
            f" '100001', 2, CASE WHEN i % 100 >= 88 THEN -118 END, {self.ts('t')}, {self.ts('t + 5')} FROM g",
            "events": self.head(two)
            + " INSERT INTO events (id, account_id, message_id, seq, kind, code, applied, occurred_at, recorded_at)"
            " SELECT mid || ':' || n, acc, mid, n,"
            " CASE WHEN n = 1 THEN 'accepted' WHEN i % 100 < 88 THEN 'delivered' ELSE 'failed' END,"
            f" CASE WHEN n = 2 AND i % 100 >= 88 THEN -118 END, {true}, {self.ts('t + n')}, {self.ts('t + n')}"
            " FROM g, k",
            "callbacks": self.head()
            + " INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url,"
            " body, content_type, endpoint, state, due_at, attempts, created_at, updated_at, last_outcome,"
            " last_status)"
            f" SELECT 'cb' || scatter || mid, mid || ':2', acc, {dialect}, mid, mid, 2, 'POST', :url, {body},"
            f" 'application/json', :endpoint, CASE WHEN {ok} THEN 'succeeded' WHEN i % 100 < 99 THEN 'failed'"
            f" ELSE 'cancelled' END, {self.ts('t + 2')}, CASE WHEN {ok} THEN 1 ELSE 2 END, {self.ts('t + 2')},"
            f" {self.ts('t + 4')}, CASE WHEN {ok} THEN 'ok' ELSE 'http_status' END,"
            f" CASE WHEN {ok} THEN 200 ELSE 500 END FROM g WHERE i % 5 <> 0",
            "attempts": self.head(two)
            + " INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome, status_code)"
            f" SELECT 'cb' || scatter || mid, n, {self.ts('t + 2 + n')}, 12.5, CASE WHEN {ok} THEN 'ok' ELSE 'http_status'"
            f" END, CASE WHEN {ok} THEN 200 ELSE 500 END FROM g, k WHERE i % 5 <> 0 AND (n = 1 OR NOT {ok})",
            "request_ids": self.head()
            + " INSERT INTO request_ids (account_id, request_id, message_id, created_at)"
            f" SELECT acc, 'req-' || mid, mid, {self.ts('t')} FROM g WHERE i % 10 < 3",
        }

    def queue(self) -> str:
        """`:hi - :lo + 1` pending callbacks due now, to `:url` (the dispatch rounds' work)."""
        body = "'\\x7b7d'::bytea" if self.pg else "X'7b7d'"
        series = (
            "s(i) AS (SELECT generate_series(:lo, :hi))"
            if self.pg
            else "s(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM s WHERE i < :hi)"
        )
        return (
            f"WITH RECURSIVE {series} INSERT INTO callbacks (id, event_id, account_id, dialect, order_key, seq,"
            " method, url, body, content_type, endpoint, state, due_at, attempts, created_at, updated_at,"
            " health_key)"
            f" SELECT :tag || i, :tag || i, :a0, 'native', :tag || i, 1, 'POST', :url, {body}, 'application/json',"
            f" :endpoint, 'pending', {self.ts(':now')}, 0, {self.ts(':now')}, {self.ts(':now')}, :health FROM s"
        )

    def bind(self, sql: str, params: dict[str, Any]) -> tuple[str, Any]:
        """The statement and its parameters for the driver."""
        if not self.pg:
            return sql, params
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}::{self.CASTS.get(name, 'text')}"

        text = re.sub(r"(?<!:):([a-z]\w*)", number, sql)
        return text, [params[n] for n in names]


async def execute(url: str, statements: list[str], params: dict[str, Any]) -> None:
    """Run generator statements on a connection of their own, in one transaction."""
    backend = "postgres" if url.startswith("postgres") else "sqlite"
    sql = Sql(backend)
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60)) as conn:
            for statement in statements:
                conn.execute(*sql.bind(statement, params))
            conn.commit()
        return
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for statement in statements:
                text, args = sql.bind(statement, params)
                await conn.execute(text, *args)
    finally:
        await conn.close()


async def generate(
    url: str,
    backend: str,
    info: dict[str, Any],
    messages: int,
    suffix: str,
    span_s: float,
    save: Callable[[], None],
) -> None:
    """`messages` messages and their rows, oldest first, in batches; resumes from `info["done"]`."""
    statements = Sql(backend).statements()
    base = {
        "total": messages,
        "now": info["now"],
        "span": span_s,
        "suffix": suffix,
        "url": DLR_URL,
        "endpoint": urls.check_url(DLR_URL).endpoint,
        "oa": info["oa_id"],
        **{f"a{k}": account for k, account in enumerate(info["accounts"])},
    }
    started = time.perf_counter()
    for lo in range(info.get("done", 0) + 1, messages + 1, BATCH):
        hi = min(messages, lo + BATCH - 1)
        await execute(url, list(statements.values()), {**base, "lo": lo, "hi": hi})
        info["done"] = hi
        save()
        print(
            f"    {hi:,} / {messages:,} messages ({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )


def _exists(path: str) -> bool:
    return Path(path).exists()


def _unlink(*paths: str) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def _size(path: str) -> int:
    return Path(path).stat().st_size if Path(path).exists() else 0


# -- the stores ----------------------------------------------------------------------------------------------
class Place:
    """Where one backend's stores live: file paths (SQLite) or database names (PostgreSQL)."""

    def __init__(self, backend: str, data: Path, dsn: str, prefix: str) -> None:
        self.backend, self.data, self.dsn, self.prefix = backend, data, dsn, prefix

    def url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.data / f'{self.prefix}{name}.sqlite3'}"
        return f"{self.dsn.rpartition('/')[0]}/{self.prefix}{name}"

    def info_path(self, name: str) -> Path:
        return self.data / f"{self.prefix}{name}.{self.backend}.json"

    async def exists(self, name: str) -> bool:
        if self.backend == "sqlite":
            return _exists(self.url(name).removeprefix("sqlite:///"))
        conn = await asyncpg.connect(self.dsn)
        try:
            return bool(
                await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", self.prefix + name)
            )
        finally:
            await conn.close()

    async def drop(self, name: str) -> None:
        self.info_path(name).unlink(missing_ok=True)
        if self.backend == "sqlite":
            path = self.url(name).removeprefix("sqlite:///")
            _unlink(path, path + "-wal", path + "-shm")
            return
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.prefix}{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def create(self, name: str) -> None:
        await self.drop(name)
        if self.backend == "postgres":
            conn = await asyncpg.connect(self.dsn)
            try:
                await conn.execute(f'CREATE DATABASE "{self.prefix}{name}"')
            finally:
                await conn.close()

    async def clone(self, source: str, name: str) -> None:
        await self.drop(name)
        if self.backend == "sqlite":
            with contextlib.closing(sqlite3.connect(self.url(source).removeprefix("sqlite:///"))) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(
                self.url(source).removeprefix("sqlite:///"), self.url(name).removeprefix("sqlite:///")
            )
        else:
            conn = await asyncpg.connect(self.dsn)
            try:
                await conn.execute(f'CREATE DATABASE "{self.prefix}{name}" TEMPLATE "{self.prefix}{source}"')
            finally:
                await conn.close()
        shutil.copyfile(self.info_path(source), self.info_path(name))

    def load(self, name: str) -> dict[str, Any]:
        info: dict[str, Any] = json.loads(self.info_path(name).read_text())
        return info

    async def working_ids(self, name: str) -> list[str]:
        """The working set's message ids, in id order (they are minted in the database, see `Sql.head`)."""
        sql = "SELECT id FROM messages WHERE id LIKE '%" + WORKING_SUFFIX[12:] + "' ORDER BY id"
        if self.backend == "sqlite":
            with contextlib.closing(sqlite3.connect(self.url(name).removeprefix("sqlite:///"))) as conn:
                return [row[0] for row in conn.execute(sql)]
        conn = await asyncpg.connect(self.url(name))
        try:
            return [row[0] for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def counts(self, name: str) -> dict[str, int]:
        found = {}
        for table in TABLES:
            sql = f"SELECT count(*) FROM {table}"
            if self.backend == "sqlite":
                with contextlib.closing(sqlite3.connect(self.url(name).removeprefix("sqlite:///"))) as conn:
                    found[table] = int(conn.execute(sql).fetchone()[0])
            else:
                conn = await asyncpg.connect(self.url(name))
                try:
                    found[table] = int(await conn.fetchval(sql))
                finally:
                    await conn.close()
        return found


async def partition_by_day(url: str, now: float) -> list[str]:
    """PostgreSQL: lay out each time-partitioned table (`attempts`, `events`; migrations 0025, 0029) as a store
    on the partitioned schema for HISTORY_DAYS has it: a partition for each UTC day from `now - HISTORY_DAYS` to
    DAYS_AHEAD days after `now`, and no `<table>_legacy`. A new store's legacy partition takes every time up to
    the end of the migration's day, so without this the generated history would all go into it and retention
    would delete it in chunks; with it, the history's days go into their partitions and the pruner drops them
    (`partitions.drop_past`). The legacy partition is empty in a new store; it is detached and dropped.
    Returns the partitions created."""
    first = dt.datetime.fromtimestamp(now - HISTORY_DAYS * 86_400.0 - 86_400.0, dt.UTC)
    first = first.replace(hour=0, minute=0, second=0, microsecond=0)
    last = dt.datetime.fromtimestamp(now, dt.UTC) + dt.timedelta(days=pg_partitions.DAYS_AHEAD)
    created: list[str] = []
    conn = await asyncpg.connect(url)
    try:
        for table in pg_partitions.PARTITIONED:
            legacy = f"{table}_legacy"
            async with conn.transaction():
                if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", legacy):
                    if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {legacy})"):
                        raise SystemExit(f"{legacy} is not empty: not a new store")
                    await conn.execute(f"ALTER TABLE {table} DETACH PARTITION {legacy}")
                    await conn.execute(f"DROP TABLE {legacy}")
                existing = await pg_partitions.partitions(conn, table)
                day = first
                while day <= last:
                    end = day + dt.timedelta(days=1)
                    if not any(p.overlaps(day, end) for p in existing):
                        part = pg_partitions.day_name(table, day)
                        await conn.execute(
                            f"CREATE TABLE {part} PARTITION OF {table}"
                            f" FOR VALUES FROM ('{day.isoformat()}') TO ('{end.isoformat()}')"
                        )
                        created.append(part)
                    day = end
    finally:
        await conn.close()
    return created


async def new_store(
    place: Place, name: str, args: argparse.Namespace, history: int, now: float | None = None
) -> None:
    """A store with the bench accounts and the working set, and `history` messages' worth of rows more; `now`
    (default: the clock) dates the working set, whose ids are made from it."""
    await place.create(name)
    url = place.url(name)
    hub = hub_.Hub.open(settings.Settings(database_url=url))
    await hub.store.migrate()
    made = [await accounts.create(hub, f"flat {k}", balance=Decimal("1e12")) for k in range(3)]
    await hub.close()
    first = made[0]
    now = time.time() if now is None else now
    if place.backend == "postgres":
        days = await partition_by_day(url, now)
        print(f"    {name}: {len(days)} day partitions of attempts and events", file=sys.stderr, flush=True)
    info: dict[str, Any] = {
        "now": now,
        "accounts": [m.account.id for m in made],
        "oa_id": first.oa.oa_id,
        "creds": {
            "access_key": first.account.nx_access_key,
            "secret": first.account.nx_access_secret,
            "appkey": first.app.appkey,
            "api_key": first.account.esms_api_key,
            "secret_key": first.account.esms_secret_key,
        },
        "history": history,
        "working_set": args.working_set,
        "ids": IDS_MINTED,
        "layout": LAYOUT if place.backend == "postgres" else None,
    }
    path = place.info_path(name)

    def save() -> None:
        path.write_text(json.dumps(info))

    save()
    working = {**info, "accounts": [info["accounts"][0]] * 3, "done": 0}
    await generate(url, place.backend, working, args.working_set, WORKING_SUFFIX, 86_400.0, lambda: None)
    await fill_history(place, name, info, save)


async def fill_history(place: Place, name: str, info: dict[str, Any], save: Callable[[], None]) -> None:
    if info["history"]:
        t0 = time.perf_counter()
        await generate(
            place.url(name),
            place.backend,
            info,
            info["history"],
            HISTORY_SUFFIX,
            HISTORY_DAYS * 86_400.0,
            save,
        )
        info["seconds"] = info.get("seconds", 0.0) + time.perf_counter() - t0
    if place.backend == "postgres":
        conn = await asyncpg.connect(place.url(name))
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
    info["complete"] = True
    save()


# -- in-process HTTP (ingest) ----------------------------------------------------------------------------------
async def asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One POST through an ASGI app called directly (no socket, no server): status and body."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*raw_headers, (b"content-length", str(len(body)).encode()), (b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }
    given = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never goes away
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def bare_app() -> fastapi.FastAPI:
    """`bench/ingest.py`'s baseline: a bare FastAPI endpoint that parses the JSON and answers."""
    app = fastapi.FastAPI()

    @app.post(NX_PATH)
    async def mt(request: fastapi.Request) -> fastapi.Response:
        body = orjson.loads(await request.body())
        return fastapi.Response(
            orjson.dumps({"code": 0, "message": "Success", "data": {"requestId": str(len(body))}}),
            media_type="application/json",
        )

    return app


def nx_requests(creds: dict[str, str]) -> Callable[[], tuple[bytes, dict[str, str]]]:
    """Signed NXCloud `mt` requests, each with its own `ext` (a signature is used once)."""
    count = itertools.count()

    def signed() -> tuple[bytes, dict[str, str]]:
        raw = orjson.dumps({"appkey": creds["appkey"]} | NX_BODY | {"ext": f"flat-{next(count)}"})
        headers = signing.sign_headers(creds["access_key"], creds["secret"], raw)
        return raw, headers | {"Content-Type": "application/json"}

    return signed


async def ingest_rate(app: Any, make: Callable[[], tuple[bytes, dict[str, str]]], seconds: float) -> float:
    """Accepted sends a second, 32 at once, for `seconds` (after 0.3 s of warm-up); any refusal is an error.
    Counted by the clock, not by a flag: the bare app never yields to the event loop."""
    ok = 0
    counted_from = time.perf_counter() + 0.3
    stop_at = counted_from + seconds

    async def worker() -> None:
        nonlocal ok
        while (now := time.perf_counter()) < stop_at:
            raw, headers = make()
            status, answer = await asgi_post(app, NX_PATH, raw, headers)
            if status != 200 or orjson.loads(answer).get("code") != 0:
                raise RuntimeError(f"ingest refused: {status} {answer[:200]!r}")
            ok += now >= counted_from

    await asyncio.gather(*(worker() for _ in range(32)))
    return ok / (time.perf_counter() - counted_from)


# -- dispatch ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def receiver() -> Iterator[str]:
    """nginx answering 200 on loopback (as `bench/dispatch.py`); yields its URL."""
    with tempfile.TemporaryDirectory(prefix="dlrhub-flat-nginx-") as tmp:
        port = receivers.free_port()
        proc = receivers.start_nginx(Path(tmp), receivers.answering_200([port]), port)
        try:
            yield f"http://127.0.0.1:{port}/hook"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def bare_client(url: str, n: int, pool: int) -> float:
    """Requests/s of a bare aiohttp client (keep-alive, `pool` connections and workers), no storage."""
    connector = aiohttp.TCPConnector(limit=pool, limit_per_host=pool)
    left = n
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.post(
                    url, data=b"{}", headers={"Content-Type": "application/json"}
                ) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"bare client: {resp.status}")

        left = min(n, 200)
        await asyncio.gather(*(worker() for _ in range(min(n, 200))))  # warm the pool
        left = n
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(pool)))
        return n / (time.perf_counter() - t0)


async def queue_callbacks(url: str, info: dict[str, Any], sink: str, n: int, tag: str) -> None:
    backend = "postgres" if url.startswith("postgres") else "sqlite"
    account = info["accounts"][0]
    params = {
        "lo": 1,
        "hi": n,
        "tag": tag,
        "a0": account,
        "url": sink,
        "endpoint": urls.check_url(sink).endpoint,
        "health": urls.health_key(account, sink),
        "now": time.time(),
    }
    await execute(url, [Sql(backend).queue()], params)


async def dispatch_rate(hub: hub_.Hub, n: int) -> float:
    """Callbacks/s of the dispatcher worker delivering the `n` callbacks queued (first claim to last record)."""
    db = hub.store
    original = db.record_attempts
    recorded = 0
    done = asyncio.Event()

    async def counting(results: list[store.AttemptResult], *args: Any, **kwargs: Any) -> None:
        nonlocal recorded
        await original(results, *args, **kwargs)
        recorded += len(results)
        if recorded >= n:
            done.set()

    db.record_attempts = counting  # type: ignore[method-assign]
    stop = asyncio.Event()
    try:
        t0 = time.perf_counter()
        task = asyncio.create_task(dispatcher.run(hub, stop))
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - t0
        stop.set()
        await task
    finally:
        del db.record_attempts
    return n / elapsed


# -- pull ----------------------------------------------------------------------------------------------------
def pull_calls(hub: hub_.Hub, info: dict[str, Any]) -> dict[str, Callable[[list[str]], Awaitable[Any]]]:
    """GetCallback as the route runs it, and the bare SQL it runs, on the same store and driver."""
    creds = {
        "ApiKey": info["creds"]["api_key"],
        "SecretKey": info["creds"]["secret_key"],
        "OAId": info["oa_id"],
    }
    account_id = info["accounts"][0]
    db: Any = hub.store

    async def getcallback(ids: list[str]) -> bytes:
        query, account = await esms.authenticate_get_callback(hub, orjson.dumps({**creds, "ListRefid": ids}))
        return responses.get_callback(await esms.get_callback(hub, query, account))

    if hub.settings.database_url.startswith("sqlite"):

        def fetch(conn: sqlite3.Connection, ids: list[str]) -> Any:
            cursor = conn.cursor()
            cursor.row_factory = None
            sql = sqlite_esms.STATUSES.format(", ".join("?" for _ in ids))
            return cursor.execute(sql, (account_id, *ids)).fetchall()

        async def bare(ids: list[str]) -> Any:
            return await db._read(lambda conn: fetch(conn, ids))

    else:

        async def bare(ids: list[str]) -> Any:
            pool = await db.pool()
            return await pool.fetch(pg_esms.STATUSES, account_id, ids)

    return {"bare": bare, "getcallback": getcallback}


async def pull_round(
    calls: dict[str, Callable[[list[str]], Awaitable[Any]]],
    picks: list[list[str]],
    lat: dict[str, list[float]],
) -> dict[str, float]:
    """Each pick through both calls, alternating which goes first; req/s of each this round."""
    spent = dict.fromkeys(calls, 0.0)
    for k, ids in enumerate(picks):
        for name in calls if k % 2 == 0 else reversed(list(calls)):
            t0 = time.perf_counter()
            await calls[name](ids)
            took = time.perf_counter() - t0
            spent[name] += took
            lat[name].append(took)
    return {name: len(picks) / spent[name] for name in calls}


def pruned_rows(hub: hub_.Hub) -> dict[str, int]:
    """Rows the pruner deleted so far, by table (`dlrhub_pruned_rows_total`)."""
    found = {}
    for table in (*TABLES, "journeys"):
        value = hub.metrics.registry.get_sample_value("dlrhub_pruned_rows_total", {"kind": table})
        found[table] = int(value or 0)
    return found


# -- the comparison ------------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def pruning(hub: hub_.Hub, on: bool = True) -> Any:
    """The pruner worker running beside the body, as `dlrhub serve` runs it (unless `on` is false)."""
    if not on:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(pruner.run(hub, stop))
    try:
        yield
    finally:
        stop.set()
        await task


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):8.0f} ({min(values):.0f}-{max(values):.0f})"


def _pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


async def measure(place: Place, args: argparse.Namespace, sink: str, label: str) -> None:
    names = ("empty", "work")
    infos = {name: place.load(name) for name in names}
    before = {name: await place.counts(name) for name in names}
    config = {
        name: settings.Settings(database_url=place.url(name), callback_allow=LOOPBACK) for name in names
    }
    hubs = {name: hub_.Hub.open(config[name], create=False) for name in names}
    apps = {name: app_.create_app(hubs[name]) for name in names}
    baseline = bare_app()
    side = {"empty": "empty", "work": "full"}
    rates: dict[str, dict[str, list[float]]] = {m: {} for m in ("ingest", "dispatch", "pull", "pull bare")}
    lat: dict[str, dict[str, list[float]]] = {s: {"bare": [], "getcallback": []} for s in side.values()}
    picks_rng = __import__("random").Random(7)
    working = await place.working_ids("empty")
    if len(working) != args.working_set or working != await place.working_ids("work"):
        raise SystemExit(f"{label}: the stores' working sets differ (run --phase prepare again)")
    pool = config["empty"].dispatch_concurrency
    started = time.perf_counter()
    try:
        for r in range(args.rounds):
            rates["ingest"].setdefault("bare", []).append(
                await ingest_rate(baseline, nx_requests(infos["empty"]["creds"]), args.ingest_seconds)
            )
            rates["dispatch"].setdefault("bare", []).append(await bare_client(sink, args.callbacks, pool))
            for name in names if r % 2 == 0 else reversed(names):
                s = side[name]
                await queue_callbacks(place.url(name), infos[name], sink, args.callbacks, f"dq{r}_")
                if args.analyze and place.backend == "postgres":
                    await execute(place.url(name), ["ANALYZE callbacks"], {})
                picks = [[picks_rng.choice(working) for _ in range(IDS)] for _ in range(args.pulls)]
                async with pruning(hubs[name], args.pruner):
                    rates["ingest"].setdefault(s, []).append(
                        await ingest_rate(apps[name], nx_requests(infos[name]["creds"]), args.ingest_seconds)
                    )
                    rates["dispatch"].setdefault(s, []).append(
                        await dispatch_rate(hubs[name], args.callbacks)
                    )
                    pulled = await pull_round(pull_calls(hubs[name], infos[name]), picks, lat[s])
                    rates["pull"].setdefault(s, []).append(pulled["getcallback"])
                    rates["pull bare"].setdefault(s, []).append(pulled["bare"])
            print(
                f"  round {r + 1}/{args.rounds} done ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    finally:
        for hub in hubs.values():
            await hub.close()
    after = {name: await place.counts(name) for name in names}
    total = {name: sum(c.values()) for name, c in before.items()}
    print(
        f"{label}: full store {total['work']:,} rows at the start ("
        + ", ".join(f"{t} {n:,}" for t, n in before["work"].items())
        + f"); empty store {total['empty']:,} rows (accounts and the {args.working_set:,}-message working set)"
    )
    pruned = pruned_rows(hubs["work"])
    if not args.pruner:
        print(f"{label}: WITHOUT the pruner (a diagnosis; the target is measured with it)")
    print(
        f"{label}: the pruner ran beside each store; on the full one it deleted {sum(pruned.values()):,} rows"
        f" during the run ({', '.join(f'{t} {n:,}' for t, n in pruned.items() if n)}), which ends with"
        f" {sum(after['work'].values()):,}; {args.rounds} rounds, alternating, medians with ranges"
    )
    print(f"  {'':28} {'bare (baseline)':>24} {'empty store':>24} {'full store':>24}  full/empty")
    for metric, unit in (
        ("ingest", "sends/s"),
        ("dispatch", "callbacks/s"),
        ("pull bare", "req/s"),
        ("pull", "req/s"),
    ):
        got = rates[metric]
        title = {"pull": "pull GetCallback", "pull bare": "pull, bare query"}.get(metric, metric)
        base = _median(got["bare"]) if "bare" in got else f"{'(per store)':>24}"
        ratio = statistics.median(got["full"]) / statistics.median(got["empty"])
        line = f"  {title + ' (' + unit + ')':28} {base:>24} {_median(got['empty']):>24} {_median(got['full']):>24}"
        print(f"{line}  {ratio:7.0%}  {'ok' if abs(ratio - 1) <= 0.2 else 'MISSED'} (target within 20 %)")
    for metric in ("ingest", "dispatch"):
        limit = statistics.median(rates[metric]["bare"])
        shares = " / ".join(
            f"{s} {statistics.median(rates[metric][s]) / limit:.0%}" for s in ("empty", "full")
        )
        print(f"  {metric} against the bare baseline: {shares}")
    for s in ("empty", "full"):
        share = statistics.median(rates["pull"][s]) / statistics.median(rates["pull bare"][s])
        print(
            f"  pull on the {s} store: GetCallback p50 {_pct(lat[s]['getcallback'], 0.5):.2f} ms,"
            f" p99 {_pct(lat[s]['getcallback'], 0.99):.2f} ms; bare p50 {_pct(lat[s]['bare'], 0.5):.2f} ms,"
            f" p99 {_pct(lat[s]['bare'], 0.99):.2f} ms; GetCallback / bare {share:.0%}"
        )


# -- size under steady traffic ---------------------------------------------------------------------------------
async def sizes(url: str) -> tuple[int, int, int]:
    """(database bytes, WAL bytes, free bytes inside): file + WAL and freelist on SQLite; PostgreSQL's
    pg_database_size, 0, and the pruned tables' total relation size (their partitions') in the third place."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        wal = Path(path + "-wal")
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
            free = (
                conn.execute("PRAGMA freelist_count").fetchone()[0]
                * conn.execute("PRAGMA page_size").fetchone()[0]
            )
        return _size(path), _size(str(wal)), int(free)
    conn = await asyncpg.connect(url)
    try:
        db = await conn.fetchval("SELECT pg_database_size(current_database())")
        # A partitioned table (attempts, events) has no storage of its own: its partitions' sizes are summed.
        tables = await conn.fetchval(
            "SELECT sum(pg_total_relation_size(r)) FROM unnest($1::text[]) AS t, LATERAL"
            " (SELECT t::regclass UNION SELECT relid FROM pg_partition_tree(t::regclass)) AS p(r)",
            list(TABLES),
        )
        return int(db), 0, int(tables)
    finally:
        await conn.close()


async def size_run(place: Place, args: argparse.Namespace, sink: str, label: str) -> None:
    await place.create("size")
    url = place.url("size")
    retain = {
        f"retain_{k}_days": 1
        for k in ("callbacks", "attempts", "messages", "request_ids", "orphans", "audit")
    }
    config = settings.Settings(
        database_url=url,
        callback_allow=LOOPBACK,
        prune_interval_s=args.prune_every,
        **retain,  # type: ignore[arg-type]
    )
    hub = hub_.Hub.open(config)
    await hub.store.migrate()
    account = (await accounts.create(hub, "flat size")).account.id
    ahead = dt.timedelta(days=1) - dt.timedelta(seconds=args.window)
    prune_hub = hub_.Hub(
        settings=config, store=hub.store, metrics=hub.metrics, clock=lambda: dt.datetime.now(dt.UTC) + ahead
    )
    vacuum = 0.0
    if place.backend == "postgres":
        conn = await asyncpg.connect(url)
        autovacuum = await conn.fetchval("SHOW autovacuum")
        await conn.close()
        vacuum = args.vacuum_every if autovacuum == "off" else 0.0
        print(
            f"{label} size: the server's autovacuum is {autovacuum}"
            + (f"; a plain VACUUM of the pruned tables every {vacuum:g} s stands in for it" if vacuum else "")
        )
    stop = asyncio.Event()
    samples: list[tuple[float, int, int, int, int]] = []
    t0 = time.perf_counter()
    sent = 0

    async def feed(lane: int, lanes: int) -> None:
        nonlocal sent
        for i in itertools.count(lane, lanes):
            delay = t0 + i / args.size_rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if stop.is_set():
                return
            await events.ingest_external(
                hub,
                events.ExternalEvent(
                    event_id=f"s{i}:success",
                    message_id=f"s{i}",
                    account_id=account,
                    kind=models.EventKind.SUCCESS,
                    type_id=24,
                    dialect=models.Dialect.NATIVE,
                    occurred_at=dt.datetime.now(dt.UTC),
                    recipient="84901888484",
                    callback_url=sink,
                ),
            )
            sent += 1

    async def vacuuming() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), vacuum)
            if not stop.is_set():
                conn = await asyncpg.connect(url)
                try:
                    await conn.execute(f"VACUUM {', '.join(TABLES)}")
                finally:
                    await conn.close()

    async def sample() -> None:
        while not stop.is_set():
            main, wal, inner = await sizes(url)
            rows = sum((await place.counts("size")).values())
            samples.append((time.perf_counter() - t0, main, wal, inner, rows))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.sample_s)

    workers = [
        asyncio.create_task(dispatcher.run(hub, stop)),
        asyncio.create_task(pruner.run(prune_hub, stop)),
        asyncio.create_task(sample()),
        *(asyncio.create_task(feed(k, 32)) for k in range(32)),
        *([asyncio.create_task(vacuuming())] if vacuum else []),
    ]
    await asyncio.sleep(args.size_seconds)
    stop.set()
    await asyncio.gather(*workers)
    await hub.close()
    pruned = sum(pruned_rows(hub).values())
    mb = 1024 * 1024
    inner_name = "free pages" if place.backend == "sqlite" else "the 5 tables"
    print(
        f"{label} size: {sent:,} events ingested ({sent / args.size_seconds:.0f}/s) and dispatched for"
        f" {args.size_seconds:g} s; rows age out {args.window:g} s after their last change, a pruning round every"
        f" {args.prune_every:g} s; the pruner deleted {pruned:,} rows"
    )
    print(f"  {'s':>5} {'database MB':>12} {'WAL MB':>8} {inner_name + ' MB':>16} {'rows':>9}")
    for at, main, wal, inner, rows in samples:
        print(f"  {at:5.0f} {main / mb:12.2f} {wal / mb:8.2f} {inner / mb:16.2f} {rows:9,}")
    total = [(at, main + wal) for at, main, wal, _, _ in samples]
    half = [size for at, size in total if at >= args.size_seconds / 2]
    first = [size for at, size in total if at < args.size_seconds / 2]
    if half and first:
        grew_first = (max(first) - min(first)) / mb
        grew_last = (half[-1] - half[0]) / mb
        print(
            f"{label} size: first half grew {grew_first:.2f} MB; second half {grew_last:+.2f} MB"
            f" ({grew_last * mb / half[-1]:+.1%} of {half[-1] / mb:.2f} MB)"
        )
    await place.drop("size")


# -- phases --------------------------------------------------------------------------------------------------
async def prepare(place: Place, args: argparse.Namespace, label: str) -> None:
    history = round(args.rows / PER_MESSAGE)
    path = place.info_path("full")
    ready = path.exists() and await place.exists("full")
    info = place.load("full") if ready else {}
    same = (info.get("history"), info.get("working_set"), info.get("ids"), info.get("layout")) == (
        history,
        args.working_set,
        IDS_MINTED,
        LAYOUT if place.backend == "postgres" else None,
    )
    if ready and same:
        if not info.get("complete"):
            print(f"{label}: resuming the history at {info.get('done', 0):,} messages", file=sys.stderr)

            def save() -> None:
                path.write_text(json.dumps(info))

            await fill_history(place, "full", info, save)
    else:
        print(
            f"{label}: generating the full store ({history:,} messages, about {args.rows:,} rows)",
            file=sys.stderr,
        )
        await new_store(place, "full", args, history)
    info = place.load("full")
    print(
        f"{label}: the full store's history was generated in {info.get('seconds', 0):.0f} s", file=sys.stderr
    )
    await new_store(place, "empty", args, 0, now=info["now"])  # the same working set as the full store
    t0 = time.perf_counter()
    await place.clone("full", "work")
    print(f"{label}: cloned the full store in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _run(main: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


async def amain(args: argparse.Namespace, data: Path) -> None:
    labels = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    with receiver() as sink:
        for backend in args.backends.split(","):
            place = Place(backend, data, args.postgres_dsn, args.prefix)
            label = labels[backend]
            if args.phase == "clean":
                for name in ("full", "work", "empty", "size"):
                    await place.drop(name)
                continue
            if args.phase in ("all", "prepare"):
                await prepare(place, args, label)
            if args.phase in ("all", "measure"):
                if not (await place.exists("work") and await place.exists("empty")):
                    raise SystemExit(f"{label}: nothing prepared in {data} (run --phase prepare first)")
                await measure(place, args, sink, label)
                await place.drop("work")
                await place.drop("empty")
            if args.phase in ("all", "size"):
                await size_run(place, args, sink, label)
            if args.temporary:
                for name in ("full", "work", "empty", "size"):
                    await place.drop(name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of history in the full store")
    parser.add_argument("--working-set", type=int, default=20_000, help="recent messages the pulls read")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--phase", choices=("all", "prepare", "measure", "size", "clean"), default="all")
    parser.add_argument("--data", type=Path, help="where to keep the stores (default: a temporary directory)")
    parser.add_argument("--prefix", default="flat_", help="of the PostgreSQL databases and the files")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ingest-seconds", type=float, default=3.0)
    parser.add_argument("--callbacks", type=int, default=5_000, help="dispatched per round and store")
    parser.add_argument("--pulls", type=int, default=300, help="GetCallback requests per round and store")
    parser.add_argument("--size-seconds", type=float, default=180.0)
    parser.add_argument("--size-rate", type=float, default=200.0, help="events a second in the size run")
    parser.add_argument("--window", type=float, default=40.0, help="seconds rows live in the size run")
    parser.add_argument(
        "--prune-every", type=float, default=10.0, help="seconds between pruning rounds (size run)"
    )
    parser.add_argument(
        "--vacuum-every", type=float, default=60.0, help="with autovacuum off (size run, PostgreSQL)"
    )
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="PostgreSQL: ANALYZE callbacks after queueing each round's callbacks (what autovacuum would do)",
    )
    parser.add_argument(
        "--without-pruner",
        dest="pruner",
        action="store_false",
        help="a diagnosis: measure without the pruner beside the stores (the target is with it)",
    )
    parser.add_argument("--quick", action="store_true", help="200,000 rows, 2 rounds, short runs")
    default_dsn = "postgresql://{}@{}:{}/{}".format(
        os.environ.get("PGUSER", "postgres"),
        os.environ.get("PGHOST", "127.0.0.1"),
        os.environ.get("PGPORT", "5432"),
        os.environ.get("PGDATABASE", "postgres"),
    )
    parser.add_argument("--postgres-dsn", default=default_dsn, help="a server to make the databases on")
    args = parser.parse_args()
    if args.quick:  # only what was not given
        quick = {
            "rows": 200_000, "working_set": 2_000, "rounds": 2, "ingest_seconds": 1.0, "callbacks": 1_000,
            "pulls": 50, "size_seconds": 30.0, "window": 8.0, "prune_every": 3.0, "sample_s": 3.0,
            "vacuum_every": 10.0,
        }  # fmt: skip
        for key, value in quick.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    args.temporary = args.data is None
    if args.data is None:
        with tempfile.TemporaryDirectory(prefix="dlrhub-bench-flat-") as tmp:
            _run(amain(args, Path(tmp)))
    else:
        args.data.mkdir(parents=True, exist_ok=True)
        _run(amain(args, args.data))


if __name__ == "__main__":
    main()
