"""Time partitions on PostgreSQL (docs/adr/0009): `attempts` by UTC day of `started_at`, `events` of `recorded_at`.

Each day has its partition `<table>_pYYYYMMDD`, created a week ahead; `<table>_legacy` holds the rows from before
the table's migration (0025, 0029: every time up to the end of that day), `<table>_default` any row no partition
covers. Retention drops a partition once every row in it is past, and deletes in chunks only in the two that cover
other times. An event goes with its message or journey, not by age: when a day of events is dropped, the rows
whose message or journey is still kept are moved to `events_default` first, in the drop's transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

import asyncpg

from dlrhub.store.postgres import core

log = logging.getLogger("dlrhub.prune")


@dataclasses.dataclass(frozen=True, slots=True)
class Owner:
    """Rows of a partitioned table that belong to a row of another table, and live as long as it does."""

    #: The column naming the owner (`events.message_id`).
    column: str
    #: The owners still kept that may have rows in the partition `{part}`: made before `$1` (the partition's upper
    #: bound plus CLOCK_MARGIN), with a row in it. Few: the owners of a day past retention have gone already.
    kept: str


@dataclasses.dataclass(frozen=True, slots=True)
class Table:
    """How a table is partitioned and what dropping a partition keeps."""

    #: The partition key.
    key: str
    #: The rows of a dropped partition whose owner is still kept are moved to the default partition first.
    owners: tuple[Owner, ...] = ()

    @property
    def grace(self) -> dt.timedelta:
        """How long before the cutoff a partition must end to go: with owners, CLOCK_MARGIN, so that the owners
        that may have rows in it (made up to CLOCK_MARGIN after its end) are past the cutoff too, and pruned."""
        return CLOCK_MARGIN if self.owners else dt.timedelta(0)


#: A row is recorded no earlier than this before its owner (a message, a journey, a callback) was made, by their
#: hosts' clocks, which may disagree. Reads bound by an owner's creation time look from this much before it.
CLOCK_MARGIN = dt.timedelta(days=1)
#: Partitioned table -> how.
PARTITIONED = {
    "attempts": Table("started_at"),
    "events": Table(
        "recorded_at",
        (
            Owner(
                "message_id",
                "SELECT m.id FROM messages AS m WHERE m.created_at < $1"
                " AND EXISTS (SELECT FROM {part} AS e WHERE e.message_id = m.id)",
            ),
            Owner(
                "journey_id",
                "SELECT j.journey_id FROM journeys AS j WHERE j.created_at < $1"
                " AND EXISTS (SELECT FROM {part} AS e WHERE e.journey_id = j.journey_id)",
            ),
        ),
    ),
}
#: Days ahead of today that get their partition before any row needs it.
DAYS_AHEAD = 7
#: One pruner at a time changes partitions; the others skip (pg_try_advisory_lock).
LOCK_KEY = 7_210_025
#: Deleting owners (`prune_messages`, `prune_journeys`) takes this lock shared, each chunk in its transaction; a
#: drop that moves the rows of owners still kept takes it alone, so that no owner it found kept is deleted (leaving
#: the moved rows behind in the default partition) before the drop commits.
OWNERS_LOCK_KEY = 7_210_029
#: A DROP or CREATE waits this long at most for the parent's lock, then gives up till the next round, so that it
#: never holds the dispatcher's inserts queued behind it for long.
LOCK_TIMEOUT = "2s"
#: The partitions of a table, with their bounds as PostgreSQL prints them.
LIST_PARTITIONS = """
SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = to_regclass($1)
"""
#: Whether table `$1` has the constraint `$2`.
FIND_CONSTRAINT = (
    "SELECT EXISTS (SELECT FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)"
)
_BOUND = re.compile(r"FOR VALUES FROM \((.+)\) TO \((.+)\)")


@dataclasses.dataclass(frozen=True, slots=True)
class Partition:
    """One partition: rows with `lower <= key < upper`; None is unbounded (MINVALUE, MAXVALUE or DEFAULT)."""

    name: str
    lower: dt.datetime | None
    upper: dt.datetime | None
    default: bool = False

    def overlaps(self, lower: dt.datetime, upper: dt.datetime) -> bool:
        """Whether this (range) partition has any time of `[lower, upper)`."""
        if self.default:
            return False
        return (self.lower is None or self.lower < upper) and (self.upper is None or lower < self.upper)


def _time(value: str) -> dt.datetime | None:
    """A bound as printed (`'2026-12-04 00:00:00+00'`, MINVALUE or MAXVALUE)."""
    if value in {"MINVALUE", "MAXVALUE"}:
        return None
    return dt.datetime.fromisoformat(value.strip("'"))


def parse(name: str, bound: str) -> Partition:
    """A partition from its name and `pg_get_expr(relpartbound)`."""
    if bound == "DEFAULT":
        return Partition(name, None, None, default=True)
    found = _BOUND.fullmatch(bound)
    if found is None:
        raise ValueError(f"not a range bound: {bound!r}")
    return Partition(name, _time(found[1]), _time(found[2]))


def day_name(table: str, day: dt.datetime) -> str:
    """The name of `table`'s partition for the UTC day starting at `day`."""
    return f"{table}_p{day:%Y%m%d}"


