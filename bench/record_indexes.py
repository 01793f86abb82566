"""What each index on `callbacks` costs the record of a delivered callback on SQLite (issue 16, item 3).

A fresh store holds `bench/fleet.py`'s pre-queued callbacks (20,000 to 200 loopback destinations, a path each, one
account); the dispatcher's record step runs over all of them: `INSERT_ATTEMPT` and `FINISH_ATTEMPTS` (pending to
succeeded) in transactions of `--batch` rows, in claim order shuffled within windows of the pool (1,024: answers
come back in any order), with a PASSIVE checkpoint every five transactions (the store's checkpointer's work,
which the dispatcher process pays for too). It prints the CPU per row (`time.process_time`, every thread) of the
schema as migrated, of copies with one index dropped, and of the **bare** copy with none of the partial indexes a
delivered callback leaves (the ratio's baseline), all with the store writer's `temp_store=MEMORY`, and of the
schema as migrated with SQLite's default (the statement journal spilled to a temporary file, the writer's setting
before 2026-12-05): each variant on a fresh copy of the same file, alternated, medians of `--rounds`.

    python bench/record_indexes.py [--callbacks 20000] [--batch 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import orjson

import fleet
from dlrhub.store.sqlite import callbacks, core

#: The partial indexes a callback leaves when it is delivered (state 'pending' or <> 'succeeded').
LEFT_ON_DELIVERY = (
    "callbacks_account_due",
    "callbacks_health",
    "callbacks_endpoint_due",
    "callbacks_undelivered",
    "callbacks_unsettled",
    "callbacks_due",
    "callbacks_order",
)
VARIANTS = {
    "as migrated": "",
    # The writer's statement journal spilled to a temporary file past 64 KB before it kept it in memory.
    "as migrated, temp_store=DEFAULT": core.TEMP_IN_FILES + ";",
    **{f"without {name}": f"DROP INDEX {name};" for name in LEFT_ON_DELIVERY},
    "bare (none of them)": "".join(f"DROP INDEX {name};" for name in LEFT_ON_DELIVERY),
}
POOL = 1024


async def template(path: Path, n: int) -> None:
    targets = [f"http://127.0.0.1:{20000 + i % 200}/cb/{i}" for i in range(n)]
    db = await fleet.new_store(path, targets)
    await db.close()


def record_all(path: Path, ddl: str, batch: int) -> float:
    """CPU µs a row to record every callback of the store at `path` as delivered, after running `ddl`."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "wal_autocheckpoint=0"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(core.TEMP_IN_MEMORY)  # as the store's writer
    conn.executescript(ddl)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ids = [row[0] for row in conn.execute("SELECT id FROM callbacks ORDER BY rowid")]
    shuffle = random.Random(1)
    order: list[str] = []
    for start in range(0, len(ids), POOL):
        window = ids[start : start + POOL]
        shuffle.shuffle(window)
        order += window
    now = time.time()
    t0 = time.process_time()
    for k, start in enumerate(range(0, len(order), batch)):
        chunk = order[start : start + batch]
        attempts = [(i, 1, now, 12.0, "ok", 200, "ok", "", None) for i in chunk]
        finished = orjson.dumps([(i, 1, "ok", 200, "succeeded", None) for i in chunk]).decode()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(callbacks.INSERT_ATTEMPT, attempts)
        conn.execute(callbacks.FINISH_ATTEMPTS, {"batch": finished, "now": now})
        conn.execute("COMMIT")
        if k % 5 == 4:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    cpu = time.process_time() - t0
    conn.close()
    return cpu / len(order) * 1e6


def measure(workdir: Path, rounds: int, batch: int) -> dict[str, list[float]]:
    """Each variant's CPU µs a row, round by round, each on a fresh copy of the template."""
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, ddl in VARIANTS.items():
            path = workdir / "run.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            shutil.copy(workdir / "template.sqlite3", path)
            results[name].append(record_all(path, ddl, batch))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callbacks", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dlrhub-record-"))
    try:
        asyncio.run(template(workdir / "template.sqlite3", args.callbacks))
        results = measure(workdir, args.rounds, args.batch)
    finally:
        shutil.rmtree(workdir)
    bare = statistics.median(results["bare (none of them)"])
    print(
        f"record of a delivered callback, SQLite: {args.callbacks} callbacks, {args.batch} a transaction, "
        f"{args.rounds} rounds ({dt.datetime.now(dt.UTC):%Y-%m-%d})"
    )
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"  {name:32s} {median:6.1f} µs a row ({min(values):.1f}-{max(values):.1f})"
            f"  = {median / bare:4.2f} x bare, {median - bare:+6.1f} µs"
        )


if __name__ == "__main__":
    main()
