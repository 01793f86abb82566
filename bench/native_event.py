"""One native status event at a time through the service (`services.events.ingest_external`, `POST /v1/events`'s
path without HTTP), so its time is its round trips to the store and its own work.

Each message gets two events: its first (`accepted`, which creates it) and `success` (one callback, NOTIFY).
Prints, for each kind, the wall time per event (median, p90) and the CPU per event of this process and, on
PostgreSQL, of the database's backends (Linux `/proc`), and the ratio against the plain driver writing one row in
a transaction of its own, alternated with the events in the same run (`store_bare.Bare`). Run it against each tree
(`PYTHONPATH=<tree>/src`) to compare them.

    python bench/native_event.py --database-url postgresql://postgres@127.0.0.1:5432/<fresh db> [--messages 500]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from decimal import Decimal

import store_bare
from dlrhub import settings
from dlrhub.core import models
from dlrhub.services import accounts as accounts_
from dlrhub.services import events
from dlrhub.services import hub as hub_


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
    pids = await store_bare.backends(db)
    bare = store_bare.Bare(url)
    await bare.open()
    await bare.write(1)
    bare_walls: list[float] = []
    kinds = (models.EventKind.ACCEPTED, models.EventKind.SUCCESS)
    walls: dict[models.EventKind, list[float]] = {k: [] for k in kinds}
    cpu = {k: [0.0, 0.0] for k in kinds}
    for n in range(messages):
        for kind in kinds:
            mine, theirs, started = time.process_time(), store_bare.cpu_s(pids), time.perf_counter()
            await events.ingest_external(hub, _event(account.id, n, kind))
            walls[kind].append((time.perf_counter() - started) * 1000)
            cpu[kind][0] += time.process_time() - mine
            cpu[kind][1] += store_bare.cpu_s(pids) - theirs
            started = time.perf_counter()
            await bare.write(1)
            bare_walls.append((time.perf_counter() - started) * 1000)
    await hub.close()
    await bare.close()
    floor = statistics.median(bare_walls)
    print(f"bare driver, one row a transaction: {floor:5.2f} ms median (the floor)")
    for kind in kinds:
        w = sorted(walls[kind])
        print(
            f"{kind.value:8}: {statistics.median(w):5.2f} ms median, {w[int(len(w) * 0.9)]:5.2f} ms p90 per event;"
            f" CPU per event {cpu[kind][0] / messages * 1e6:4.0f} us here,"
            f" {cpu[kind][1] / messages * 1e6:4.0f} us in the database's backends;"
            f" bare / dlrhub {floor / statistics.median(w):.0%}"
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
