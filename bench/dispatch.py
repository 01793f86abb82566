"""Dispatch benchmark: callbacks/s from SQLite to a local receiver, against the plain library limit in the same run.

Everything runs with dlrhub's DEFAULT settings (`dispatch_concurrency`, `endpoint_concurrency`, batch size...);
`--tuned` adds rows with the pool and the per-destination cap both at `--concurrency` beside them.

1. Baseline: a bare aiohttp client (one `ClientSession`, keep-alive, a connection limit equal to the default pool)
   POSTs the same body N times from as many workers as the pool has slots, on the same event loop kind (uvloop
   when installed), with no storage at all. Every ratio below is against it.
   Second line: dlrhub's own sender (`adapters.sender.Sender`: the URL guard, the per-destination cap, signing
   headers) doing the same, so the sender's own cost shows.
2. Dispatch: N callbacks pre-queued in a fresh SQLite store are claimed, sent and recorded by the dispatcher.
3. Latency: events are ingested through the real path (`services.events`) at half the dispatch rate while the
   dispatcher runs; first-attempt latency = the first attempt's start - the callback's creation (p50, p99).
4. RSS: `--pending` callbacks pending in SQLite; a separate dispatcher process works on them for
   `--rss-seconds` and reports its peak RSS.

`--destinations K` runs only a comparison instead: N callbacks to one URL against N spread over K URLs (one
destination each: the receiver listens on K ports), with the default settings, per-destination cap included,
alternating the two for `--rounds` rounds each. Target: one URL within 10 % of many, one claim per callback.
`--neighbour` adds the one URL beside a destination, due first, whose every request the (aiohttp) receiver holds
3 s. Target: at least 90 % of the one URL's rate alone.

The receiver runs in its own process: nginx when Debian's package is installed, else a minimal aiohttp
low-level server (one 200 per request, keep-alive).

    python bench/dispatch.py [--callbacks 50000] [--pending 1000000] [--quick] [--tuned --concurrency 256]
    python bench/dispatch.py --processes --callbacks 10000 --rounds 3
    python bench/dispatch.py --destinations 8 [--neighbour] --callbacks 8000 --rounds 3
    python bench/dispatch.py --postgres postgresql://postgres@127.0.0.1:5432/dlrhub_bench --workers 1 2

With `--postgres` it instead runs `dlrhub worker` processes (1, then 2, ...) on that database, which it
empties of callbacks first, then fills with N callbacks (to one URL, or with `--destinations K` to K in turn),
and prints the delivery rate of each round (first attempt to last) and, when PostgreSQL runs on this host, the
CPU a callback cost in the workers and in their server processes (from the first record to the last), the
cores that makes over the round, and how often a callback's row was updated and how many of those updates were
HOT (PostgreSQL's statistics: no new index entry). List the counts alternating (`--workers 1 2 1 2 1 2`): on a shared machine the
rate of one round is mostly its share of the CPU.

`--processes` runs only the real processes, alternated for `--rounds` rounds: a bare client in a fresh process that
imports only aiohttp (`BARE_CHILD`), a real `dlrhub worker` draining N callbacks queued in a fresh SQLite store, and
the bare process again with the collector set as dlrhub's server processes set it (`adapters.collector`).

Every line gives CPU µs per callback: the process's CPU time (all threads) over the run / callbacks. The script
itself runs with dlrhub's collector settings (as `dlrhub worker` does), so in one process both sides have them.

Targets (2 cores): dispatch >= 75 % of the bare client; first attempt p50 < 20 ms, p99 < 100 ms; RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.abc

import receivers
import seed
from dlrhub import settings, store
from dlrhub.adapters import collector, sender
from dlrhub.core import models
from dlrhub.services import events
from dlrhub.services import hub as hub_
from dlrhub.store import rows
from dlrhub.store.sqlite import messages as sqlite_messages
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher

BODY = (
    b'{"type":"message.success","timestamp":"2026-01-01T00:00:00.000Z","data":{"message_id":"msg_bench",'
    b'"status":"success","code":0,"text":"Success","recipient":"84901234567","type_id":24}}'
)
LOOPBACK = ("127.0.0.1",)


# -- the receiver -------------------------------------------------------------------------------------------
def start_sink(
    workdir: Path, count: int = 1, nginx_ok: bool = True
) -> tuple[subprocess.Popen[bytes], list[int], str]:
    """The receiver, on `count` ports (each a destination of its own to the dispatcher)."""
    ports = receivers.free_ports(count)
    proc, kind = receivers.start_sink(workdir, ports, nginx_ok)
    return proc, ports, kind


# -- setup --------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Run:
    """One timed run: items per second, and the CPU this process spent (all its threads) per item, in µs."""

    rate: float
    cpu_us: float

    @classmethod
    def timed(cls, n: int, wall0: float, cpu0: float) -> Run:
        """The run of `n` items begun at `time.perf_counter()` `wall0` and `time.process_time()` `cpu0`."""
        return cls(n / (time.perf_counter() - wall0), (time.process_time() - cpu0) / n * 1e6)


def bench_settings(db_url: str, concurrency: int | None = None) -> settings.Settings:
    """dlrhub's defaults (loopback allowed); with `concurrency`, the pool and the per-destination cap tuned to it."""
    tuned = (
        {}
        if concurrency is None
        else {"dispatch_concurrency": concurrency, "endpoint_concurrency": concurrency}
    )
    return settings.Settings(database_url=db_url, callback_allow=LOOPBACK, **tuned)  # type: ignore[arg-type]


