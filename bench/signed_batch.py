"""Store alone: a group commit of signed NXCloud sends, with their signatures taken before it or in it.

"before" takes each send's signature through `take_signature` (one statement for the group on PostgreSQL), then
writes the batch (`accept_messages`), as a send did before its signature went in its batch; "after" writes the
batch with its signatures (`Accept.signature`). The two alternate batch by batch on one database (migrated here).
Prints, for each, the wall time per batch (median, p90) and the CPU per send of this process and, on PostgreSQL,
of the database's backends (Linux `/proc`), and the ratio against the plain driver writing as many rows in one
transaction, alternated with the batches in the same run (`store_bare.Bare`).

    python bench/signed_batch.py --database-url postgresql://postgres@127.0.0.1:5432/<fresh db> [--batches 300]
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
from dlrhub.core import ids, models
from dlrhub.dialects import registry
from dlrhub.planning import accepts
from dlrhub.planning import events as planning
from dlrhub.services import accounts as accounts_
from dlrhub.services import hub as hub_

PRICE = Decimal("0.0125")


def _batch(account: models.Account, size: int, signed: bool, now: dt.datetime) -> list[accepts.Accept]:
    out = []
    for _ in range(size):
        mid = registry.new_message_id(models.Dialect.NXCLOUD, now)
        message = models.Message(
            id=mid, account_id=account.id, dialect=models.Dialect.NXCLOUD, type_id=25, recipient="84901888484",
            state=models.MessageState.ACCEPTED, seq=0, created_at=now, updated_at=now, price=PRICE, currency="USD",
            template_id="100001", template_data={"name": "Nguyen Van An"},
        )  # fmt: skip
        event = models.StatusEvent(
            id=f"{mid}:accepted", kind=models.EventKind.ACCEPTED, occurred_at=now, message_id=mid
        )
        signature = accepts.Signature(ids.token(), now + dt.timedelta(minutes=2)) if signed else None
        inputs = planning.RenderInputs(account)
        out.append(accepts.Accept(message, event, inputs, PRICE, channel_due_at=now, signature=signature))
    return out


async def run(url: str, batches: int, size: int) -> None:
    hub = hub_.Hub.open(settings.Settings(database_url=url))
    db = hub.store
    await db.migrate()
    account = (await accounts_.create(hub, "bench", balance=Decimal("1e12"))).account
    await db.accept_messages(_batch(account, size, True, dt.datetime.now(dt.UTC)), dt.datetime.now(dt.UTC))
    pids = await store_bare.backends(db)
    bare = store_bare.Bare(url)
    await bare.open()
    await bare.write(size)
    bare_walls: list[float] = []
    walls: dict[str, list[float]] = {"before": [], "after": []}
    cpu = {"before": [0.0, 0.0], "after": [0.0, 0.0]}
    for i in range(2 * batches):
        mode = "before" if i % 2 == 0 else "after"
        now = dt.datetime.now(dt.UTC)
        items = _batch(account, size, mode == "after", now)
        mine, theirs, started = time.process_time(), store_bare.cpu_s(pids), time.perf_counter()
        if mode == "before":
            until = now + dt.timedelta(minutes=2)
            taken = await asyncio.gather(*(db.take_signature(ids.token(), until, now) for _ in items))
            assert all(taken)
        results = await db.accept_messages(items, now)
        walls[mode].append((time.perf_counter() - started) * 1000)
        cpu[mode][0] += time.process_time() - mine
        cpu[mode][1] += store_bare.cpu_s(pids) - theirs
        if mode == "after":
            started = time.perf_counter()
            await bare.write(size)
            bare_walls.append((time.perf_counter() - started) * 1000)
        assert all(isinstance(r, planning.IngestResult) for r in results), results
    await hub.close()
    await bare.close()
    floor = statistics.median(bare_walls)
    print(f"bare driver, {size} rows a transaction: {floor:6.2f} ms median (the floor)")
    sends = batches * size
    for mode in ("before", "after"):
        w = sorted(walls[mode])
        print(
            f"{mode:6}: {statistics.median(w):6.2f} ms median, {w[int(len(w) * 0.9)]:6.2f} ms p90 per batch of"
            f" {size}; CPU per send {cpu[mode][0] / sends * 1e6:4.0f} us here,"
            f" {cpu[mode][1] / sends * 1e6:4.0f} us in the database's backends;"
            f" bare / dlrhub {floor / statistics.median(w):.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a fresh database (migrated here)")
    parser.add_argument("--batches", type=int, default=300, help="batches of each kind (default 300)")
    parser.add_argument("--size", type=int, default=16, help="sends per batch (default 16)")
    args = parser.parse_args()
    if not 0 < args.batches <= 100_000 or not 0 < args.size <= 256:
        parser.error("--batches must be in (0, 100000], --size in (0, 256]")
    asyncio.run(run(args.database_url, args.batches, args.size))


if __name__ == "__main__":
    main()
