"""Retention: one pruning round deletes, kind by kind and in small chunks, the rows the settings no longer keep.

Where the store partitions a table by time (PostgreSQL: attempts, events), the round first creates the partitions
of the coming days, and drops a kind's partitions that are wholly past before deleting the rest in chunks. Events
go with their message or journey: their days are dropped last, once messages and journeys have been pruned, at
`events_cutoff` (the store keeps the rows of those still kept). Events that belong to nothing kept (no message,
no journey stored) go by age then too, a day (EVENTS_MARGIN) past that cutoff, as their day's partition would.

The order matters: callbacks (with their attempts) go before messages, which may only go once their callbacks
have, and messages before the journeys they belong to, so one round can remove a whole message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import Awaitable, Callable

from dlrhub import settings as settings_
from dlrhub import store
from dlrhub.services import hub as hub_

#: Seconds between two chunks at least, so other writers (the SQLite writer is one) get their turn.
PAUSE_S = 0.05
#: And at least this many times the last chunk's own time: pruning takes at most 1 / (1 + DUTY) of the store's
#: time (a twentieth), however slow a chunk is on a big file. A chunk's cost goes beyond its own time (on SQLite
#: its pages go through the WAL and the checkpointer): at a tenth, a store of 10,000,000 rows pruning a backlog
#: ingested, dispatched and pulled at 80-92 % of an empty store's rate, at a twentieth 92-104 %
#: (docs/benchmarks.md, "flat").
DUTY = 19.0

#: Waits between two chunks, given how long the last chunk took (seconds).
Pause = Callable[[float], Awaitable[None]]
#: The prune method of one kind: `(store, before, limit)` -> rows deleted by table.
_Prune = Callable[[store.Retention, dt.datetime, int], Awaitable[store.Pruned]]


def pause_after(took_s: float) -> float:
    """How long to wait after a chunk that took `took_s` seconds."""
    return max(PAUSE_S, DUTY * took_s)


async def pause_briefly(took_s: float) -> None:
    """The default pause between two chunks: `pause_after(took_s)` seconds."""
    await asyncio.sleep(pause_after(took_s))


@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    """One kind of row retention deletes: its table, the setting that keeps it, and the store's method."""

    table: str
    setting: str
    prune: _Prune


#: In the order a round prunes them (see the module docstring).
KINDS = (
    Kind("callbacks", "retain_callbacks_days", lambda db, before, n: db.prune_callbacks(before, n)),
    Kind("attempts", "retain_attempts_days", lambda db, before, n: db.prune_attempts(before, n)),
    Kind("messages", "retain_messages_days", lambda db, before, n: db.prune_messages(before, n)),
    Kind("journeys", "retain_messages_days", lambda db, before, n: db.prune_journeys(before, n)),
    Kind("request_ids", "retain_request_ids_days", lambda db, before, n: db.prune_request_ids(before, n)),
    Kind("orphan_receipts", "retain_orphans_days", lambda db, before, n: db.prune_orphans(before, n)),
    Kind("audit_log", "retain_audit_days", lambda db, before, n: db.prune_audit(before, n)),
)


#: Events without owner (`prune_events`) go this long after `events_cutoff`: when their day's partition would
#: (PostgreSQL's `partitions.CLOCK_MARGIN`, the margin for the hosts' clocks), on both backends.
EVENTS_MARGIN = dt.timedelta(days=1)
#: Events that belong to nothing kept, pruned by age once the days of events are dropped (no setting of its own:
#: its cutoff is `events_cutoff`'s, less EVENTS_MARGIN).
OWNERLESS_EVENTS = Kind("events", "", lambda db, before, n: db.prune_events(before, n))


def cutoffs(config: settings_.Settings, now: dt.datetime) -> dict[str, dt.datetime]:
    """Table -> the time before which its rows go; a kind kept for ever (0 days) is left out."""
    found = {}
    for kind in KINDS:
        days = getattr(config, kind.setting)
        if days > 0:
            found[kind.table] = now - dt.timedelta(days=days)
    return found


def events_cutoff(config: settings_.Settings, now: dt.datetime) -> dt.datetime | None:
    """The time before which a day of events may be dropped: a message is kept `retain_messages_days` and while it
    has callbacks, which are kept `retain_callbacks_days`, so the longer of the two. None (kept) when either is 0:
    a message kept for ever (or with its callbacks) keeps its events."""
    days = (config.retain_messages_days, config.retain_callbacks_days)
    return None if 0 in days else now - dt.timedelta(days=max(days))


async def prune_kind(
    db: store.Retention,
    kind: Kind,
    before: dt.datetime,
    *,
    limit: int,
    pause: Pause = pause_briefly,
    stop: asyncio.Event | None = None,
) -> tuple[store.Pruned, int]:
    """Delete `kind`'s rows older than `before`, `limit` rows of its table per chunk, pausing between chunks,
    until a chunk is not full (or `stop` is set). Returns the rows deleted by table and the chunks it took."""
    total: store.Pruned = {}
    chunks = 0
    while True:
        started = time.monotonic()
        counts = await kind.prune(db, before, limit)
        took = time.monotonic() - started
        chunks += 1
        for table, n in counts.items():
            total[table] = total.get(table, 0) + n
        if counts.get(kind.table, 0) < limit or (stop is not None and stop.is_set()):
            return total, chunks
        await pause(took)


async def prune(
    hub: hub_.Hub, *, pause: Pause = pause_briefly, stop: asyncio.Event | None = None
) -> store.Pruned:
    """One round: every kind the settings limit, at the hub's `now`. Returns the rows deleted by table (every
    table retention touches, 0 for none) and counts them in `dlrhub_pruned_rows_total{kind}`."""
    db: store.Retention = hub.store
    now = hub.clock()
    before = cutoffs(hub.settings, now)
    total: store.Pruned = dict.fromkeys(sorted({k.table for k in KINDS} | {"events"}), 0)
    await db.prepare_partitions(now)
    for kind in KINDS:
        if kind.table not in before or (stop is not None and stop.is_set()):
            continue
        dropped = await db.drop_partitions(kind.table, before[kind.table])
        counts, _ = await prune_kind(
            db, kind, before[kind.table], limit=hub.settings.prune_chunk_rows, pause=pause, stop=stop
        )
        for table, n in dropped.items():
            counts[table] = counts.get(table, 0) + n
        for table, n in counts.items():
            total[table] += n
            if n:
                hub.metrics.pruned.labels(kind=table).inc(n)
    events_before = events_cutoff(hub.settings, now)
    if events_before is not None and not (stop is not None and stop.is_set()):
        counts = await db.drop_partitions("events", events_before)
        ownerless, _ = await prune_kind(
            db,
            OWNERLESS_EVENTS,
            events_before - EVENTS_MARGIN,
            limit=hub.settings.prune_chunk_rows,
            pause=pause,
            stop=stop,
        )
        for table, n in [*counts.items(), *ownerless.items()]:
            total[table] += n
            if n:
                hub.metrics.pruned.labels(kind=table).inc(n)
    return total
