"""Fairness benchmark: a small account's first-attempt latency beside a large account's backlog.

`prepare` builds two stores with dlrhub's migrations: `empty` (two accounts, nothing queued) and `backlog` (the
large account `acc_big` with `--backlog` due callbacks, due before anything the run adds, to `--spread` receiver
ports). `run` then alternates the two for `--rounds` rounds each: a dispatcher with dlrhub's DEFAULT settings runs
in this process while the small account's events are ingested through the real path (`services.events`) at
`--rate` per second for `--seconds`; first-attempt latency = the first attempt's start - the callback's creation.
The large account's backlog is sent meanwhile (to nginx, or an aiohttp sink), so it stays queued all run long.

The process runs as `dlrhub worker` does (`runtime.start`: the garbage collector tuned, uvloop when installed);
`--plain` runs it on asyncio's own loop with CPython's collector settings, as the runs before 2026-12-04 did.
The floor beside it: a bare aiohttp client (keep-alive) POSTing to the same receiver at the same rate, no store.
Two more baselines in the same run: `empty`, nothing queued (the process idle but for the small account), and
`shallow`, the large account sent at full speed from a shallow queue: a third store, made anew by each `run`,
where its pending callbacks are topped up to `--shallow` (100,000: more than a round sends, a tenth of the
backlog) before each round, so that row differs from `backlog` only by the rows queued behind, which is what the
backlog itself costs. (Topping it up during the round instead, from another process, made SQLite's writers wait
on each other, a cost of its own.)
On PostgreSQL, `--vacuum-every S` runs a plain `VACUUM callbacks` in each store every S seconds all run long,
standing in for autovacuum where the server runs without it (the test server does); 0 (the default) never.
(Autovacuum visits a database at most once a `autovacuum_naptime`, 60 s by default.)

    python bench/fairness.py prepare --dir /tmp/fair-bench --backlog 1000000 [--spread 1] [--postgres URL]
    flock /tmp/bench.lock python bench/fairness.py run --dir /tmp/fair-bench --rounds 3 --seconds 10 --rate 20

With `--postgres postgresql://postgres@127.0.0.1:5432` the stores are two databases there (`fair_bench_empty`,
`fair_bench_backlog`, made anew by `prepare`). Target: the small account's p99 with the backlog within its p99
with the large account as busy from a shallow queue (and within the dispatch benchmark's 100 ms first-attempt p99).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import statistics
import time
from pathlib import Path

import aiohttp
import asyncpg

import receivers
import seed
from dlrhub import runtime, settings, store
from dlrhub.adapters import sender
from dlrhub.core import models, urls
from dlrhub.services import events
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher

BODY = b'{"type":"message.success","data":{"message_id":"big","status":"success"}}'
LOOPBACK = ("127.0.0.1",)
#: The backlog, generated in SQL: `:n` callbacks of `acc_big`, message `bigN`, to the `:urls` in turn.
SQLITE_BACKLOG = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :n)
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, health_key, state, due_at, attempts, created_at, updated_at)
SELECT 'cb_big' || i, 'big' || i || ':success', 'acc_big', 'native', 'big' || i, 'big' || i, 1, 'POST',
       json_extract(:urls, '$[' || (i % :k) || ']'), :body, 'application/json',
       json_extract(:endpoints, '$[' || (i % :k) || ']'), json_extract(:keys, '$[' || (i % :k) || ']'),
       'pending', :due + i * 0.000001, 0, :due, :due
FROM n
"""
PG_BACKLOG = """
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, health_key, state, due_at, attempts, created_at, updated_at)
SELECT 'cb_big' || i, 'big' || i || ':success', 'acc_big', 'native', 'big' || i, 'big' || i, 1, 'POST',
       ($2::text[])[1 + i % $5], $6, 'application/json', ($3::text[])[1 + i % $5], ($4::text[])[1 + i % $5],
       'pending', $7::timestamptz + make_interval(secs => i * 0.000001), 0, $7::timestamptz, $7::timestamptz
FROM generate_series(0, $1 - 1) AS i
"""