async def bare(url: str, n: int, concurrency: int) -> Run:
    """Requests/s of a bare aiohttp client: keep-alive, `concurrency` connections and workers, no storage."""
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:
        left = n
        failures = 0

        async def worker() -> None:
            nonlocal left, failures
            while left > 0:
                left -= 1
                async with session.post(url, data=BODY, headers=headers) as resp:
                    await resp.read()
                    failures += resp.status != 200

        async def one() -> None:
            async with session.post(url, data=BODY, headers=headers) as resp:
                await resp.read()

        await asyncio.gather(*(one() for _ in range(min(n, 200))))  # warm the pool
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run = Run.timed(n, t0, c0)
    if failures:
        raise RuntimeError(f"bare client: {failures} requests failed")
    return run


def callback(i: int, url: str, now: dt.datetime) -> models.Callback:
    return seed.callback(i, url, now, BODY)


async def new_store(path: Path) -> store.Store:
    db = store.from_url(f"sqlite:///{path}")
    await db.migrate()
    await db.create_account(seed.account(), [])
    return db


def prequeue(path: Path, url: str | list[str], n: int, first: int = 0) -> None:
    """Insert `n` due callbacks straight into the SQLite file (setup, not measured), to the URLs in turn."""
    targets = [url] if isinstance(url, str) else url
    conn = sqlite3.connect(path)
    now = dt.datetime.now(dt.UTC)
    chunk = 50_000
    for start in range(0, n, chunk):
        batch = [
            rows.to_row(callback(first + i, targets[i % len(targets)], now), "sqlite")
            for i in range(start, min(n, start + chunk))
        ]
        conn.executemany(sqlite_messages.INSERT_CALLBACK, batch)
        conn.commit()
    conn.close()


# -- 1. raw -------------------------------------------------------------------------------------------------
async def raw(url: str, n: int, config: settings.Settings) -> Run:
    now = dt.datetime.now(dt.UTC)
    cbs = [callback(i, url, now) for i in range(n)]
    async with sender.Sender(config_.sender_config(config)) as snd:
        await asyncio.gather(*(snd.send(cbs[i]) for i in range(min(n, 200))))  # warm the pool
        it = iter(cbs)
        failures = 0

        async def worker() -> None:
            nonlocal failures
            for cb in it:
                attempt = await snd.send(cb)
                failures += attempt.outcome is not models.AttemptOutcome.OK

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(config.dispatch_concurrency)))
        run = Run.timed(n, t0, c0)
    if failures:
        raise RuntimeError(f"raw: {failures} requests failed")
    return run


