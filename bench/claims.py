"""What a fair claim costs a row on SQLite, on `bench/fleet.py`'s shape (issue 16, item 3).

A template store holds the fleet's 20,000 pre-queued callbacks (one account, 200 loopback destinations, a path
each); the `2 accounts` case gives every other callback to a second account. Each case runs on a fresh copy:
`claim_due_callbacks` (the store's own method, the dispatcher's quota 64, nothing excluded) is called until the
store is drained, while, as in the fleet, at most `--held` claimed callbacks stay leased (the oldest are recorded
as delivered, outside the measured time). It prints the claim's thread CPU (`time.thread_time`: the claim runs
inline on the calling thread) per claimed row, median of `--rounds`, and rows per claim.

**bare**, measured in the same run and alternated with the sides, is the plain library's claim on the same copy:
one `sqlite3` statement leasing the next `limit` due callbacks in due order (`BARE_CLAIM`: no fairness, no
order within a message, rows left as tuples), with the same records between claims; each side prints its CPU a
row against it.

Each side is a source tree (`--side NAME=SRC`, `SRC` put first on `PYTHONPATH`; default: this tree as `this`); a
round runs every side in turn, each in a fresh process on a fresh copy, so two trees' claims alternate in one run:

    python bench/claims.py --side this=src --side base=/tmp/base-claim/src [--rounds 5]
    python bench/claims.py --mapping --case "claim 256"   # the row mapping alone, the old mapper and the new
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: (name, claim size, accounts)
CASES = (("claim 1,024", 1024, 1), ("claim 256", 256, 1), ("claim 256, 2 accounts", 256, 2))
QUOTA = 64
#: The baseline: the next `limit` due callbacks leased in due order, as plain sqlite3 does it, rows as tuples.
BARE_CLAIM = """
UPDATE callbacks SET lease_until = :until, lease_owner = 'bench'
WHERE rowid IN (SELECT rowid FROM callbacks WHERE state = 'pending' AND due_at <= :now
                AND (lease_until IS NULL OR lease_until < :now) ORDER BY due_at LIMIT :limit)
RETURNING *
"""


async def template(path: Path, n: int, endpoints: int, accounts: int) -> None:
    import fleet  # the side's tree, on sys.path in the worker
    import seed

    targets = [f"http://127.0.0.1:{20000 + i % endpoints}/cb/{i}" for i in range(n)]
    db = await fleet.new_store(path, targets)
    for k in range(1, accounts):
        await db.create_account(seed.account(f"acc_bench{k}", f"bench{k}"), [])
    await db.close()
    if accounts > 1:
        conn = sqlite3.connect(path)
        for k in range(1, accounts):
            conn.execute(
                "UPDATE callbacks SET account_id = ? WHERE rowid % ? = ?", (f"acc_bench{k}", accounts, k)
            )
        conn.commit()
        conn.close()


async def drain(path: Path, limit: int, held: int) -> dict[str, float]:
    """Claim everything in `path`; the claims' thread CPU and rows."""
    from dlrhub import store

    db = store.from_url(f"sqlite:///{path}")
    writer: Any = db  # its `_tx`: the records go through the store's own writer connection
    leased: collections.deque[str] = collections.deque()
    cpu = 0.0
    claimed = claims = 0
    # Records go through the store's own writer, as the dispatcher's do: another connection's write would reset
    # the writer's page cache before every claim.
    await writer._tx(lambda c: c.execute("SELECT count(*), sum(length(body)) FROM callbacks").fetchall())
    while True:
        now = dt.datetime.now(dt.UTC)
        t0 = time.thread_time()
        found = await db.claim_due_callbacks("bench", now, limit, 60.0, quota=QUOTA, exclude=())
        cpu += time.thread_time() - t0
        if not found:
            break
        claims += 1
        claimed += len(found)
        leased.extend(cb.id for cb in found)
        done = [leased.popleft() for _ in range(max(0, len(leased) - held))]
        if done:
            await writer._tx(
                lambda c, done=done: c.executemany(
                    "UPDATE callbacks SET state = 'succeeded', lease_until = NULL WHERE id = ?",
                    [(i,) for i in done],
                )
            )
    await db.close()
    return {"cpu_s": cpu, "rows": claimed, "claims": claims}