def days_ahead(now: dt.datetime) -> list[dt.datetime]:
    """The starts (UTC midnight) of today and the DAYS_AHEAD days after."""
    today = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return [today + dt.timedelta(days=i) for i in range(DAYS_AHEAD + 1)]


async def partitions(conn: asyncpg.Connection, table: str) -> list[Partition]:
    """`table`'s partitions (none when it is not partitioned)."""
    return [parse(r["name"], r["bound"]) for r in await conn.fetch(LIST_PARTITIONS, table)]


async def _try_lock(conn: asyncpg.Connection) -> bool:
    """Take the partition lock for this session; False when another pruner has it."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY))


async def _unlock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def _short_locks(conn: asyncpg.Connection) -> None:
    """In a transaction: give up on a lock after LOCK_TIMEOUT."""
    await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


async def create_ahead(conn: asyncpg.Connection, table: str, now: dt.datetime) -> list[str]:
    """Create `table`'s missing day partitions from `now`'s day to DAYS_AHEAD days on; returns their names.

    A day that overlaps a partition already there (`attempts_legacy`) is skipped, and so is one whose rows have
    already gone to the default partition: a new partition may not take rows the default holds, so those rows stay
    there (the chunked deletes reach them) and the day goes on without its own partition. Each creation is its own
    short transaction; one that cannot have its lock in LOCK_TIMEOUT raises `asyncpg.LockNotAvailableError`.

    A day that starts CLOCK_MARGIN or more after `now` is made without reading the default under a lock
    (`_create_later_day`); today's and tomorrow's, missing only when the pruner did not run for a week, with the
    default's rows checked under the creation's lock (`_create_day`): a row of either may reach the default at any
    moment then (tomorrow's at midnight, while the creation that began before it still runs), which the CHECK of
    `_create_later_day` would refuse."""
    created: list[str] = []
    if not await _try_lock(conn):
        return created
    try:
        existing = await partitions(conn, table)
        default = next((p.name for p in existing if p.default), None)
        if default is not None:
            await _drop_exclusion(conn, default)  # left by a creation cut short (the connection lost)
        for day in days_ahead(now):
            end = day + dt.timedelta(days=1)
            if any(p.overlaps(day, end) for p in existing):
                continue
            try:
                if default is not None and day >= now + CLOCK_MARGIN:
                    name = await _create_later_day(conn, table, default, day, end)
                else:
                    name = await _create_day(conn, table, default, day, end)
            except asyncpg.CheckViolationError:
                # A row of the day reached the default after the check, before the creation had its lock.
                log.warning("prune: %s's default took rows of %s meanwhile; left to it", table, f"{day:%F}")
                continue
            if name is not None:
                created.append(name)
    finally:
        await _unlock(conn)
    return created


def _exclusion(default: str) -> str:
    """The name of the CHECK constraint that keeps a day being made out of the default partition."""
    return f"{default}_not_new_day"


async def _drop_exclusion(conn: asyncpg.Connection, default: str) -> None:
    """Drop the default's exclusion of a new day if it has one (looked up first: dropping takes the default's
    ACCESS EXCLUSIVE lock, even for nothing). Errors are logged: the next round drops it."""
    name = _exclusion(default)
    try:
        if await conn.fetchval(FIND_CONSTRAINT, default, name):
            async with conn.transaction():
                await _short_locks(conn)
                await conn.execute(f"ALTER TABLE {default} DROP CONSTRAINT IF EXISTS {name}")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        log.warning("prune: could not drop %s on %s (%s); the next round does", name, default, exc)


async def _create_later_day(
    conn: asyncpg.Connection, table: str, default: str, day: dt.datetime, end: dt.datetime
) -> str | None:
    """Create `table`'s partition for the day `[day, end)` after today without reading the default partition
    under a lock; its name, or None when the default holds rows of the day.

    Creating a partition makes PostgreSQL prove that the default holds no row of the new range, by reading all of
    it under an ACCESS EXCLUSIVE lock (which every read of the parent that probes the default waits behind), unless
    the default's own constraints already imply it. So a CHECK that excludes the day is added NOT VALID (a moment's
    lock), validated by a read that takes no lock writers or readers wait for, and then the creation skips its
    read; the CHECK goes in the creation's transaction. Meanwhile a row of the day could not be written to the
    default: the day starts CLOCK_MARGIN or more after the round's `now`, so only a host whose clock runs a day
    ahead writes one. A validation that finds a row of the day leaves the day to the default."""
    key, check = PARTITIONED[table].key, _exclusion(default)
    async with conn.transaction():
        await _short_locks(conn)
        await conn.execute(
            f"ALTER TABLE {default} ADD CONSTRAINT {check} CHECK ({key} IS NOT NULL"
            f" AND ({key} < '{day.isoformat()}' OR {key} >= '{end.isoformat()}')) NOT VALID"
        )
    name = day_name(table, day)
    try:
        try:
            # Its lock waited for LOCK_TIMEOUT at most, the CHECK meanwhile in force.
            async with conn.transaction():
                await _short_locks(conn)
                await conn.execute(f"ALTER TABLE {default} VALIDATE CONSTRAINT {check}")
        except asyncpg.CheckViolationError:
            await _drop_exclusion(conn, default)
            return None
        async with conn.transaction():
            await _short_locks(conn)
            await conn.execute(
                f"CREATE TABLE {name} PARTITION OF {table}"
                f" FOR VALUES FROM ('{day.isoformat()}') TO ('{end.isoformat()}')"
            )
            await conn.execute(f"ALTER TABLE {default} DROP CONSTRAINT {check}")
    except BaseException:  # cancelled, timed out, a lock not had: the CHECK must not outlive the creation
        if not conn.is_closed():
            await _drop_exclusion(conn, default)
        raise
    return name


async def _create_day(
    conn: asyncpg.Connection, table: str, default: str | None, day: dt.datetime, end: dt.datetime
) -> str | None:
    """Create `table`'s partition for `[day, end)` in a transaction of its own; its name, or None when the default
    partition holds rows of the day already. Raises asyncpg.CheckViolationError when such a row was written
    meanwhile (PostgreSQL checks the default under its lock as it creates the partition)."""
    key = PARTITIONED[table].key
    async with conn.transaction():
        await _short_locks(conn)
        if default is not None and await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {key} >= $1 AND {key} < $2)", day, end
        ):
            return None
        name = day_name(table, day)
        await conn.execute(
            f"CREATE TABLE {name} PARTITION OF {table}"
            f" FOR VALUES FROM ('{day.isoformat()}') TO ('{end.isoformat()}')"
        )
    return name


async def drop_past(conn: asyncpg.Connection, table: str, before: dt.datetime) -> dict[str, int]:
    """Drop each partition of `table` whose rows are all older than `before` (its upper bound is at or before it,
    less the table's grace); returns the rows of each partition dropped, by name (without the rows kept).

    Each partition's rows are counted first (for the metric, under no lock but a reader's), then it is dropped in a
    transaction of its own (`_drop`), so the parent's exclusive lock is held for the drop alone. A drop that cannot
    have its lock in LOCK_TIMEOUT ends the call: what was dropped until then is returned, the rest waits for the
    next round."""
    spec = PARTITIONED[table]
    dropped: dict[str, int] = {}
    if not await _try_lock(conn):
        return dropped
    try:
        for p in sorted(await partitions(conn, table), key=lambda p: p.name):
            if p.default or p.upper is None or p.upper > before - spec.grace:
                continue
            rows = await conn.fetchval(f"SELECT count(*) FROM {p.name}")
            try:
                async with conn.transaction():
                    await _short_locks(conn)
                    kept = await _drop(conn, table, spec, p)
            except asyncpg.LockNotAvailableError:
                log.warning("prune: %s is busy; %s waits for the next round", table, p.name)
                break
            dropped[p.name] = rows - kept
    finally:
        await _unlock(conn)
    return dropped


async def _drop(conn: asyncpg.Connection, table: str, spec: Table, p: Partition) -> int:
    """In a transaction: drop partition `p`, first moving the rows whose owner is still kept to the default
    partition (the day has no partition once `p` is detached); returns how many were moved.

    The owners are found before the parent is locked (an index probe into `p` per owner made before its end, few),
    under OWNERS_LOCK_KEY; the parent's exclusive lock (DETACH) is held only while their rows are copied."""
    if not spec.owners:
        await conn.execute(f"DROP TABLE {p.name}")
        return 0
    assert p.upper is not None
    await conn.execute("SELECT pg_advisory_xact_lock($1)", OWNERS_LOCK_KEY)
    kept = [
        [r[0] for r in await conn.fetch(o.kept.format(part=p.name), p.upper + CLOCK_MARGIN)]
        for o in spec.owners
    ]
    await conn.execute(f"ALTER TABLE {table} DETACH PARTITION {p.name}")
    moved = 0
    if any(kept):
        match = " OR ".join(f"{o.column} = ANY(${i}::text[])" for i, o in enumerate(spec.owners, start=1))
        moved = core.affected(
            await conn.execute(f"INSERT INTO {table} SELECT * FROM {p.name} WHERE {match}", *kept)
        )
    await conn.execute(f"DROP TABLE {p.name}")
    return moved
