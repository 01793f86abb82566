"""Fleet benchmark: a realistic fleet of slow, failing and hanging receivers, against its concurrency-bound ideal.

A sink in its own process (aiohttp, uvloop when installed) listens on `--endpoints` loopback ports (200): each
port is a destination of its own to the dispatcher. Callback i goes to port i mod 200, path `/cb/i`; its answer is
drawn from the seed (`answer`): a latency uniform in 10-500 ms, then 2 % of the answers are 500 and 1 % hang past
the attempt timeout (`callback_timeout_s`, 10 s). A callback asked again (a retry) is answered 200 after its latency.

Each round, alternated: the dispatcher (dlrhub's DEFAULT settings; `--pool N` adds rows with `dispatch_concurrency`
N beside them) delivers `--callbacks` (20,000) pre-queued callbacks from a fresh SQLite file; and a bare aiohttp
client (one session, keep-alive, as many connections and workers as the pool, the same 10 s timeout, no storage)
makes the same 20,000 requests. Both are timed from the start to the last first attempt that is answered (not hung).

The ideal is the concurrency bound: P slots (the pool, as long as 200 x the per-destination cap is larger), each
request holding one for its latency, a hanging one for the timeout. In the steady state

    ideal rate = P / E[s],   E[s] = mean over the drawn answers of (latency, or the timeout for a hang)

and for this finite run the bench computes it exactly: the same requests, in order, on P slots with no overhead
(list scheduling), to the last answered one. It prints: first answers/s (200 or 500) and delivered/s (200) against
both; the dispatcher process's CPU per callback (getrusage, user + system) and its share of a core; rows per claim
and per attempt-record transaction (counted by wrapping the store, in this bench only); and the healthy
endpoints (those that had no hang) against their own ideal (their last answer's ideal time / its real time).

`--fast` adds the fast sink: the same 200 ports answering 200 at once, where the bound is CPU, not the pool:
callbacks/s against the bare client's, CPU per callback and rows per transaction.

    python bench/fleet.py [--callbacks 20000] [--rounds 2] [--pool 256] [--fast | --fast-only] [--seed 16]

Target (2 cores): at default settings >= 90 % of the ideal, using under half a core.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime as dt
import heapq
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

import seed
from dlrhub import settings, store
from dlrhub.adapters import collector, sender
from dlrhub.core import models
from dlrhub.store import rows
from dlrhub.store.sqlite import messages as sqlite_messages
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher

BODY = b'{"type":"message.success","timestamp":"2026-01-01T00:00:00.000Z","data":{"status":"success"}}'
LOOPBACK = ("127.0.0.1",)
ERROR_SHARE = 0.02
HANG_SHARE = 0.01
#: How long a hanging answer is held: past any timeout.
HANG_S = 3600.0


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """How the sink answers callback i the first time."""

    latency_s: float
    kind: str  #: "ok", "error" (500) or "hang"


def answer(seed: int, i: int) -> Answer:
    """The drawn answer of callback `i` (the sink and the ideal use the same draw)."""
    r = random.Random(seed * 1_000_003 + i)
    latency = r.uniform(0.010, 0.500)
    u = r.random()
    kind = "error" if u < ERROR_SHARE else "hang" if u < ERROR_SHARE + HANG_SHARE else "ok"
    return Answer(latency, kind)


# -- the sink (its own process) ------------------------------------------------------------------------------
def serve_sink(seed: int, count: int, fast: bool) -> None:
    """Listen on `count` free loopback ports; print them; answer as `answer` draws (or 200 at once: `fast`)."""
    from aiohttp import web

    asked: set[int] = set()

    async def handle(request: Any) -> Any:
        await request.read()
        if fast:
            return web.Response(text="ok")
        i = int(request.path.rsplit("/", 1)[1])
        drawn = answer(seed, i)
        again = i in asked
        asked.add(i)
        if drawn.kind == "hang" and not again:
            await asyncio.sleep(HANG_S)
        await asyncio.sleep(drawn.latency_s)
        if drawn.kind == "error" and not again:
            return web.Response(status=500, text="no")
        return web.Response(text="ok")

    async def main() -> None:
        server = web.Server(handle, access_log=None)
        loop = asyncio.get_running_loop()
        ports = []
        for _ in range(count):
            srv = await loop.create_server(server, "127.0.0.1", 0, backlog=4096)
            ports.append(srv.sockets[0].getsockname()[1])
        print(" ".join(map(str, ports)), flush=True)
        await asyncio.Event().wait()

    _run(main())


def start_sink(seed: int, count: int, fast: bool) -> tuple[subprocess.Popen[bytes], list[int]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "_sink", str(seed), str(count), "1" if fast else "0"],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ports = [int(p) for p in proc.stdout.readline().split()]
    if len(ports) != count:
        raise RuntimeError("the sink did not start")
    return proc, ports


def stop_sink(proc: subprocess.Popen[bytes]) -> None:
    """Stop the sink: its hanging answers end (connections reset), so nothing waits for them."""
    if proc.poll() is not None:
        return
    proc.terminate()
    proc.wait(timeout=10)


# -- the ideal -----------------------------------------------------------------------------------------------
def ideal(
    answers: list[Answer], endpoint: list[int], pool: int, timeout_s: float
) -> tuple[float, dict[int, float]]:
    """The concurrency bound, exactly for this run: the time the last answered request ends when the requests
    start in order on `pool` slots with no overhead, and each endpoint's own last answered end."""
    slots = [0.0] * pool
    last = 0.0
    per_endpoint: dict[int, float] = {}
    for i, drawn in enumerate(answers):
        start = heapq.heappop(slots)
        end = start + (timeout_s if drawn.kind == "hang" else drawn.latency_s)
        heapq.heappush(slots, end)
        if drawn.kind != "hang":
            last = max(last, end)
            per_endpoint[endpoint[i]] = max(per_endpoint.get(endpoint[i], 0.0), end)
    return last, per_endpoint