# -- 2. dispatch --------------------------------------------------------------------------------------------
async def dispatch(
    workdir: Path,
    url: str | list[str],
    n: int,
    config: settings.Settings,
    claims: list[int] | None = None,
    slow: str | None = None,
    resolver: aiohttp.abc.AbstractResolver | None = None,
) -> Run:
    """Callbacks/s delivering `n` pre-queued callbacks; appends how many rows the claims (both kinds) leased to
    `claims`. With `slow`, `n` callbacks to that URL are queued first (a neighbour due before them all), and only
    the `n` others are counted. `resolver` answers names in place of DNS (the guard still checks its answers)."""
    path = workdir / "dispatch.sqlite3"
    path.unlink(missing_ok=True)
    db = await new_store(path)
    targets = [url] if isinstance(url, str) else url
    if slow:
        prequeue(path, slow, n, first=n)
    prequeue(path, targets, n)
    counted_ids = {callback(i, targets[i % len(targets)], dt.datetime.now(dt.UTC)).id for i in range(n)}
    recorded = 0
    leased = 0
    all_done = asyncio.Event()
    original = db.record_attempts

    def counted(claim: Any) -> Any:
        async def claiming(*args: Any, **kwargs: Any) -> list[models.Callback]:
            nonlocal leased
            found: list[models.Callback] = await claim(*args, **kwargs)
            leased += len(found)
            return found

        return claiming

    async def counting(results: list[store.AttemptResult], now: dt.datetime) -> None:
        nonlocal recorded
        await original(results, now)
        recorded += sum(r.attempt.callback_id in counted_ids for r in results)
        if recorded >= n:
            all_done.set()

    db.record_attempts = counting  # type: ignore[method-assign]
    db.claim_due_callbacks = counted(db.claim_due_callbacks)  # type: ignore[method-assign]
    db.claim_endpoint_callbacks = counted(db.claim_endpoint_callbacks)  # type: ignore[method-assign]
    stop = asyncio.Event()
    async with sender.Sender(config_.sender_config(config), resolver=resolver) as snd:
        d = dispatcher.Dispatcher(db, snd, config_.DispatchConfig.from_settings(config))
        t0, c0 = time.perf_counter(), time.process_time()
        task = asyncio.create_task(d.run(stop))
        await all_done.wait()
        run = Run.timed(n, t0, c0)
        stop.set()
        await task
    counts = await db.count_callbacks()
    await db.close()
    if counts[models.CallbackState.SUCCEEDED] < n:
        raise RuntimeError(f"dispatch: only {counts} succeeded")
    if claims is not None:
        claims.append(leased)
    return run


async def in_process(workdir: Path, url: str, n: int, rounds: int, kind: str) -> None:
    """Alternate the bare client, the sender and dispatch, one process, `rounds` rounds each; print medians."""
    config = bench_settings("sqlite:///unused")
    runs: dict[str, list[Run]] = {"bare": [], "sender": [], "dispatch": []}
    for r in range(rounds):
        for side in list(runs) if r % 2 == 0 else reversed(runs):
            if side == "bare":
                runs[side].append(await bare(url, n, config.dispatch_concurrency))
            elif side == "sender":
                runs[side].append(await raw(url, n, config))
            else:
                runs[side].append(await dispatch(workdir, url, n, config))
    print(
        f"receiver: {kind}; one process, default settings (pool {config.dispatch_concurrency}, per destination"
        f" {config.endpoint_concurrency}); {n} callbacks to one URL a round, {rounds} rounds each, alternated"
    )
    base = statistics.median(r.rate for r in runs["bare"])
    labels = {
        "bare": "bare aiohttp client (baseline)",
        "sender": "dlrhub's sender, no storage",
        "dispatch": "dispatch (SQLite)",
    }
    for side, label in labels.items():
        rates = [r.rate for r in runs[side]]
        rate = statistics.median(rates)
        ratio = "" if side == "bare" else f" = {rate / base:.0%} of the bare client"
        target = " (target >= 75 %)" if side == "dispatch" else ""
        print(
            f"  {label}: median {rate:6.0f}/s (range {min(rates):.0f}-{max(rates):.0f}){ratio}{target}; CPU"
            f" {statistics.median(r.cpu_us for r in runs[side]):.0f} µs per callback"
        )


