"""One native status event at a time through the service (`services.events.ingest_external`, `POST /v1/events`'s
path without HTTP), so its time is its round trips to the store and its own work.

Each message gets two events: its first (`accepted`, which creates it) and `success` (one callback, NOTIFY).
Prints, for each kind, the wall time per event (median, p90) and the CPU per event of this process and, on
PostgreSQL, of the database's backends (Linux `/proc`). Run it against each tree (`PYTHONPATH=<tree>/src`) to
compare them.

    python bench/native_event.py --database-url postgresql://postgres@127.0.0.1:5432/<fresh db> [--messages 500]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
from decimal import Decimal
from pathlib import Path

from dlrhub import settings, store
from dlrhub.core import models
from dlrhub.services import accounts as accounts_
from dlrhub.services import events
from dlrhub.services import hub as hub_


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def _backends(db: store.Store) -> list[int]:
    pool = getattr(db, "pool", None)
    if pool is None or not str(getattr(db, "url", "")).startswith("postgres"):
        return []
    rows = await (await pool()).fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return [int(r["pid"]) for r in rows]


def _event(account_id: str, n: int, kind: models.EventKind) -> events.ExternalEvent:
    return events.ExternalEvent(
        event_id=f"e{n}:{kind.value}",
        message_id=f"m{n}",
        account_id=account_id,
        kind=kind,
        type_id=25,
        dialect=models.Dialect.NATIVE,
        occurred_at=dt.datetime.now(dt.UTC),
        recipient="84900000001",
        callback_url="https://customer.example/cb",
    )


async def run(url: str, messages: int) -> None:
    hub = hub_.Hub.open(settings.Settings(database_url=url))
    db = hub.store
    await db.migrate()
    account = (await accounts_.create(hub, "bench", balance=Decimal("1e12"))).account
    for kind in (models.EventKind.ACCEPTED, models.EventKind.SUCCESS):  # warm: caches, prepared statements
        await events.ingest_external(hub, _event(account.id, -1, kind))
    pids = await _backends(db)
    kinds = (models.EventKind.ACCEPTED, models.EventKind.SUCCESS)
    walls: dict[models.EventKind, list[float]] = {k: [] for k in kinds}
    cpu = {k: [0.0, 0.0] for k in kinds}
    for n in range(messages):
        for kind in kinds:
            mine, theirs, started = time.process_time(), _cpu(pids), time.perf_counter()
            await events.ingest_external(hub, _event(account.id, n, kind))
            walls[kind].append((time.perf_counter() - started) * 1000)
            cpu[kind][0] += time.process_time() - mine
            cpu[kind][1] += _cpu(pids) - theirs
    await hub.close()
    for kind in kinds:
        w = sorted(walls[kind])
        print(
            f"{kind.value:8}: {statistics.median(w):5.2f} ms median, {w[int(len(w) * 0.9)]:5.2f} ms p90 per event;"
            f" CPU per event {cpu[kind][0] / messages * 1e6:4.0f} us here,"
            f" {cpu[kind][1] / messages * 1e6:4.0f} us in the database's backends"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a fresh database (migrated here)")
    parser.add_argument("--messages", type=int, default=500, help="messages, two events each (default 500)")
    args = parser.parse_args()
    if not 0 < args.messages <= 100_000:
        parser.error("--messages must be in (0, 100000]")
    asyncio.run(run(args.database_url, args.messages))


if __name__ == "__main__":
    main()
