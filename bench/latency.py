"""Latency through the real processes: ingest (`POST /v1/events`) to the callback's arrival at the receiver.

Real `dlrhub` processes with DEFAULT settings (`callback_allow` aside, so callbacks may go to loopback):

- SQLite: `dlrhub serve` (the API and the dispatcher in one process: the supported shape on SQLite);
- PostgreSQL (`--postgres URL`): `dlrhub api` and `dlrhub worker`, two processes on one database;
- `--split` adds SQLite with `dlrhub api` and `dlrhub worker` (not a supported shape: "several processes need
  PostgreSQL"; the worker learns of new callbacks only by polling).

The receiver is a separate process (aiohttp's low-level server) that answers 200 and records when each callback
arrived (wall clock, as the client's). For each backend:

1. Maximum rate: `--burst` events sent as fast as 64 concurrent requests go (a bounded run); the delivered rate is
   the events over the time from the first send to the last arrival.
2. Latency: events sent open-loop at half that rate for `--seconds` (each on its schedule, whether or not earlier
   ones were answered); latency = the callback's arrival at the receiver - the moment its event's request was sent.
   Reported: p50, p99, max. Target: p99 < 50 ms.

The baseline beside it (same run, same client, same receiver): a bare FastAPI app in its own uvicorn process that
POSTs each event's callback to the receiver before answering, so its latency is the two HTTP hops alone.

    python bench/latency.py [--postgres postgresql://postgres@127.0.0.1:5432/dlrhub_latency] [--seconds 20]

`--postgres` DROPS and creates that database again at the start of each round: give it one of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

import dispatch as base
import receivers
import seed
from dlrhub import store

TOKEN = "bench-admin-token-0123456789"
ACCOUNT = "acc_bench"
DLRHUB = str(Path(sys.executable).parent / "dlrhub")
#: Numbers the measured runs, so that each run's message ids are its own.
RUNS = itertools.count()
#: Requests in flight while finding the maximum rate.
BURST_CONCURRENCY = 64


# -- the receiver, in its own process ------------------------------------------------------------------------
def serve_receiver(port: int) -> None:
    """Answer 200 to every callback and record its event id's arrival; `GET /_arrivals` hands them over."""
    from aiohttp import web

    arrivals: dict[str, float] = {}

    async def handle(request: Any) -> Any:
        if request.method == "GET":
            out = json.dumps(arrivals)
            arrivals.clear()
            return web.Response(text=out)
        body = await request.read()
        now = time.time()
        arrivals.setdefault(json.loads(body)["data"]["event_id"], now)
        return web.Response(text="ok")

    async def main() -> None:
        server = web.Server(handle, access_log=None)
        await asyncio.get_running_loop().create_server(server, "127.0.0.1", port, backlog=4096)
        print("ready", flush=True)
        await asyncio.Event().wait()

    base._run(main())


