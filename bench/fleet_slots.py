"""Where `bench/fleet.py`'s slots go: one dispatcher run of the fleet (default settings), sampled every 50 ms.

It runs `fleet.run_dlrhub` once, and beside it, in this bench only:

- a task on the dispatcher's loop that samples, every `--every` seconds: requests in the sender's slots, attempts
  waiting for one, callbacks in flight and waiting in the lanes, callbacks held (claimed, not recorded), answers
  waiting for the flush, destinations in flight and backlogged, and the loop's lag (the sleep's overshoot);
- wrappers timing the store's claims and attempt records (wall and this thread's CPU time) and each HTTP exchange
  (`http1.Pool.request`), compared with the sink's drawn latency of that request;
- the loop thread's time on a CPU, runnable but waiting for one, and idle (`/proc/thread-self/schedstat`).

Before it, in the same run, a bare aiohttp client makes the same requests (`fleet.run_bare`): dlrhub's time is
printed against it, as well as against the ideal. So a gap to the ideal can be told apart: slots idle (few in flight: claims, flushes, lanes), or slots held longer
than their answers (exchange - drawn latency; the sink's own share is `--bare`'s, a loop that does nothing else
sending the same requests on dlrhub's HTTP client).

    python bench/fleet_slots.py [--callbacks 20000] [--seed 16] [--samples] [--bare]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import fleet
from dlrhub import settings
from dlrhub.adapters import collector, http1
from dlrhub.workers import dispatcher


@dataclasses.dataclass
class Probe:
    """What the wrappers and the sampler saw."""

    dispatcher: Any = None
    #: (seconds from the start, name, wall s, thread CPU s, rows)
    writes: list[tuple[float, str, float, float, int]] = dataclasses.field(default_factory=list)
    #: (callback index, exchange s)
    exchanges: list[tuple[int, float]] = dataclasses.field(default_factory=list)
    samples: list[dict[str, float]] = dataclasses.field(default_factory=list)
    #: `schedstat()` and `time.perf_counter()` when the dispatcher was made (the store's setup is done by then).
    start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: Set once the dispatcher is made.
    ready: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


def schedstat() -> tuple[float, float]:
    """This thread's time on a CPU and runnable waiting for one (s)."""
    ran, waited, _ = Path("/proc/thread-self/schedstat").read_text().split()
    return int(ran) / 1e9, int(waited) / 1e9