def steady_ideal(answers: list[Answer], pool: int, timeout_s: float) -> float:
    """P / E[s]: the steady-state bound (a hang holds its slot for the timeout)."""
    mean = statistics.fmean(timeout_s if a.kind == "hang" else a.latency_s for a in answers)
    return pool / mean


# -- setup ---------------------------------------------------------------------------------------------------
def callback(i: int, url: str, now: dt.datetime) -> models.Callback:
    return seed.callback(i, url, now, BODY)


async def new_store(path: Path, targets: list[str]) -> store.Store:
    """A fresh SQLite store with one account and a due callback to each of `targets` (setup, not measured)."""
    db = store.from_url(f"sqlite:///{path}")
    await db.migrate()
    await db.create_account(seed.account(), [])
    conn = sqlite3.connect(path)
    now = dt.datetime.now(dt.UTC)
    conn.executemany(
        sqlite_messages.INSERT_CALLBACK,
        [rows.to_row(callback(i, url, now), "sqlite") for i, url in enumerate(targets)],
    )
    conn.commit()
    conn.close()
    return db


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass
class Run:
    """One timed run: to the last answered first attempt."""

    seconds: float
    answered: int
    delivered: int
    cpu_s: float
    #: Per endpoint index: when its last answered first attempt was recorded (s from the start).
    finished: dict[int, float] = dataclasses.field(default_factory=dict)
    #: Store transactions counted by kind: [calls, rows].
    txns: dict[str, list[int]] = dataclasses.field(default_factory=dict)


class Counting:
    """Wraps a store's write methods to count transactions and rows (this bench's instrument only)."""

    def __init__(self, db: store.Store) -> None:
        self.txns: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
        for name, size in (
            ("claim_due_callbacks", len),
            ("claim_endpoint_callbacks", len),
            ("release_callbacks", None),
            ("cancel_callbacks", None),
            ("put_endpoints", None),
        ):
            setattr(db, name, self._wrap(name, getattr(db, name), size))

    def _wrap(self, name: str, method: Any, size: Any) -> Any:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            got = await method(*args, **kwargs)
            n = size(got) if size is not None else len(args[1] if name == "release_callbacks" else args[0])
            if n:
                self.txns[name][0] += 1
                self.txns[name][1] += n
            else:
                self.txns[name + " (empty)"][0] += 1
            return got

        return counted


async def run_dlrhub(
    workdir: Path,
    sink: subprocess.Popen[bytes],
    ports: list[int],
    n: int,
    seed: int,
    config: settings.Settings,
    fast: bool,
    batching: bool = True,
) -> Run:
    """The dispatcher delivering `n` pre-queued callbacks, timed to the last answered first attempt."""
    path = workdir / f"fleet-{time.monotonic_ns()}.sqlite3"
    answers = [Answer(0.0, "ok") if fast else answer(seed, i) for i in range(n)]
    targets = [f"http://127.0.0.1:{ports[i % len(ports)]}/cb/{i}" for i in range(n)]
    db = await new_store(path, targets)
    index = {callback(i, url, dt.datetime.now(dt.UTC)).id: i for i, url in enumerate(targets)}
    expected = sum(a.kind != "hang" for a in answers)
    counting = Counting(db)
    original = db.record_attempts
    answered = delivered = 0
    finished: dict[int, float] = {}
    done = asyncio.Event()
    t0 = 0.0

    async def recording(results: list[store.AttemptResult], now: dt.datetime) -> None:
        nonlocal answered, delivered
        await original(results, now)
        counting.txns["record_attempts"][0] += 1
        counting.txns["record_attempts"][1] += len(results)
        at = time.perf_counter() - t0
        for r in results:
            if r.attempt.status_code is not None and r.attempt.number == 1:
                answered += 1
                finished[index[r.attempt.callback_id] % len(ports)] = at
            delivered += r.attempt.outcome is models.AttemptOutcome.OK
        if answered >= expected:
            done.set()

    db.record_attempts = recording  # type: ignore[method-assign]
    stop = asyncio.Event()
    async with sender.Sender(config_.sender_config(config)) as snd:
        dispatch = config_.DispatchConfig.from_settings(config)
        if not batching:  # as before issue 16: record and claim whatever is there, at once
            dispatch = dataclasses.replace(dispatch, flush_window_s=0.0, claim_wait_s=0.0)
        d = dispatcher.Dispatcher(db, snd, dispatch)
        cpu0, t0 = cpu_s(), time.perf_counter()
        task = asyncio.create_task(d.run(stop))
        await done.wait()
        seconds, cpu = time.perf_counter() - t0, cpu_s() - cpu0
        stop_sink(sink)  # the hanging answers end now: the dispatcher's drain need not wait for them
        stop.set()
        await task
    await db.close()
    return Run(seconds, answered, delivered, cpu, finished, dict(counting.txns))