# -- the baseline: a bare FastAPI app that makes the callback itself -------------------------------------------
def serve_bare(port: int, sink: str) -> None:
    """A FastAPI app whose `POST /v1/events` POSTs the callback to `sink` (keep-alive), then answers 202."""
    import fastapi
    import uvicorn

    app = fastapi.FastAPI()
    state: dict[str, aiohttp.ClientSession] = {}

    @app.post("/v1/events", status_code=202)
    async def event(body: dict[str, Any]) -> dict[str, str]:
        if "session" not in state:
            state["session"] = aiohttp.ClientSession()
        payload = {"type": "message.success", "data": {"event_id": body["event_id"], "status": "success"}}
        async with state["session"].post(sink, json=payload) as resp:
            await resp.read()
        return {"status": "accepted"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- setup -----------------------------------------------------------------------------------------------------
async def prepare(url: str) -> None:
    """A fresh store with the bench account: a PostgreSQL database is dropped and created again first."""
    if url.startswith("postgres"):
        import asyncpg

        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        conn = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
    db = store.from_url(url)
    await db.migrate()
    await db.close()
    db = store.from_url(url)
    await db.create_account(seed.account(ACCOUNT), [])
    await db.close()


def env_for(db_url: str, port: int) -> dict[str, str]:
    """Default settings, but for the store, loopback callbacks, a fixed admin token and ports of their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env.update(
        DLRHUB_DATABASE_URL=db_url,
        DLRHUB_CALLBACK_ALLOW="127.0.0.1",
        DLRHUB_ADMIN_TOKEN=TOKEN,
        DLRHUB_PORT=str(port),
        DLRHUB_WORKER_PORT="0",
        DLRHUB_DEMO_ACCOUNT="off",
        DLRHUB_LOG_LEVEL="warning",
    )
    return env


async def wait_ready(base_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(base_url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base_url} did not start")


# -- the client ------------------------------------------------------------------------------------------------
class Client:
    """Sends native events and matches the receiver's arrivals to their send times."""

    def __init__(self, api: str, receiver: str, callback_url: str, prefix: str) -> None:
        self.api = api
        self.receiver = receiver
        self.callback_url = callback_url
        self.prefix = prefix
        self.sent: dict[str, float] = {}
        #: When each event's answer came back, and the callback it made (none from the bare app).
        self.answered: dict[str, float] = {}
        self.callbacks: dict[str, str] = {}
        self.failures = 0
        self.got: dict[str, float] = {}
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    async def close(self) -> None:
        await self.session.close()

    async def send(self, i: int) -> None:
        message_id = f"{self.prefix}{i}"
        event_id = f"{message_id}:success"
        body = {
            "event_id": event_id,
            "message_id": message_id,
            "account": ACCOUNT,
            "type_id": 24,
            "status": "success",
            "callback_url": self.callback_url,
        }
        self.sent[event_id] = time.time()
        async with self.session.post(self.api + "/v1/events", json=body) as resp:
            answer = await resp.read()
            self.answered[event_id] = time.time()
            self.failures += resp.status not in (200, 202)
        if resp.status == 202:
            self.callbacks[event_id] = json.loads(answer).get("callbacks", [""])[0]

    async def arrivals(self, expected: int, within_s: float = 60.0) -> dict[str, float]:
        """The arrivals of this client's messages, once `expected` have arrived (or `within_s` passed)."""
        got: dict[str, float] = {}
        deadline = time.monotonic() + within_s
        while len(got) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            async with self.session.get(self.receiver + "/_arrivals") as resp:
                got.update((k, v) for k, v in json.loads(await resp.read()).items() if k in self.sent)
        if len(got) < expected:
            raise RuntimeError(f"only {len(got)} of {expected} callbacks arrived")
        return got


async def burst(client: Client, n: int) -> tuple[float, float]:
    """(ingested/s, delivered/s) sending `n` events as fast as BURST_CONCURRENCY requests in flight go."""
    it = iter(range(n))

    async def worker() -> None:
        for i in it:
            await client.send(i)

    t0 = time.time()
    await asyncio.gather(*(worker() for _ in range(BURST_CONCURRENCY)))
    ingested = n / (time.time() - t0)
    got = await client.arrivals(n)
    return ingested, n / (max(got.values()) - t0)


async def open_loop(client: Client, rate: float, seconds: float) -> dict[str, float]:
    """Send events at `rate` a second for `seconds`, each on its schedule; latencies of their callbacks."""
    n = int(rate * seconds)
    tasks = []
    t0 = time.perf_counter()
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(client.send(i)))
    await asyncio.gather(*tasks)
    achieved = n / (time.perf_counter() - t0)
    got = await client.arrivals(n)
    client.got = got
    return {"rate": achieved, "n": float(n)} | quantiles([(got[m] - client.sent[m]) * 1000 for m in got])


def quantiles(samples: list[float], prefix: str = "") -> dict[str, float]:
    samples = sorted(samples)
    return {
        prefix + "p50": statistics.median(samples),
        prefix + "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        prefix + "max": samples[-1],
    }


async def breakdown(client: Client, db_url: str) -> str:
    """Where the time went: the ingest request answered, the first attempt started (as stored), the arrival."""
    db = store.from_url(db_url)
    starts: dict[str, float] = {}
    try:
        for event_id, callback_id in client.callbacks.items():
            attempts = await db.list_attempts(callback_id)
            if attempts:
                starts[event_id] = attempts[0].started_at.timestamp()
    finally:
        await db.close()
    parts = {
        "ingest answered": [(client.answered[e] - client.sent[e]) * 1000 for e in starts],
        "attempt started (stored)": [(starts[e] - client.sent[e]) * 1000 for e in starts],
        "arrival - attempt start": [(client.got[e] - starts[e]) * 1000 for e in starts],
    }
    return "; ".join(
        f"{name} p50 {q['p50']:.1f} / p99 {q['p99']:.1f} ms"
        for name, q in ((k, quantiles(v)) for k, v in parts.items())
    )


