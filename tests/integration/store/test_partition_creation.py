"""Making the day partitions of `attempts` and `events` on PostgreSQL (docs/adr/0009): a day whose rows reached
the default partition is left to it, and a day after today is made without reading the default under the lock
that every read of the parent probing the default waits behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from dlrhub import store
from dlrhub.store.postgres import partitions
from tests.integration.store.test_event_partitions import DAY, INSERT, LIST, NOW, SECOND, day, where

pytestmark = pytest.mark.postgres


@pytest.fixture
async def conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(pg_url)
    yield c
    await c.close()


async def test_a_day_whose_row_reaches_the_default_while_its_partition_is_made_is_skipped(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    """A day's partition is made only while the default partition holds no row of that day. A row of it that a
    host whose clock runs ahead writes while the partition is being made (after the check, before the creation
    has the default's lock) makes the creation fail: the day is left to the default, as when the row was there
    first, and the other days are made; the pruning round goes on."""
    db: Any = store.from_url(pg_url)
    try:
        async with conn.transaction():  # an insert in flight, of a time no partition covers yet
            await conn.execute(INSERT, "ahead", "m", None, NOW + dt.timedelta(hours=1), "acc")
            making = asyncio.create_task(db.prepare_partitions(NOW))
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'relation'"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            for _ in range(3000):  # until the creation waits for the insert (LOCK_TIMEOUT, 2 s, at most)
                if making.done() or await conn.fetchval(waiting):
                    break
                await asyncio.sleep(0.01)
        await making
        parts = {r[0] for r in await conn.fetch(LIST)}
        assert day(NOW) not in parts
        assert {day(NOW + i * DAY) for i in range(1, partitions.DAYS_AHEAD + 1)} <= parts
        assert (await where(conn))["ahead"][0] == "events_default"
    finally:
        await db.close()


@pytest.mark.parametrize("table", sorted(partitions.PARTITIONED))
async def test_a_later_days_partition_is_made_without_reading_the_default_under_its_lock(
    conn: asyncpg.Connection, table: str
) -> None:
    """Creating a partition reads the whole default partition under an ACCESS EXCLUSIVE lock unless the default's
    constraints prove it holds no row of the new day: a day after today is made with such a constraint, which
    PostgreSQL says (at debug1) implies the default's new bound, and which is gone once the day is made."""
    notices: list[str] = []
    conn.add_log_listener(lambda _c, m: notices.append(str(m.message)))
    await conn.execute("SET client_min_messages = debug1")
    created = await partitions.create_ahead(conn, table, NOW)
    await conn.execute("RESET client_min_messages")
    assert created == [partitions.day_name(table, NOW + i * DAY) for i in range(partitions.DAYS_AHEAD + 1)]
    implied = [
        n
        for n in notices
        if re.fullmatch(
            rf'updated partition constraint for default partition "{table}_default" is implied by existing constraints',
            n,
        )
    ]
    # Every day but today and tomorrow (NOW is noon: tomorrow starts within a day), made as before, reading the
    # default under its lock (`test_a_row_of_tomorrow_written_at_midnight_during_the_creation_is_stored`).
    assert len(implied) == partitions.DAYS_AHEAD - 1, notices
    assert not await conn.fetchval(
        partitions.FIND_CONSTRAINT, f"{table}_default", f"{table}_default_not_new_day"
    )


async def test_a_later_day_whose_rows_are_in_the_default_is_left_to_it(conn: asyncpg.Connection) -> None:
    """A day after today whose row reached the default gets no partition (the constraint's validation finds the
    row), and no constraint is left behind; one left by a creation cut short is dropped by the next round."""
    await conn.execute(INSERT, "early", "m", None, NOW + 3 * DAY, "acc")
    created = await partitions.create_ahead(conn, "events", NOW)
    assert day(NOW + 3 * DAY) not in created and len(created) == partitions.DAYS_AHEAD
    check = "events_default_not_new_day"
    assert not await conn.fetchval(partitions.FIND_CONSTRAINT, "events_default", check)
    later = NOW + 20 * DAY
    await conn.execute(
        f"ALTER TABLE events_default ADD CONSTRAINT {check} CHECK (recorded_at < '{later.isoformat()}') NOT VALID"
    )
    assert len(await partitions.create_ahead(conn, "events", later)) == partitions.DAYS_AHEAD + 1
    assert not await conn.fetchval(partitions.FIND_CONSTRAINT, "events_default", check)


class _CutAtValidate:
    """`conn`, but its VALIDATE CONSTRAINT is cut short (the pruner cancelled at shutdown, a statement timeout)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def execute(self, sql: str, *args: Any) -> str:
        if "VALIDATE CONSTRAINT" in sql:
            raise asyncio.CancelledError
        result: str = await self._conn.execute(sql, *args)
        return result


async def test_a_validation_cut_short_leaves_no_check_on_the_default(conn: asyncpg.Connection) -> None:
    """The NOT VALID CHECK that excludes a later day from the default is in force for new rows as soon as it is
    added: a validation cancelled or failing otherwise than on a row of the day must drop it, or every row of that
    day (which has no partition yet) is refused until the next round."""
    cut: Any = _CutAtValidate(conn)
    with pytest.raises(asyncio.CancelledError):
        await partitions.create_ahead(cut, "events", NOW)
    assert not await conn.fetchval(partitions.FIND_CONSTRAINT, "events_default", "events_default_not_new_day")
    await conn.execute(INSERT, "tomorrow", "m", None, NOW + DAY, "acc")


class _WritesAtValidate:
    """`conn`, but as its first VALIDATE CONSTRAINT starts, `other` writes an event recorded at `at`."""

    def __init__(self, conn: asyncpg.Connection, other: asyncpg.Connection, at: dt.datetime) -> None:
        self._conn, self._other, self._at = conn, other, at
        self.written = False
        self.refused: asyncpg.CheckViolationError | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def execute(self, sql: str, *args: Any) -> str:
        if "VALIDATE CONSTRAINT" in sql and not self.written:
            self.written = True
            try:
                await self._other.execute(INSERT, "at-midnight", "m", None, self._at, "acc")
            except asyncpg.CheckViolationError as exc:
                self.refused = exc
        result: str = await self._conn.execute(sql, *args)
        return result


async def test_a_row_of_tomorrow_written_at_midnight_during_the_creation_is_stored(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    """A round that starts just before midnight with tomorrow's partition missing (the pruner stopped for a week)
    must not put a CHECK excluding tomorrow on the default: midnight passes while the partitions are made, and
    the rows of the new day, which go to the default until their partition exists, would be refused."""
    before_midnight = NOW.replace(hour=23, minute=59, second=59)
    other = await asyncpg.connect(pg_url)
    try:
        wrapped: Any = _WritesAtValidate(conn, other, before_midnight + 2 * SECOND)
        created = await partitions.create_ahead(wrapped, "events", before_midnight)
    finally:
        await other.close()
    assert wrapped.written and wrapped.refused is None
    assert len(created) == partitions.DAYS_AHEAD + 1
    assert (await where(conn))["at-midnight"][0] in {"events_default", day(before_midnight + DAY)}