# -- 2b. one destination against many, default settings -----------------------------------------------------
async def destinations(workdir: Path, ports: list[int], n: int, rounds: int, neighbour: bool) -> None:
    """Alternate rounds of `n` callbacks to one URL and to `len(ports)` URLs (one destination each), with the
    default settings (the per-destination cap included); with `neighbour`, also to one URL while `n` callbacks to
    another destination, due first, are each held `receivers.SLOW_S` by the receiver. A bare aiohttp client to the one URL
    (the pool's size in connections) alternates with them: each side's median is also printed against it."""
    config = settings.Settings(database_url="sqlite:///unused", callback_allow=LOOPBACK)
    one = [f"http://127.0.0.1:{ports[0]}/hook"]
    many = [f"http://127.0.0.1:{p}/hook" for p in ports]
    slow = f"http://127.0.0.1:{ports[-1]}/slow"
    sides: dict[str, tuple[list[str], str | None]] = {"one": (one, None), "many": (many, None)}
    if neighbour:
        sides["one, slow neighbour"] = (one, slow)
    rates: dict[str, list[float]] = {side: [] for side in sides}
    claims: dict[str, list[int]] = {side: [] for side in sides}
    bare_rates: list[float] = []
    for r in range(rounds):
        bare_rates.append((await bare(one[0], n, config.dispatch_concurrency)).rate)
        for side in list(sides) if r % 2 == 0 else reversed(sides):
            urls_, neighbour_url = sides[side]
            rates[side].append((await dispatch(workdir, urls_, n, config, claims[side], neighbour_url)).rate)
    print(
        f"default settings (per destination {config.endpoint_concurrency}, pool {config.dispatch_concurrency}, "
        f"batch {config.dispatch_batch_size}); {n} callbacks a round, {rounds} rounds each, alternated"
    )
    limit = statistics.median(bare_rates)
    print(
        f"  bare aiohttp client, one URL (baseline): median {limit:8.0f} req/s "
        f"(range {min(bare_rates):.0f}-{max(bare_rates):.0f})"
    )
    for side, (urls_, _) in sides.items():
        got = rates[side]
        print(
            f"  {side} ({len(urls_)} destination(s)): median {statistics.median(got):8.0f} callbacks/s "
            f"= {statistics.median(got) / limit:.0%} of the bare client "
            f"(range {min(got):.0f}-{max(got):.0f}); rows claimed per callback counted "
            f"{sum(claims[side]) / (n * rounds):.2f}"
        )
    base = statistics.median(rates["one"])
    print(f"  one / many: {base / statistics.median(rates['many']):.0%} (target >= 90 %)")
    if neighbour:
        print(
            f"  one beside a slow neighbour / one alone: {statistics.median(rates['one, slow neighbour']) / base:.0%}"
            " (target >= 90 %)"
        )


# -- 3. latency ---------------------------------------------------------------------------------------------
async def latency(
    workdir: Path, url: str, rate: float | None, seconds: float, config: settings.Settings, name: str
) -> dict[str, float]:
    """Ingest events at `rate` per second (None: as fast as the path goes) while the dispatcher runs."""
    db = await new_store(workdir / f"{name}.sqlite3")
    hub = hub_.Hub(settings=config, store=db)
    total = max(100, int((rate or 2000.0) * seconds))
    stop = asyncio.Event()
    async with sender.Sender(config_.sender_config(config)) as snd:
        d = dispatcher.Dispatcher(db, snd, config_.DispatchConfig.from_settings(config))
        task = asyncio.create_task(d.run(stop))
        t0 = time.perf_counter()
        lanes = 16

        async def lane(k: int) -> None:
            for i in range(k, total, lanes):
                delay = 0.0 if rate is None else t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await events.ingest_external(
                    hub,
                    events.ExternalEvent(
                        event_id=f"lat{i}:success",
                        message_id=f"lat{i}",
                        account_id="acc_bench",
                        kind=models.EventKind.SUCCESS,
                        type_id=24,
                        dialect=models.Dialect.NATIVE,
                        occurred_at=dt.datetime.now(dt.UTC),
                        callback_url=url,
                    ),
                )

        await asyncio.gather(*(lane(k) for k in range(lanes)))
        achieved = total / (time.perf_counter() - t0)
        for _ in range(600):
            if (await db.count_callbacks())[models.CallbackState.SUCCEEDED] >= total:
                break
            await asyncio.sleep(0.05)
        delivered = total / (time.perf_counter() - t0)
        stop.set()
        await task
    samples = []
    for i in range(total):
        [cb] = await db.list_callbacks(f"lat{i}")
        first = (await db.list_attempts(cb.id))[0]
        samples.append((first.started_at - cb.created_at).total_seconds() * 1000)
    await db.close()
    samples.sort()
    return {
        "rate": achieved,
        "delivered": delivered,
        "n": float(total),
        "p50": statistics.median(samples),
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    }