def drain_bare(path: Path, limit: int, held: int) -> dict[str, float]:
    """`drain` with BARE_CLAIM on a plain sqlite3 connection (WAL, as the store's)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    leased: collections.deque[str] = collections.deque()
    cpu = 0.0
    claimed = claims = 0
    while True:
        now = time.time()
        t0 = time.thread_time()
        conn.execute("BEGIN IMMEDIATE")
        found = conn.execute(BARE_CLAIM, {"now": now, "until": now + 60.0, "limit": limit}).fetchall()
        conn.execute("COMMIT")
        cpu += time.thread_time() - t0
        if not found:
            break
        claims += 1
        claimed += len(found)
        leased.extend(row[0] for row in found)
        done = [leased.popleft() for _ in range(max(0, len(leased) - held))]
        if done:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "UPDATE callbacks SET state = 'succeeded', lease_until = NULL WHERE id = ?",
                [(i,) for i in done],
            )
            conn.execute("COMMIT")
    conn.close()
    return {"cpu_s": cpu, "rows": claimed, "claims": claims}


def mapping(path: Path, reps: int = 50) -> None:
    """CPU µs a row to map 256 claimed rows into callbacks: `rows.from_rows` (sqlite3.Row, the claims' mapper
    before) against `rows.callbacks_from_values` (tuples), the best of `reps`, in this process."""
    from dlrhub.core import models
    from dlrhub.store import rows

    conn = sqlite3.connect(path)
    query = f"SELECT {', '.join(rows.CALLBACK_COLUMNS)} FROM callbacks LIMIT 256"
    values = conn.execute(query).fetchall()
    conn.row_factory = sqlite3.Row
    named = conn.execute(query).fetchall()
    conn.close()
    for name, run in (
        ("rows.from_rows", lambda: rows.from_rows(models.Callback, named)),
        ("rows.callbacks_from_values", lambda: rows.callbacks_from_values(values)),
    ):
        best = min(timed(run) for _ in range(reps))
        print(f"mapping: {name:<28} {best / len(values) * 1e6:.1f} µs a row")


def timed(run: Any) -> float:
    t0 = time.thread_time()
    run()
    return time.thread_time() - t0


def worker(args: argparse.Namespace) -> None:
    if args.bare:
        result = drain_bare(Path(args.path), args.limit, args.held)
    else:
        result = asyncio.run(drain(Path(args.path), args.limit, args.held))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--side", action="append", default=[], help="NAME=SRC (repeatable; default this=src)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--callbacks", type=int, default=20_000)
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--held", type=int, default=2048, help="claimed callbacks left leased (the backlog)")
    parser.add_argument("--case", action="append", default=[], help="only these cases (by name)")
    parser.add_argument("--mapping", action="store_true", help="only the row mapping, in this process")
    parser.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        worker(args)
        return
    here = Path(__file__).resolve().parent
    sides = dict(s.split("=", 1) for s in args.side) or {"this": str(here.parent / "src")}
    sides = {**sides, "bare": str(here.parent / "src")}
    cases = [c for c in CASES if not args.case or c[0] in args.case]
    with tempfile.TemporaryDirectory() as tmp:
        templates = {}
        for accounts in sorted({c[2] for c in cases}):
            templates[accounts] = Path(tmp) / f"template-{accounts}.db"
            asyncio.run(template(templates[accounts], args.callbacks, args.endpoints, accounts))
        if args.mapping:
            mapping(templates[min(templates)])
            return
        per: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        rows_per_claim: dict[tuple[str, str], float] = {}
        for r in range(args.rounds):
            for name, limit, accounts in cases:
                for side, src in sides.items() if r % 2 == 0 else reversed(sides.items()):
                    copy = Path(tmp) / "run.db"
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{copy}{suffix}").unlink(missing_ok=True)
                    shutil.copy(templates[accounts], copy)
                    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(src).resolve()), str(here)])}
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--_worker",
                            "--path",
                            str(copy),
                            "--limit",
                            str(limit),
                            "--held",
                            str(args.held),
                            *(["--bare"] if side == "bare" else []),
                        ],
                        env=env,
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                    got = json.loads(out)
                    per[(name, side)].append(got["cpu_s"] / got["rows"] * 1e6)
                    rows_per_claim[(name, side)] = got["rows"] / got["claims"]
        print(
            f"{args.callbacks:,} callbacks to {args.endpoints} destinations, {args.rounds} rounds, held {args.held}"
        )
        print(f"{'case':<24} {'side':<8} {'µs/row median (range)':<26} {'rows/claim':<11} CPU against bare")
        for name, _, _ in cases:
            bare = statistics.median(per[(name, "bare")])
            for side in sides:
                xs = per[(name, side)]
                spread = f"{statistics.median(xs):.1f} ({min(xs):.1f}–{max(xs):.1f})"
                ratio = f"{statistics.median(xs) / bare:.2f}x"
                print(f"{name:<24} {side:<8} {spread:<26} {rows_per_claim[(name, side)]:<11.0f} {ratio}")


if __name__ == "__main__":
    main()
