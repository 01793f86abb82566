"""HTTP client benchmark: the bare aiohttp client against a minimal keep-alive HTTP/1.1 client (an asyncio
`Protocol` and `httptools.HttpResponseParser`), alternated in one run (issue 16, items 2-3).

Two sinks, each in its own process:

1. nginx (bench/receivers.py: one worker, keep-alive, `return 200 "ok"`), `--concurrency` (64) workers POSTing a
   small JSON body `--requests` (20,000) times over keep-alive connections: the CPU-bound case.
2. `--fleet`: bench/fleet.py's sink (200 ports, latency 10-500 ms, 2 % 500s, 1 % hangs), `--pool` (1,024) workers
   each taking the next request, to port i mod 200, timed to the last answered request: the fleet's case, where
   each wake-up carries few answers.

Each round runs both clients, alternating which goes first. Every line gives requests/s and the process's CPU
(user + system, all threads) per request, medians with ranges, and the ratio against the bare aiohttp client.
The minimal client is what dlrhub's own would be at least: a pool of idle connections per destination, the request
written in one `transport.write`, the status, headers and body read by httptools, a total timeout per request.

    python bench/http_clients.py [--requests 20000] [--rounds 4] [--fleet --fleet-requests 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httptools

import fleet
import receivers
from dlrhub.adapters import collector

BODY = (
    b'{"type":"message.success","timestamp":"2026-01-01T00:00:00.000Z","data":{"message_id":"msg_bench",'
    b'"status":"success","code":0,"text":"Success","recipient":"84901234567","type_id":24}}'
)
TIMEOUT_S = 10.0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the minimal client --------------------------------------------------------------------------------------
class _Conn(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer read by httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.keep = False
        self.open = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(exc or ConnectionResetError("closed"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def request(self, head: bytes, body: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        self.headers = []
        self.body = bytearray()
        assert self.transport is not None
        self.transport.write(head + body)
        await self.waiter
        return self.status


class MiniClient:
    """Idle connections per (host, port); a request takes one (or opens one) and gives it back if reusable."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], collections.deque[_Conn]] = collections.defaultdict(
            collections.deque
        )

    async def post(self, host: str, port: int, path: str, body: bytes) -> int:
        loop = asyncio.get_running_loop()
        key = (host, port)
        idle = self.idle[key]
        conn = None
        while idle:
            conn = idle.pop()
            if conn.open:
                break
            conn = None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        ok = False
        try:
            async with asyncio.timeout(TIMEOUT_S):
                if conn is None:
                    _, conn = await loop.create_connection(_Conn, host, port)
                status = await conn.request(head, body)
            ok = conn.keep
            return status
        finally:
            if conn is not None:
                if ok and conn.open:
                    idle.append(conn)
                elif conn.transport is not None:
                    conn.transport.close()

    def close(self) -> None:
        for idle in self.idle.values():
            for conn in idle:
                if conn.transport is not None:
                    conn.transport.close()
        self.idle.clear()


# -- the runs ------------------------------------------------------------------------------------------------
Send = Callable[[int], Coroutine[Any, Any, int]]


async def run(send: Send, n: int, workers: int, warm: int, answered_target: int) -> tuple[float, float, int]:
    """(requests/s, CPU µs a request, failures) of `workers` workers taking requests 0..n-1 in turn, timed to the
    `answered_target`th answer."""
    await asyncio.gather(*(send(-1 - i) for i in range(warm)))
    queue: Iterator[int] = iter(range(n))
    answered = failures = 0
    done = asyncio.Event()

    async def worker() -> None:
        nonlocal answered, failures
        for i in queue:
            try:
                status = await send(i)
            except (TimeoutError, OSError, aiohttp.ClientError, httptools.HttpParserError):
                failures += 1
                continue
            answered += 1
            failures += status >= 400
            if answered >= answered_target:
                done.set()

    cpu0, t0 = cpu_s(), time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await done.wait()
    seconds, cpu = time.perf_counter() - t0, cpu_s() - cpu0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return answered / seconds, cpu / answered * 1e6, failures