# -- 4. RSS with many pending -------------------------------------------------------------------------------
def rss_child(db_path: str, seconds: float) -> None:
    """Run a dispatcher on an existing store for `seconds`; print peak RSS (MB) and callbacks sent."""

    async def main() -> None:
        config = bench_settings(f"sqlite:///{db_path}")
        db = store.from_url(config.database_url)
        stop = asyncio.Event()
        async with sender.Sender(config_.sender_config(config)) as snd:
            d = dispatcher.Dispatcher(db, snd, config_.DispatchConfig.from_settings(config))
            task = asyncio.create_task(d.run(stop))
            await asyncio.sleep(seconds)
            stop.set()
            await task
        sent = (await db.count_callbacks())[models.CallbackState.SUCCEEDED]
        await db.close()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{peak_mb:.1f} {sent}", flush=True)

    _run(main())


async def peak_rss(workdir: Path, url: str, pending: int, seconds: float) -> tuple[float, int]:
    path = workdir / "pending.sqlite3"
    db = await new_store(path)
    await db.close()
    prequeue(path, url, pending)
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "_rss", str(path), str(seconds), stdout=subprocess.PIPE
    )
    stdout, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the RSS child failed ({child.returncode})")
    out = stdout.decode().split()
    return float(out[0]), int(out[1])


# -- PostgreSQL, several worker processes --------------------------------------------------------------------
PG_COLUMNS = (
    "id", "event_id", "account_id", "dialect", "message_id", "order_key", "seq", "method", "url", "body",
    "content_type", "endpoint", "state", "due_at", "attempts", "created_at", "updated_at",
)  # fmt: skip
PG_SPAN = "SELECT extract(epoch FROM max(started_at) - min(started_at)) AS s, count(*) AS n FROM attempts"
#: Delivered so far, from the counts the store's triggers keep (a few rows): a `count(*)` of the succeeded
#: callbacks every 0.1 s took 36 ms of PostgreSQL's CPU each at 30,000 rows, a third of a core beside the workers.
PG_DONE = "SELECT coalesce(sum(n), 0) FROM callback_counts WHERE state = 'succeeded'"
#: The server processes of this database's other sessions (the workers'), whose CPU a round reports.
PG_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND backend_type = 'client backend'"
)


#: Rows of `callbacks` updated so far, and how many of those updates were HOT (no new index entry: a lease can be,
#: migration 0027); cumulative, reported by each server process when its transaction ends or it exits.
PG_UPDATES = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'callbacks'"


async def backends(conn: Any) -> list[int]:
    return [r[0] for r in await conn.fetch(PG_BACKENDS)]


def cpu_s(pids: list[int]) -> float | None:
    """The CPU seconds of `pids` so far, or None when /proc does not show them all (PostgreSQL on another host)."""
    try:
        return sum(process_cpu_s(pid) for pid in pids)
    except (OSError, IndexError, ValueError):
        return None