async def run_bare(ports: list[int], n: int, seed: int, pool: int, timeout_s: float, fast: bool) -> Run:
    """A bare aiohttp client making the same requests: `pool` connections and workers, the same timeout."""
    answers = [Answer(0.0, "ok") if fast else answer(seed, i) for i in range(n)]
    expected = sum(a.kind != "hang" for a in answers)
    connector = aiohttp.TCPConnector(limit=pool, limit_per_host=0)
    headers = {"Content-Type": "application/json"}
    answered = delivered = 0
    done = asyncio.Event()
    queue: Iterator[int] = iter(range(n))
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s)
    ) as session:

        async def worker() -> None:
            nonlocal answered, delivered
            for i in queue:
                url = f"http://127.0.0.1:{ports[i % len(ports)]}/cb/{i}"
                try:
                    async with session.post(url, data=BODY, headers=headers) as resp:
                        await resp.read()
                except (TimeoutError, aiohttp.ClientError):
                    continue
                answered += 1
                delivered += resp.status == 200
                if answered >= expected:
                    done.set()

        cpu0, t0 = cpu_s(), time.perf_counter()
        workers = [asyncio.create_task(worker()) for _ in range(pool)]
        await done.wait()
        seconds, cpu = time.perf_counter() - t0, cpu_s() - cpu0
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return Run(seconds, answered, delivered, cpu)