#: The stores: `empty` and `backlog` made by `prepare`, `shallow` by `run` when missing.
STORES = ("empty", "shallow", "backlog")
#: The shallow queue's top-up before each of its rounds: `$2` callbacks of `acc_big`, ids from `$1`, due now (its own clock), in turn to the
#: `$3` urls (`$4` endpoints, `$5` health keys, `$6` of them).
PG_TOPUP = """
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, health_key, state, due_at, attempts, created_at, updated_at)
SELECT 'cb_sh' || i, 'sh' || i || ':success', 'acc_big', 'native', 'sh' || i, 'sh' || i, 1, 'POST',
       ($3::text[])[1 + i % $6], $7, 'application/json', ($4::text[])[1 + i % $6], ($5::text[])[1 + i % $6],
       'pending', now(), 0, now(), now()
FROM generate_series($1::bigint, $1::bigint + $2 - 1) AS i
"""
SQLITE_TOPUP = """
WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :start + :n)
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
                       content_type, endpoint, health_key, state, due_at, attempts, created_at, updated_at)
SELECT 'cb_sh' || i, 'sh' || i || ':success', 'acc_big', 'native', 'sh' || i, 'sh' || i, 1, 'POST',
       json_extract(:urls, '$[' || (i % :k) || ']'), :body, 'application/json',
       json_extract(:endpoints, '$[' || (i % :k) || ']'), json_extract(:keys, '$[' || (i % :k) || ']'),
       'pending', :due, 0, :due, :due
FROM n
"""
PENDING_BIG = "SELECT count(*) FROM callbacks WHERE account_id = 'acc_big' AND state = 'pending'"


def store_urls(args: argparse.Namespace) -> dict[str, str]:
    if args.postgres:
        base = args.postgres.rstrip("/")
        return {name: f"{base}/{args.prefix}_{name}" for name in STORES}
    return {name: f"sqlite:///{Path(args.dir) / name}.sqlite3" for name in STORES}


def big_targets(big_ports: list[int]) -> tuple[list[str], list[str], list[str]]:
    """The large account's urls, their endpoints and health keys."""
    big = [f"http://127.0.0.1:{p}/big" for p in big_ports]
    return big, [urls.check_url(u).endpoint for u in big], [urls.health_key("acc_big", u) for u in big]


# -- prepare ------------------------------------------------------------------------------------------------
async def make_stores(args: argparse.Namespace, found: list[str]) -> None:
    """Make the stores `found` anew: dlrhub's migrations and the two accounts."""
    if args.postgres:
        admin = await asyncpg.connect(args.postgres.rstrip("/") + "/postgres")
        for url in found:
            name = url.rsplit("/", 1)[1]
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
    for url in found:
        db = store.from_url(url)
        await db.migrate()
        for account_id in ("acc_big", "acc_small"):
            await db.create_account(seed.account(account_id, account_id), [])
        await db.close()


def setup_dir(args: argparse.Namespace) -> list[int]:
    """The work directory, the receiver's ports (small account first), and no SQLite stores left from before."""
    workdir = Path(args.dir)
    workdir.mkdir(parents=True, exist_ok=True)
    ports = [receivers.free_port() for _ in range(1 + args.spread)]
    (workdir / "ports.json").write_text(json.dumps({"small": ports[0], "big": ports[1:]}))
    for name in STORES:
        for f in workdir.glob(f"{name}.sqlite3*"):
            f.unlink()
    return ports[1:]


async def prepare(args: argparse.Namespace, big_ports: list[int]) -> None:
    found = store_urls(args)
    await make_stores(args, [found["empty"], found["shallow"], found["backlog"]])
    big, endpoints, keys = big_targets(big_ports)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    t0 = time.perf_counter()
    if args.postgres:
        conn = await asyncpg.connect(found["backlog"].removeprefix("postgresql+asyncpg:"))
        await conn.execute(PG_BACKLOG, args.backlog, big, endpoints, keys, len(big), BODY, due)
        await conn.execute("VACUUM ANALYZE callbacks")  # as autovacuum would after a million inserts
        await conn.close()
    else:
        import sqlite3

        lite = sqlite3.connect(Path(args.dir) / "backlog.sqlite3")
        params = {
            "n": args.backlog,
            "urls": json.dumps(big),
            "endpoints": json.dumps(endpoints),
            "keys": json.dumps(keys),
            "k": len(big),
            "body": BODY,
            "due": due.timestamp(),
        }
        lite.execute(SQLITE_BACKLOG, params)
        lite.commit()
        lite.execute("ANALYZE")
        lite.close()
    print(
        f"prepared: {args.backlog} callbacks of acc_big to {len(big)} port(s) in {time.perf_counter() - t0:.0f} s"
    )