async def with_aiohttp(
    target: Callable[[int], tuple[str, int, str]], n: int, workers: int, warm: int, expected: int
) -> tuple[float, float, int]:
    connector = aiohttp.TCPConnector(limit=workers, limit_per_host=0)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)
    ) as session:

        async def send(i: int) -> int:
            host, port, path = target(i)
            async with session.post(f"http://{host}:{port}{path}", data=BODY, headers=headers) as resp:
                await resp.read()
                return resp.status

        return await run(send, n, workers, warm, expected)


async def with_mini(
    target: Callable[[int], tuple[str, int, str]], n: int, workers: int, warm: int, expected: int
) -> tuple[float, float, int]:
    client = MiniClient()

    async def send(i: int) -> int:
        host, port, path = target(i)
        return await client.post(host, port, path, BODY)

    try:
        return await run(send, n, workers, warm, expected)
    finally:
        client.close()


def med(values: list[float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(label: str, results: dict[str, list[tuple[float, float, int]]]) -> None:
    base_rate = statistics.median(r[0] for r in results["aiohttp"])
    base_cpu = statistics.median(r[1] for r in results["aiohttp"])
    print(f"  {label}")
    for name, runs in results.items():
        rates = [r[0] for r in runs]
        cpus = [r[1] for r in runs]
        print(
            f"    {name:8} {med(rates)} requests/s = {statistics.median(rates) / base_rate:.2f}x bare aiohttp; "
            f"CPU {med(cpus)} us/request = {statistics.median(cpus) / base_cpu:.2f}x; "
            f"failures {sum(r[2] for r in runs)}"
        )


async def alternate(
    label: str,
    target: Callable[[int], tuple[str, int, str]],
    n: int,
    workers: int,
    warm: int,
    expected: int,
    rounds: int,
    sink: Callable[[], Any] | None = None,
) -> None:
    clients = {"aiohttp": with_aiohttp, "minimal": with_mini}
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in clients}
    for r in range(rounds):
        order = list(clients) if r % 2 == 0 else list(reversed(clients))
        for name in order:
            stop = sink() if sink is not None else None
            try:
                got = await clients[name](target, n, workers, warm, expected)
            finally:
                if stop is not None:
                    stop()
            results[name].append(got)
            print(f"    round {r + 1} {name}: {got[0]:.0f}/s, {got[1]:.0f} us CPU a request", flush=True)
    report(label, results)


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="dlrhub-http-clients-") as tmp:
        proc, ports, kind = _start(Path(tmp))
        try:
            port = ports[0]
            print(
                f"fast sink ({kind}), {args.requests} POSTs a round, c={args.concurrency}, {args.rounds} rounds",
                flush=True,
            )
            await alternate(
                f"{kind}, c={args.concurrency}",
                lambda i: ("127.0.0.1", port, "/cb"),
                args.requests,
                args.concurrency,
                args.concurrency,
                args.requests,
                args.rounds,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    if not args.fleet:
        return
    n = args.fleet_requests
    answers = [fleet.answer(args.seed, i) for i in range(n)]
    expected = sum(a.kind != "hang" for a in answers)
    ports_box: list[int] = []

    def sink() -> Callable[[], None]:
        fproc, fports = fleet.start_sink(args.seed, 200, False)
        ports_box[:] = fports
        return lambda: fleet.stop_sink(fproc)

    print(
        f"fleet sink (bench/fleet.py), {n} POSTs a round, pool {args.pool}, {args.rounds} rounds", flush=True
    )
    await alternate(
        f"fleet sink, pool {args.pool}",
        lambda i: ("127.0.0.1", ports_box[i % len(ports_box)], f"/cb/{i if i >= 0 else n - i}"),
        n,
        args.pool,
        0,
        expected,
        args.rounds,
        sink,
    )


def _start(workdir: Path) -> tuple[subprocess.Popen[bytes], list[int], str]:
    ports = receivers.free_ports(1)
    proc, kind = receivers.start_sink(workdir, ports)
    return proc, ports, kind


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--fleet", action="store_true", help="also the fleet sink (bench/fleet.py)")
    parser.add_argument("--fleet-requests", type=int, default=10_000)
    parser.add_argument("--pool", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    collector.tune()  # as dlrhub's worker processes run, and bench/dispatch.py does
    fleet._run(amain(args))


if __name__ == "__main__":
    main()