# -- report --------------------------------------------------------------------------------------------------
def med(values: list[float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def per_txn(runs: list[Run], *names: str) -> str:
    calls = sum(r.txns.get(name, [0, 0])[0] for r in runs for name in names)
    count = sum(r.txns.get(name, [0, 0])[1] for r in runs for name in names)
    per_s = calls / sum(r.seconds for r in runs)
    return f"{count / max(calls, 1):.1f} rows/txn ({per_s:.0f} txn/s)"


def report(
    label: str,
    runs: list[Run],
    bares: list[Run],
    n: int,
    ideal_s: float | None,
    per_endpoint: dict[int, float],
) -> None:
    rates = [r.answered / r.seconds for r in runs]
    bare_rates = [r.answered / r.seconds for r in bares]
    print(f"  {label}")
    line = f"    first answers/s {med(rates)} = {statistics.median(rates) / statistics.median(bare_rates):.0%} of bare"
    if ideal_s is not None:
        ideal_rate = runs[0].answered / ideal_s
        line += f", {statistics.median(rates) / ideal_rate:.0%} of the ideal"
    print(line)
    print(f"    delivered (200)/s {med([r.delivered / r.seconds for r in runs])}")
    print(
        f"    CPU {med([r.cpu_s / n * 1e6 for r in runs])} us/callback, "
        f"{med([r.cpu_s / r.seconds for r in runs], '{:.2f}')} of a core "
        f"(bare client {med([r.cpu_s / n * 1e6 for r in bares])} us/request)"
    )
    print(
        f"    claims {per_txn(runs, 'claim_due_callbacks', 'claim_endpoint_callbacks')}, "
        f"attempt records {per_txn(runs, 'record_attempts')}, "
        f"endpoint health {per_txn(runs, 'put_endpoints')}, "
        f"empty claims {sum(r.txns.get(k, [0])[0] for r in runs for k in r.txns if k.endswith('(empty)'))}"
    )
    if per_endpoint:
        ratios = sorted(
            per_endpoint[e] / r.finished[e] for r in runs for e in per_endpoint if e in r.finished
        )
        print(
            f"    healthy endpoints ({len(per_endpoint)}): own ideal / real time to their last answer: "
            f"median {statistics.median(ratios):.0%}, worst {ratios[0]:.0%}, 10th percentile "
            f"{ratios[len(ratios) // 10]:.0%}"
        )


async def amain(args: argparse.Namespace) -> None:
    n, seed = args.callbacks, args.seed
    default = settings.Settings(database_url="sqlite:///unused", callback_allow=LOOPBACK)
    configs: dict[str, tuple[settings.Settings, bool]] = {
        f"default (pool {default.dispatch_concurrency})": (default, True)
    }
    if args.unbatched:
        configs[f"pool {default.dispatch_concurrency}, unbatched"] = (default, False)
    for pool in args.pool:
        configs[f"pool {pool}"] = (
            settings.Settings(
                database_url="sqlite:///unused", callback_allow=LOOPBACK, dispatch_concurrency=pool
            ),
            True,
        )
    timeout_s = default.callback_timeout_s
    answers = [answer(seed, i) for i in range(n)]
    endpoint = [i % args.endpoints for i in range(n)]
    hung = {endpoint[i] for i, a in enumerate(answers) if a.kind == "hang"}
    kinds = collections.Counter(a.kind for a in answers)
    print(
        f"fleet: {args.endpoints} endpoints, {n} callbacks (seed {seed}): {kinds['ok']} ok, {kinds['error']} 500, "
        f"{kinds['hang']} hang; latency 10-500 ms; timeout {timeout_s:.0f} s; per destination "
        f"{default.endpoint_concurrency}; {args.rounds} round(s), alternated with a bare aiohttp client"
    )
    print(f"  ideal = P / E[s] (steady state), E[s] = {n / steady_ideal(answers, n, timeout_s):.3f} s")
    sides = [] if args.fast_only else [(label, *config, False) for label, config in configs.items()]
    if args.fast or args.fast_only:
        sides += [(f"fast sink, {label}", *config, True) for label, config in configs.items()]
    results: dict[str, list[Run]] = {label: [] for label, *_ in sides}
    bares: dict[str, list[Run]] = {label: [] for label, *_ in sides}
    with tempfile.TemporaryDirectory(prefix="dlrhub-fleet-") as tmp:
        for r in range(args.rounds):
            for label, config, batching, fast in sides if r % 2 == 0 else reversed(sides):
                for which in ("dlrhub", "bare") if r % 2 == 0 else ("bare", "dlrhub"):
                    proc, ports = start_sink(seed, args.endpoints, fast)
                    try:
                        if which == "dlrhub":
                            results[label].append(
                                await run_dlrhub(Path(tmp), proc, ports, n, seed, config, fast, batching)
                            )
                        else:
                            bares[label].append(
                                await run_bare(ports, n, seed, config.dispatch_concurrency, timeout_s, fast)
                            )
                    finally:
                        stop_sink(proc)
                    got = (results if which == "dlrhub" else bares)[label][-1]
                    print(
                        f"    round {r + 1}, {label}, {which}: {got.answered / got.seconds:.0f} answers/s, "
                        f"{got.cpu_s / n * 1e6:.0f} us CPU a callback",
                        flush=True,
                    )
    for label, config, _, fast in sides:
        pool = config.dispatch_concurrency
        if fast:
            report(label + ": callbacks/s against the bare client", results[label], bares[label], n, None, {})
            continue
        ideal_s, per_endpoint = ideal(answers, endpoint, pool, timeout_s)
        healthy = {e: t for e, t in per_endpoint.items() if e not in hung}
        print(
            f"  {label}: ideal {n - kinds['hang']} answers in {ideal_s:.2f} s = "
            f"{(n - kinds['hang']) / ideal_s:.0f}/s (steady state P / E[s] = {steady_ideal(answers, pool, timeout_s):.0f}/s)"
        )
        report(label, results[label], bares[label], n, ideal_s, healthy)
        bare_rates = [b.answered / b.seconds for b in bares[label]]
        print(
            f"    bare aiohttp client: {med(bare_rates)} answers/s = "
            f"{statistics.median(bare_rates) * ideal_s / (n - kinds['hang']):.0%} of the ideal"
        )


def _run(main: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_sink":
        serve_sink(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1")
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callbacks", type=int, default=20_000)
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--pool", type=int, nargs="*", default=[], help="rows with dispatch_concurrency N too"
    )
    parser.add_argument("--fast", action="store_true", help="also the fast sink (200 at once)")
    parser.add_argument(
        "--unbatched", action="store_true", help="also the default pool with no batching windows (as before)"
    )
    parser.add_argument("--fast-only", action="store_true", help="only the fast sink")
    args = parser.parse_args()
    # The collector as dlrhub's server processes set it (`dlrhub worker` does this at start): in one process, the
    # bare client runs with it too.
    collector.tune()
    _run(amain(args))


if __name__ == "__main__":
    main()