# -- run ----------------------------------------------------------------------------------------------------
def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def bare(url: str, rate: float, seconds: float) -> list[float]:
    """Round trips (ms) of a bare aiohttp client posting at `rate` per second: the floor."""
    total = int(rate * seconds)
    found: list[float] = []
    async with aiohttp.ClientSession() as session:
        t0 = time.perf_counter()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            started = time.perf_counter()
            async with session.post(url, data=BODY) as resp:
                await resp.read()
            found.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
    return found


async def big_sent(db: store.Store) -> int:
    return (await db.count_callbacks())[models.CallbackState.SUCCEEDED]


async def top_up(url: str, keep: int, big_ports: list[int]) -> None:
    """Queue callbacks of the large account in the store at `url` (due now) until `keep` are pending."""
    big, endpoints, keys = big_targets(big_ports)
    start = time.time_ns() // 1000  # ids unique across rounds and runs
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url.removeprefix("sqlite:///"))
        n = keep - lite.execute(PENDING_BIG).fetchone()[0]
        params = {"urls": json.dumps(big), "endpoints": json.dumps(endpoints), "keys": json.dumps(keys)}
        if n > 0:
            lite.execute(
                SQLITE_TOPUP,
                {**params, "start": start, "n": n, "k": len(big), "body": BODY, "due": time.time()},
            )
            lite.commit()
        lite.close()
        return
    conn = await asyncpg.connect(url)
    n = keep - await conn.fetchval(PENDING_BIG)
    if n > 0:
        await conn.execute(PG_TOPUP, start, n, big, endpoints, keys, len(big), BODY)
    await conn.close()