async def measure(
    name: str, api: str, receiver: str, args: argparse.Namespace, db_url: str | None = None
) -> dict[str, float]:
    """The maximum rate, then latency at half of it, through the processes answering at `api`."""
    run = f"r{next(RUNS)}"
    warm = Client(api, receiver, receiver + "/hook", f"{run}-warm-")
    await asyncio.gather(*(warm.send(i) for i in range(200)))
    await warm.arrivals(200)
    if warm.failures:
        raise RuntimeError(f"{name}: {warm.failures} events were refused")
    await warm.close()
    top = Client(api, receiver, receiver + "/hook", f"{run}-top-")
    ingested, delivered = await burst(top, args.burst)
    await top.close()
    half = Client(api, receiver, receiver + "/hook", f"{run}-half-")
    lat = await open_loop(half, delivered / 2, args.seconds)
    await half.close()
    if top.failures or half.failures:
        raise RuntimeError(f"{name}: {top.failures + half.failures} events were refused")
    lat |= {"ingested": ingested, "delivered": delivered}
    print(
        f"  {name}: max {delivered:.0f} delivered/s (ingested {ingested:.0f}/s, {args.burst} events, "
        f"{BURST_CONCURRENCY} in flight); at half, {lat['rate']:.0f}/s open loop for {args.seconds:.0f} s "
        f"({lat['n']:.0f} events): first attempt p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
        f"max {lat['max']:.1f} ms",
        flush=True,
    )
    if db_url is not None:
        print(f"    after the send: {await breakdown(half, db_url)}", flush=True)
    return lat


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def through(
    name: str, db_url: str, verbs: list[str], receiver: str, args: argparse.Namespace
) -> dict[str, float]:
    """Measure `dlrhub <verb>` processes (the first serves the API) on `db_url`."""
    await prepare(db_url)
    port = receivers.free_port()
    procs = [spawn([DLRHUB, verb], env_for(db_url, port)) for verb in verbs]
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        return await measure(name, f"http://127.0.0.1:{port}", receiver, args, db_url)
    finally:
        stop(procs)


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="dlrhub-bench-latency-") as tmp:
        workdir = Path(tmp)
        rport = receivers.free_port()
        receiver_proc = spawn([sys.executable, __file__, "_receiver", str(rport)])
        assert receiver_proc.stdout is not None
        receiver_proc.stdout.readline()
        receiver = f"http://127.0.0.1:{rport}"
        bport = receivers.free_port()
        bare_proc = spawn([sys.executable, __file__, "_bare", str(bport), receiver + "/hook"])
        procs = [receiver_proc, bare_proc]
        print(
            f"default settings; receiver: aiohttp low-level server, own process; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        results: dict[str, list[float]] = {}
        try:
            await wait_ready_bare(f"http://127.0.0.1:{bport}")
            for r in range(args.rounds):
                runs: list[tuple[str, Any]] = [
                    ("bare FastAPI + aiohttp, one process (baseline)", None),
                    ("SQLite, dlrhub serve", (f"sqlite:///{workdir / f'serve{r}.sqlite3'}", ["serve"])),
                ]
                if args.split:
                    runs.append(
                        (
                            "SQLite, dlrhub api + dlrhub worker",
                            (f"sqlite:///{workdir / f'split{r}.sqlite3'}", ["api", "worker"]),
                        )
                    )
                if args.postgres:
                    runs.append(
                        ("PostgreSQL, dlrhub api + dlrhub worker", (args.postgres, ["api", "worker"]))
                    )
                if r % 2:
                    runs.reverse()
                for name, spec in runs:
                    if spec is None:
                        got = await measure(name, f"http://127.0.0.1:{bport}", receiver, args)
                    else:
                        db_url, verbs = spec
                        got = await through(name, db_url, verbs, receiver, args)
                    results.setdefault(name, []).append(got["p99"])
        finally:
            stop(procs)
        if args.rounds > 1:
            print("medians over the rounds:")
            for name, p99s in results.items():
                print(
                    f"  {name}: p99 median {statistics.median(p99s):.1f} ms (range {min(p99s):.1f}-"
                    f"{max(p99s):.1f})"
                )
        print(f"load average after: {os.getloadavg()[0]:.2f}")


async def wait_ready_bare(base_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(base_url + "/docs") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("the bare app did not start")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_receiver":
        serve_receiver(int(sys.argv[2]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_bare":
        serve_bare(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", metavar="URL", help="also measure dlrhub api + worker on this database")
    parser.add_argument("--split", action="store_true", help="also SQLite with dlrhub api + dlrhub worker")
    parser.add_argument("--burst", type=int, default=1000, help="events sent to find the maximum rate")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the half-rate run")
    parser.add_argument("--rounds", type=int, default=1)
    base._run(amain(parser.parse_args()))


if __name__ == "__main__":
    main()