async def postgres_rounds(
    url: str, sinks: list[str], n: int, workers: list[int], concurrency: int | None
) -> None:
    """Delivery rate of 1, 2, ... `dlrhub worker` processes; default settings unless `concurrency` tunes them. The
    callbacks go to the receiver URLs `sinks` in turn (one destination each)."""
    import asyncpg

    db = store.from_url(url)
    await db.migrate()
    await db.close()
    conn = await asyncpg.connect(url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")},
        "DLRHUB_DATABASE_URL": url,
        "DLRHUB_CALLBACK_ALLOW": "127.0.0.1",
        "DLRHUB_LOG_LEVEL": "warning",
        # No health/metrics listener: the processes would all ask for the one default port.
        "DLRHUB_WORKER_PORT": "0",
    }
    if concurrency is not None:
        env |= {
            "DLRHUB_DISPATCH_CONCURRENCY": str(concurrency),
            "DLRHUB_ENDPOINT_CONCURRENCY": str(concurrency),
        }
    try:
        for count in workers:
            await conn.execute("TRUNCATE callbacks, attempts, endpoints, callback_counts")
            now = dt.datetime.now(dt.UTC)
            records = []
            for i in range(n):
                row = rows.to_row(callback(i, sinks[i % len(sinks)], now), "postgres")
                row["updated_at"] = now
                records.append(tuple(row[c] for c in PG_COLUMNS))
            await conn.copy_records_to_table("callbacks", records=records, columns=list(PG_COLUMNS))
            updates = await conn.fetchrow(PG_UPDATES)
            procs = [
                await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).parent / "dlrhub"), "worker", env=env
                )
                for _ in range(count)
            ]
            workers_cpu = db_cpu = None
            try:
                # The CPU of the workers and of their server processes from the first record to the last (their
                # start-up, a second or so of imports each, left out), read before the processes end.
                start: tuple[float | None, float | None] = (None, None)
                for _ in range(3000):
                    done = await conn.fetchval(PG_DONE)
                    if done and start == (None, None):
                        start = (cpu_s([p.pid for p in procs]), cpu_s(await backends(conn)))
                    if done >= n:
                        break
                    await asyncio.sleep(0.1)
                end = (cpu_s([p.pid for p in procs]), cpu_s(await backends(conn)))
                if None not in start and None not in end:
                    workers_cpu, db_cpu = end[0] - start[0], end[1] - start[1]  # type: ignore[operator]
            finally:
                early = [proc.returncode for proc in procs if proc.returncode is not None]
                for proc in procs:
                    if proc.returncode is None:
                        proc.terminate()
                for proc in procs:
                    await proc.wait()
            if early:
                print(f"  (worker processes exited early with {early}; the figure below is suspect)")
            span = await conn.fetchrow(PG_SPAN)
            rate = span["n"] / float(span["s"] or 1)
            await asyncio.sleep(0.5)  # the workers' server processes report their counts as they exit
            after = await conn.fetchrow(PG_UPDATES)
            upd, hot = after[0] - updates[0], after[1] - updates[1]
            cpu = ""
            if workers_cpu is not None and db_cpu is not None:
                cpu = f"; CPU µs a callback: workers {workers_cpu / n * 1e6:.0f}, PostgreSQL {db_cpu / n * 1e6:.0f}"
                cpu += f", {(workers_cpu + db_cpu) / float(span['s'] or 1):.2f} cores"
            print(
                f"PostgreSQL, {count} worker process(es): {rate:8.0f} callbacks/s ({span['n']} attempts{cpu};"
                f" callbacks updated {upd / n:.2f} times a callback, {hot / max(upd, 1):.0%} HOT)"
            )
    finally:
        await conn.close()