async def vacuuming(found: list[str], every: float, stop: asyncio.Event) -> None:
    """A plain `VACUUM callbacks` in each of the stores `found` every `every` seconds until `stop`: autovacuum's
    stand-in (PostgreSQL)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        for url in [] if stop.is_set() else found:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute("VACUUM callbacks")
            finally:
                await conn.close()


async def trickle(
    url: str, small: str, rate: float, seconds: float, tag: str
) -> tuple[list[float], float, int]:
    """A dispatcher with default settings on `url` while the small account's events come at `rate`: the small
    callbacks' first-attempt latencies (ms), the large account's callbacks sent per second, the ones pending."""
    config = settings.Settings(database_url=url, callback_allow=LOOPBACK)
    db = store.from_url(url)
    hub = hub_.Hub(settings=config, store=db)
    pending = (await db.count_callbacks())[models.CallbackState.PENDING]
    total = int(rate * seconds)
    stop = asyncio.Event()
    async with sender.Sender(config_.sender_config(config)) as snd:
        d = dispatcher.Dispatcher(db, snd, config_.DispatchConfig.from_settings(config))
        sent0 = await big_sent(db)
        task = asyncio.create_task(d.run(stop))
        t0 = time.perf_counter()
        for i in range(total):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            await events.ingest_external(
                hub,
                events.ExternalEvent(
                    event_id=f"{tag}.{i}:success",
                    message_id=f"{tag}.{i}",
                    account_id="acc_small",
                    kind=models.EventKind.SUCCESS,
                    type_id=24,
                    dialect=models.Dialect.NATIVE,
                    occurred_at=dt.datetime.now(dt.UTC),
                    callback_url=small,
                ),
            )
        waited = time.perf_counter()
        samples: list[float] = []
        while True:
            samples = []
            for i in range(total):
                [cb] = await db.list_callbacks(f"{tag}.{i}")
                attempts = await db.list_attempts(cb.id) if cb.attempts else []
                if attempts:
                    samples.append((attempts[0].started_at - cb.created_at).total_seconds() * 1000)
            if len(samples) == total or time.perf_counter() - waited > 30:
                break
            await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - t0
        sent = await big_sent(db) - sent0 - len(samples)
        stop.set()
        await task
    await db.close()
    missing = total - len(samples)
    samples += [float("inf")] * missing  # never attempted within 30 s of the last
    return samples, sent / elapsed, pending


async def run(args: argparse.Namespace) -> None:
    workdir = Path(args.dir)
    ports = json.loads((workdir / "ports.json").read_text())
    proc, kind = receivers.start_sink(workdir, [ports["small"], *ports["big"]])
    small = f"http://127.0.0.1:{ports['small']}/small"
    found = store_urls(args)
    await make_stores(args, [found["shallow"]])  # anew each run: the same start for A and B
    names = ("bare", *STORES)
    rows: dict[str, list[float]] = {name: [] for name in names}
    p99s: dict[str, list[float]] = {name: [] for name in names}
    label = args.label
    stop_vacuum = asyncio.Event()
    vacuum_task = (
        asyncio.create_task(vacuuming(list(found.values()), args.vacuum_every, stop_vacuum))
        if args.postgres and args.vacuum_every
        else None
    )
    try:
        vacuum = (
            f"; VACUUM callbacks every {args.vacuum_every:g} s" if args.postgres and args.vacuum_every else ""
        )
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        print(
            f"receiver: {kind}; store: {'PostgreSQL' if args.postgres else 'SQLite'}; dlrhub default settings"
            f"; loop: {loop}, collector {'CPython' if args.plain else 'tuned'}"
            f"; shallow queue topped up to {args.shallow} each round{vacuum}"
        )
        for r in range(args.rounds):
            for name in names:
                if name == "bare":
                    samples = await bare(small, args.rate, args.seconds)
                    extra = ""
                else:
                    tag = f"{label}.{name}.{r}.{time.time_ns()}"
                    if name == "shallow":
                        await top_up(found[name], args.shallow, ports["big"])
                    samples, big_rate, pending = await trickle(
                        found[name], small, args.rate, args.seconds, tag
                    )
                    extra = f"  ({pending} pending at start, large account sent {big_rate:.0f}/s)"
                rows[name] += samples
                p99s[name].append(pct(samples, 0.99))
                print(
                    f"round {r + 1} {name:8s} n={len(samples):4d}  p50 {statistics.median(samples):8.1f} ms"
                    f"  p99 {pct(samples, 0.99):8.1f} ms{extra}",
                    flush=True,
                )
    finally:
        stop_vacuum.set()
        if vacuum_task is not None:
            await vacuum_task
        proc.terminate()
        proc.wait()
    print(f"\nsmall account's first attempt ({label}), all rounds: median of the rounds' p99 [range]")
    for name, samples in rows.items():
        per = p99s[name]
        print(
            f"  {name:8s} p50 {statistics.median(samples):8.1f} ms  p99 {pct(samples, 0.99):8.1f} ms"
            f"  (rounds' p99 {statistics.median(per):.1f} [{min(per):.1f}-{max(per):.1f}])"
        )
    base, busy = pct(rows["empty"], 0.99), pct(rows["shallow"], 0.99)
    print(
        f"  backlog/shallow p99: {pct(rows['backlog'], 0.99) / busy:.2f}; backlog/empty p99:"
        f" {pct(rows['backlog'], 0.99) / base:.2f}; empty/bare p99: {base / pct(rows['bare'], 0.99):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=("prepare", "run"))
    parser.add_argument("--dir", required=True, help="where the stores and the receiver's files live")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (no database): stores there")
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--spread", type=int, default=1, help="the large account's receiver ports")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="the small account's events per second")
    parser.add_argument("--prefix", default="fair_bench", help="PostgreSQL: the databases' names begin so")
    parser.add_argument(
        "--shallow", type=int, default=100_000, help="store `shallow`: its queue at each round's start"
    )
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=0.0,
        help="PostgreSQL: VACUUM callbacks every so many seconds (0: never)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="asyncio's own loop and CPython's collector settings (before 2026-12-04), not the worker's",
    )
    parser.add_argument("--label", default="fair", help="a name for this run's rows (e.g. old)")
    args = parser.parse_args()
    if args.step == "prepare":
        asyncio.run(prepare(args, setup_dir(args)))
    else:
        for f in Path(args.dir).glob("shallow.sqlite3*"):
            f.unlink()  # made anew each run (`make_stores`)
        if args.plain:
            asyncio.run(run(args))
        else:
            # As `dlrhub worker` runs: the collector tuned (`adapters.collector`), on uvloop when installed.
            runtime.start(lambda: run(args), server=True)


if __name__ == "__main__":
    main()
