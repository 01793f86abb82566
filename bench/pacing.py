"""What a rate limit costs the dispatcher: N callbacks to one URL from SQLite, with no limit and with a limit set
above what one process delivers (10,000/s, burst 10,000: never binding, so every difference is the leasing), beside
the bare aiohttp client, alternated for `--rounds` rounds, one process, default settings (ADR 0008).

The limited rounds also count the store writes that leased tokens (`take_endpoint_tokens`) per callback.

    python bench/pacing.py [--callbacks 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
from pathlib import Path

import dispatch as bench
from dlrhub import store
from dlrhub.core import control, token_bucket, urls

RATE, BURST = 10_000.0, 10_000


async def limited_round(workdir: Path, url: str, n: int, leases: list[int]) -> bench.Run:
    """`bench.dispatch` with a limit on the URL's host, counting the leases."""
    plain = bench.new_store
    count = 0

    async def new_store(path: Path) -> store.Store:
        db = await plain(path)
        limit = control.EndpointLimit(urls.endpoint_key(url), RATE, BURST, "bench", dt.datetime.now(dt.UTC))
        await db.put_endpoint_limit(limit)
        take = db.take_endpoint_tokens

        async def counted(endpoint: str, want: int, now: float) -> token_bucket.Taken | None:
            nonlocal count
            count += 1
            return await take(endpoint, want, now)

        db.take_endpoint_tokens = counted  # type: ignore[method-assign]
        return db

    bench.new_store = new_store
    try:
        run = await bench.dispatch(workdir, url, n, bench.bench_settings("sqlite:///unused"))
    finally:
        bench.new_store = plain
    leases.append(count)
    return run


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="dlrhub-bench-") as tmp:
        workdir = Path(tmp)
        sink, ports, kind = bench.start_sink(workdir)
        url = f"http://127.0.0.1:{ports[0]}/hook"
        config = bench.bench_settings("sqlite:///unused")
        runs: dict[str, list[bench.Run]] = {"bare": [], "unlimited": [], "limited": []}
        leases: list[int] = []
        try:
            for r in range(args.rounds):
                for side in list(runs) if r % 2 == 0 else reversed(runs):
                    if side == "bare":
                        runs[side].append(await bench.bare(url, args.callbacks, config.dispatch_concurrency))
                    elif side == "unlimited":
                        runs[side].append(await bench.dispatch(workdir, url, args.callbacks, config))
                    else:
                        runs[side].append(await limited_round(workdir, url, args.callbacks, leases))
        finally:
            sink.terminate()
            sink.wait(timeout=10)
    print(
        f"receiver: {kind}; one process, default settings; {args.callbacks} callbacks, {args.rounds} rounds each"
    )
    base = statistics.median(r.rate for r in runs["bare"])
    labels = {
        "bare": "bare aiohttp client (baseline)",
        "unlimited": "dispatch, no limit",
        "limited": f"dispatch, limit {RATE:.0f}/s (not binding)",
    }
    for side, label in labels.items():
        rates = [r.rate for r in runs[side]]
        rate = statistics.median(rates)
        print(
            f"  {label}: median {rate:6.0f}/s (range {min(rates):.0f}-{max(rates):.0f}) = {rate / base:.0%} of the"
            f" bare client; CPU {statistics.median(r.cpu_us for r in runs[side]):.0f} µs per callback"
        )
    print(f"  leases (store writes) per callback, limited: {statistics.median(leases) / args.callbacks:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callbacks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    bench._run(amain(parser.parse_args()))


if __name__ == "__main__":
    main()