def instrument(probe: Probe) -> None:
    """Wrap the dispatcher's construction (to reach it and its store) and the HTTP client's request."""
    init = dispatcher.Dispatcher.__init__
    start = time.perf_counter()

    def wrapped_init(self: dispatcher.Dispatcher, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        probe.dispatcher = self
        probe.start = (*schedstat(), time.perf_counter())
        probe.ready.set()
        db = self.store
        for name in ("claim_due_callbacks", "claim_endpoint_callbacks", "record_attempts"):
            setattr(db, name, timed(name, getattr(db, name)))

    def timed(name: str, method: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.thread_time()
            got = await method(*args, **kwargs)
            rows = len(got) if isinstance(got, list) else len(args[0])
            probe.writes.append((t - start, name, time.perf_counter() - t, time.thread_time() - c, rows))
            return got

        return call

    request = http1.Pool.request

    async def timed_request(self: http1.Pool, dest: Any, method: str, target: str, *args: Any) -> Any:
        t = time.perf_counter()
        try:
            return await request(self, dest, method, target, *args)
        finally:
            probe.exchanges.append((int(target.rsplit("/", 1)[1]), time.perf_counter() - t))

    dispatcher.Dispatcher.__init__ = wrapped_init  # type: ignore[method-assign]
    http1.Pool.request = timed_request  # type: ignore[method-assign,assignment]


async def sample(probe: Probe, every_s: float, stop: asyncio.Event) -> None:
    await probe.ready.wait()
    d = probe.dispatcher
    slots = d.sender._slots
    pool = d.sender.config.pool_size
    t0 = last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(every_s)
        now = time.perf_counter()
        probe.samples.append(
            {
                "t": now - t0,
                "in HTTP": pool - slots._free,
                "parked": sum(not w.done() for w in slots._waiters),
                "lane load": sum(d.lanes.load.values()),
                "lane waiting": sum(len(q) for q in d.lanes.queues.values()),
                "held": len(d.holding),
                "unrecorded": len(d.recorder.results),
                "lag ms": (now - last - every_s) * 1000,
                "destinations": len(d.lanes.load),
                "backlogged": len(d.lanes.backlogged),
            }
        )
        last = now


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"mean {statistics.fmean(ordered):.1f}, median {statistics.median(ordered):.1f}, "
        f"p90 {ordered[len(ordered) * 9 // 10]:.1f}, max {ordered[-1]:.1f}"
    )


async def bare(n: int, seed: int, pool: int, timeout_s: float) -> None:
    """The same requests on dlrhub's HTTP client from a loop that does nothing else: the sink's own share."""
    answers = [fleet.answer(seed, i) for i in range(n)]
    expected = sum(a.kind != "hang" for a in answers)
    proc, ports = fleet.start_sink(seed, 200, False)
    client = http1.Pool(lambda host, port: asyncio.sleep(0, [host]), None, 1024, pool)
    queue = iter(range(n))
    over: list[float] = []
    done = asyncio.Event()

    async def worker() -> None:
        for i in queue:
            dest = http1.Destination.of("http", "127.0.0.1", ports[i % len(ports)])
            t = time.perf_counter()
            try:
                await client.request(dest, "POST", f"/cb/{i}", (), fleet.BODY, timeout_s)
            except OSError:  # a hang's timeout, or the sink stopping
                continue
            over.append((time.perf_counter() - t - answers[i].latency_s) * 1000)
            if len(over) >= expected:
                done.set()

    t0, c0 = time.perf_counter(), time.process_time()
    workers = [asyncio.create_task(worker()) for _ in range(pool)]
    await done.wait()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    ideal_s, _ = fleet.ideal(answers, [i % 200 for i in range(n)], pool, timeout_s)
    print(
        f"bare http1 client: {ideal_s / seconds:.0%} of the ideal, {cpu / n * 1e6:.0f} us CPU a request; "
        f"exchange - drawn latency (ms): {spread(over)}"
    )
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    fleet.stop_sink(proc)
    await client.close()


async def amain(args: argparse.Namespace) -> None:
    n, seed = args.callbacks, args.seed
    config = settings.Settings(database_url="sqlite:///unused", callback_allow=fleet.LOOPBACK)
    timeout_s, pool = config.callback_timeout_s, config.dispatch_concurrency
    if args.bare:
        await bare(n, seed, pool, timeout_s)
    # The plain library limit, in the same run before dlrhub's: a bare aiohttp client making the same requests.
    proc, ports = fleet.start_sink(seed, 200, False)
    try:
        base = await fleet.run_bare(ports, n, seed, pool, timeout_s, False)
    finally:
        fleet.stop_sink(proc)
    probe = Probe()
    instrument(probe)
    stop = asyncio.Event()
    with tempfile.TemporaryDirectory(prefix="dlrhub-fleet-slots-") as tmp:
        proc, ports = fleet.start_sink(seed, 200, False)
        sampler = asyncio.create_task(sample(probe, args.every, stop))
        try:
            run = await fleet.run_dlrhub(Path(tmp), proc, ports, n, seed, config, False)
        finally:
            fleet.stop_sink(proc)
            stop.set()
            await sampler
        ran0, waited0, t0 = probe.start
        wall = time.perf_counter() - t0
        ran, waited = (a - b for a, b in zip(schedstat(), (ran0, waited0), strict=True))
    answers = [fleet.answer(seed, i) for i in range(n)]
    ideal_s, _ = fleet.ideal(answers, [i % 200 for i in range(n)], pool, timeout_s)
    print(
        f"dlrhub: {run.seconds:.2f} s = {ideal_s / run.seconds:.0%} of the ideal ({ideal_s:.2f} s); "
        f"{run.cpu_s / n * 1e6:.0f} us CPU a callback, {run.cpu_s / run.seconds:.2f} of a core; "
        f"{base.seconds / run.seconds:.0%} of the bare aiohttp client ({ideal_s / base.seconds:.0%} of the ideal, "
        f"{base.cpu_s / n * 1e6:.0f} us CPU a request)"
    )
    print(
        f"loop thread over {wall:.2f} s (the run and the dispatcher's drain): on a CPU {ran:.2f} s, runnable but waiting "
        f"{waited:.2f} s, idle {wall - ran - waited:.2f} s"
    )
    steady = [s for s in probe.samples if 0.3 < s["t"] < run.seconds - 1.0] or probe.samples
    for key in [k for k in steady[0] if k != "t"]:
        print(f"  {key:>13}: {spread([s[key] for s in steady])}")
    firsts: dict[int, float] = {}
    for i, seconds in probe.exchanges:
        firsts.setdefault(i, seconds)
    over = [(s - answers[i].latency_s) * 1000 for i, s in firsts.items() if answers[i].kind != "hang"]
    print(f"exchange - drawn latency, answered first attempts (ms): {spread(over)}")
    print(
        f"slot-seconds: pool x run {pool * run.seconds:.0f}, in exchanges {sum(s for _, s in probe.exchanges):.0f},"
        f" drawn {sum(timeout_s if a.kind == 'hang' else a.latency_s for a in answers):.0f} (a hang at the timeout)"
    )
    for name in ("claim_due_callbacks", "claim_endpoint_callbacks", "record_attempts"):
        writes = [w for w in probe.writes if w[1] == name]
        if writes:
            rows = sum(w[4] for w in writes)
            print(
                f"{name}: {len(writes)} transactions, {rows / len(writes):.0f} rows each; wall ms "
                f"{spread([w[2] * 1000 for w in writes])}; CPU {sum(w[3] for w in writes) / max(rows, 1) * 1e6:.0f}"
                f" us a row, {sum(w[2] for w in writes):.2f} s of the loop in all"
            )
    if args.samples:
        keys = list(probe.samples[0])
        print(" ".join(f"{k:>12}" for k in keys))
        for s in probe.samples:
            print(" ".join(f"{s[k]:12.1f}" for k in keys))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callbacks", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--every", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--samples", action="store_true", help="print every sample too")
    parser.add_argument("--bare", action="store_true", help="first, the same requests on a bare http1 client")
    args = parser.parse_args()
    if not Path("/proc/thread-self/schedstat").exists():
        sys.exit("needs Linux's /proc/thread-self/schedstat")
    collector.tune()
    fleet._run(amain(args))


if __name__ == "__main__":
    main()