# -- the real processes: a bare client process against a `dlrhub worker` process ------------------------------
#: The bare client in a process of its own, importing nothing but aiohttp (and uvloop): `bare` above, as a script.
BARE_CHILD = """
import asyncio, sys, time
import aiohttp
url, n, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if sys.argv[4:5] == ["tuned"]:  # dlrhub's collector settings (adapters.collector), for comparison
    import gc
    gc.collect()
    gc.freeze()
    gc.set_threshold(*map(int, sys.argv[5:]))
body = sys.stdin.buffer.read()
async def main():
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:
        left, failures = n, 0
        async def worker():
            nonlocal left, failures
            while left > 0:
                left -= 1
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    failures += resp.status != 200
        async def one():
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
        await asyncio.gather(*(one() for _ in range(min(n, 200))))
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        print(n / (time.perf_counter() - t0), (time.process_time() - c0) / n * 1e6, failures)
try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""
SUCCEEDED = "SELECT coalesce(sum(n), 0) FROM callback_counts WHERE state = 'succeeded'"
#: Seconds between two looks at the store while a worker process drains it.
POLL_S = 0.05


async def bare_process(url: str, n: int, concurrency: int, tuned: bool = False) -> Run:
    """The bare client in a fresh process (`BARE_CHILD`): its rate and its own CPU per request. `tuned`: with
    the collector set as dlrhub's server processes set it (`adapters.collector`)."""
    gc_args = ["tuned", *map(str, collector.THRESHOLDS)] if tuned else []
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BARE_CHILD, url, str(n), str(concurrency), *gc_args,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    out, _ = await child.communicate(BODY)
    rate, cpu_us, failures = out.decode().split()
    if child.returncode != 0 or int(failures):
        raise RuntimeError(f"the bare client process failed ({child.returncode}, {failures} failures)")
    return Run(float(rate), float(cpu_us))


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def worker_process(workdir: Path, url: str, n: int) -> Run:
    """`n` callbacks queued in a fresh SQLite store, drained by a real `dlrhub worker` process (default settings).

    The rate is the attempts' span (first start to last start); the CPU is the worker's own from its first
    delivered callback to its last, per callback delivered meanwhile (so its start-up is left out)."""
    path = workdir / f"worker-{time.monotonic_ns()}.sqlite3"  # a fresh store each round
    db = await new_store(path)
    await db.close()
    prequeue(path, url, n)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")},
        "DLRHUB_DATABASE_URL": f"sqlite:///{path}",
        "DLRHUB_CALLBACK_ALLOW": "127.0.0.1",
        "DLRHUB_LOG_LEVEL": "warning",
    }
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "dlrhub"), "worker", env=env
    )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    first: tuple[int, float] | None = None
    done = 0
    try:
        for _ in range(int(600 / POLL_S)):
            await asyncio.sleep(POLL_S)
            if proc.returncode is not None:
                raise RuntimeError(f"the worker process exited ({proc.returncode})")
            done = conn.execute(SUCCEEDED).fetchone()[0]
            if first is None and done:
                first = (done, process_cpu_s(proc.pid))
            if done >= n:
                break
        cpu = process_cpu_s(proc.pid)
        span, attempts = conn.execute(
            "SELECT max(started_at) - min(started_at), count(*) FROM attempts"
        ).fetchone()
    finally:
        conn.close()
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
    if first is None or done < n:
        raise RuntimeError(f"the worker process delivered {done} of {n}")
    return Run(attempts / span, (cpu - first[1]) / (n - first[0]) * 1e6)


async def processes(workdir: Path, url: str, n: int, rounds: int, kind: str) -> None:
    """Alternate a bare client process and a `dlrhub worker` process for `rounds` rounds; print both and the
    ratio of their medians, with each one's CPU per callback."""
    config = settings.Settings(database_url="sqlite:///unused", callback_allow=LOOPBACK)
    runs: dict[str, list[Run]] = {"bare": [], "worker": [], "bare, tuned": []}
    for r in range(rounds):
        for side in list(runs) if r % 2 == 0 else reversed(runs):
            if side == "worker":
                runs[side].append(await worker_process(workdir, url, n))
            else:
                runs[side].append(await bare_process(url, n, config.dispatch_concurrency, side != "bare"))
    print(
        f"receiver: {kind}; real processes, default settings (pool {config.dispatch_concurrency}, per destination"
        f" {config.endpoint_concurrency}); {n} callbacks a round, {rounds} rounds each, alternated"
    )
    base = statistics.median(r.rate for r in runs["bare"])
    labels = {
        "bare": "bare aiohttp client process (baseline)",
        "worker": "`dlrhub worker` (SQLite)",
        "bare, tuned": "bare client process, collector set as dlrhub's",
    }
    for side, label in labels.items():
        rates = [r.rate for r in runs[side]]
        rate = statistics.median(rates)
        ratio = "" if side == "bare" else f" = {rate / base:.0%} of the bare client"
        ratio += " (target >= 75 %)" if side == "worker" else ""
        print(
            f"  {label}: median {rate:6.0f}/s (range {min(rates):.0f}-{max(rates):.0f}){ratio}; CPU"
            f" {statistics.median(r.cpu_us for r in runs[side]):.0f} µs per callback"
        )


# -- main ---------------------------------------------------------------------------------------------------
def _run(main: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="dlrhub-bench-") as tmp:
        workdir = Path(tmp)
        sink, ports, kind = start_sink(workdir, max(1, args.destinations), nginx_ok=not args.neighbour)
        url = f"http://127.0.0.1:{ports[0]}/hook"
        config = bench_settings("sqlite:///unused")
        try:
            if args.destinations and not args.postgres:
                print(f"receiver: {kind}, on {len(ports)} ports")
                await destinations(workdir, ports, args.callbacks, args.rounds, args.neighbour)
                return
            if args.postgres:
                print(
                    f"receiver: {kind} on {len(ports)} port(s), one destination each;"
                    f" {'tuned' if args.tuned else 'default settings'}; {args.callbacks} callbacks"
                )
                pool = args.concurrency if args.tuned else config.dispatch_concurrency
                base = (await bare(url, args.callbacks, pool)).rate
                print(f"bare aiohttp client (baseline, one process): {base:8.0f} req/s")
                tuned = args.concurrency if args.tuned else None
                sinks = [f"http://127.0.0.1:{port}/hook" for port in ports]
                await postgres_rounds(args.postgres, sinks, args.callbacks, args.workers, tuned)
                return
            if args.processes:
                await processes(workdir, url, args.callbacks, args.rounds, kind)
                return
            await in_process(workdir, url, args.callbacks, args.rounds, kind)
            if args.tuned:
                tuned = bench_settings("sqlite:///unused", args.concurrency)
                base_t = (await bare(url, args.callbacks, args.concurrency)).rate
                rate_t = (await dispatch(workdir, url, args.callbacks, tuned)).rate
                print(
                    f"tuned (pool and per destination {args.concurrency}): bare {base_t:.0f} req/s, dispatch"
                    f" {rate_t:.0f} callbacks/s = {rate_t / base_t:.0%}"
                )
            if not args.skip_latency:
                # The max rate of the whole path in one process: ingest (services.events) and dispatch sharing
                # one core and the one SQLite writer; then the latency at half of it.
                top = await latency(workdir, url, None, args.latency_seconds, config, "top")
                print(
                    f"ingest + dispatch, one process, unthrottled: {top['delivered']:.0f} delivered/s "
                    f"(ingested {top['rate']:.0f}/s; first attempt p50 {top['p50']:.1f} ms, p99 {top['p99']:.1f} ms)"
                )
                lat = await latency(workdir, url, top["delivered"] / 2, args.latency_seconds, config, "half")
                print(
                    f"first-attempt latency at half that, {lat['rate']:.0f}/s ({lat['n']:.0f} events): "
                    f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms (targets < 20, < 100)"
                )
            if args.pending:
                peak, sent = await peak_rss(workdir, url, args.pending, args.rss_seconds)
                print(
                    f"peak RSS with {args.pending} pending: {peak:.0f} MB "
                    f"(dispatcher process, {sent} sent in {args.rss_seconds:.0f} s; target < 300 MB)"
                )
        finally:
            sink.terminate()
            sink.wait(timeout=10)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_rss":
        rss_child(sys.argv[2], float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callbacks", type=int, default=50_000)
    parser.add_argument(
        "--concurrency", type=int, default=256, help="the pool and per-destination cap of the --tuned rows"
    )
    parser.add_argument(
        "--tuned", action="store_true", help="add rows with the pool and cap at --concurrency"
    )
    parser.add_argument("--pending", type=int, default=1_000_000, help="0 skips the RSS measurement")
    parser.add_argument("--rss-seconds", type=float, default=10.0)
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--quick", action="store_true", help="5,000 callbacks, 100,000 pending")
    parser.add_argument(
        "--destinations",
        type=int,
        default=0,
        metavar="K",
        help="only compare one URL against K URLs (K destinations), default settings, alternating rounds;"
        " with --postgres, spread the callbacks over K destinations instead",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each side, alternated")
    parser.add_argument(
        "--processes",
        action="store_true",
        help="only a bare client process against a real `dlrhub worker` process draining a SQLite store",
    )
    parser.add_argument(
        "--neighbour",
        action="store_true",
        help="with --destinations, also one URL beside a destination the (aiohttp) receiver holds 3 s a request",
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="measure `dlrhub worker` processes on this database"
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="worker counts (with --postgres)"
    )
    args = parser.parse_args()
    if args.quick:
        args.callbacks, args.pending, args.rss_seconds, args.latency_seconds = 5_000, 100_000, 3.0, 2.0
    # The collector as dlrhub's server processes set it (`dlrhub worker` does this at start): in one process, the
    # bare client runs with it too.
    collector.tune()
    _run(amain(args))


if __name__ == "__main__":
    main()
