"""PostgreSQL partitions `events` by UTC day of `recorded_at` (migration 0029, docs/adr/0009): the ingest path's
lookup by id and a message's events read only the days since the message was made, a day is dropped once past
retention while the events of messages and journeys still kept survive it, and the migration keeps the rows, their
feed positions and the position sequence."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from dlrhub import settings, store
from dlrhub.core import errors, models
from dlrhub.services import hub as hub_
from dlrhub.services import retention
from dlrhub.store.postgres import messages as pg_messages
from dlrhub.store.postgres import partitions
from tests.conftest import make_account, make_journey
from tests.integration.store.test_contract import event, inputs, new_message

pytestmark = pytest.mark.postgres

#: Far from the day the template was migrated on, so every partition here is the test's own.
NOW = dt.datetime(2030, 1, 10, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
INSERT = (
    "INSERT INTO events (id, message_id, journey_id, seq, kind, applied, occurred_at, recorded_at, account_id)"
    " VALUES ($1, $2, $3, 1, 'accepted', true, $4, $4, $5)"
)
LIST = (
    "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = 'events'::regclass ORDER BY c.relname"
)


@pytest.fixture
async def conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(pg_url)
    yield c
    await c.close()


def day(at: dt.datetime) -> str:
    return partitions.day_name("events", at)


async def where(conn: asyncpg.Connection) -> dict[str, tuple[str, int, int]]:
    """event id -> the partition it is in, its transaction id and position (its place in the feed)."""
    found = await conn.fetch("SELECT id, tableoid::regclass::text AS part, xact::text AS x, pos FROM events")
    return {r["id"]: (r["part"], int(r["x"]), r["pos"]) for r in found}


async def plan_of(conn: asyncpg.Connection, sql: str, *args: Any) -> set[str]:
    """The partitions of events a statement scans (those EXPLAIN ANALYZE says were executed)."""
    plan = "\n".join(
        r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}", *args)
    )
    return {
        m.group(1)
        for line in plan.splitlines()
        if (m := re.search(r" on (events_\w+) (?:events|e)(_\d+)?\b", line)) and "never executed" not in line
    }


async def feed_ids(db: store.Store, account_id: str, count: int) -> list[str]:
    """The account's feed, once it holds `count` events: an event enters it when every transaction older than it
    has ended anywhere on the server (another test's may still run)."""
    for _ in range(1000):
        page = await db.feed_events(account_id, store.FEED_START, 100)
        if len(page) >= count:
            break
        await asyncio.sleep(0.02)
    return [f.event.id for f in page]


async def accept(db: store.Store, account: models.Account, mid: str, at: dt.datetime, **changes: Any) -> None:
    """Accept message `mid` at `at` (its `accepted` event is recorded then); no callback URL unless given."""
    changes.setdefault("callback_url", None)
    channel_due_at = changes.pop("channel_due_at", None)
    message = dataclasses.replace(new_message(account, mid, **changes), created_at=at, updated_at=at)
    await db.accept_message(
        message, event(mid, models.EventKind.ACCEPTED), inputs(account), now=at, channel_due_at=channel_due_at
    )


async def test_the_ingest_lookup_probes_each_partitions_index(pg_url: str, conn: asyncpg.Connection) -> None:
    db: Any = store.from_url(pg_url)
    try:
        await db.prepare_partitions(NOW - 3 * DAY)  # days NOW-3 .. NOW+4
    finally:
        await db.close()
    # An event id is an idempotency key for as long as the event is kept, whatever message it came with, so the
    # lookup has no time to start from: every partition is read, each by its index, never by a scan of its rows.
    everything = {r[0] for r in await conn.fetch(LIST)}
    assert {day(NOW - 3 * DAY), "events_legacy", "events_default"} <= everything
    assert await plan_of(conn, pg_messages.SEEN_EVENT, "m1:success") == everything
    # The same probe, folded into the message's locking read on the ingest path.
    for sql, args in (
        (pg_messages.SEEN_EVENT, ("m1:success",)),
        (pg_messages.LOCK_MESSAGE, ("m1", "m1:success")),
    ):
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (COSTS OFF) {sql}", *args))
        assert all(f" on {part} " in plan for part in everything), plan
        assert "Seq Scan on events" not in plan, plan


async def test_a_messages_events_are_read_from_the_days_since_it_was_made(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    db: Any = store.from_url(pg_url)
    try:
        await db.prepare_partitions(NOW - 3 * DAY)  # days NOW-3 .. NOW+4
        account = make_account()
        await db.create_account(account, [])
        await accept(db, account, "made", NOW - DAY)
        await db.apply_event(event("made", models.EventKind.SUCCESS), inputs(account), now=NOW)
        await conn.execute(INSERT, "other:accepted", "other", None, NOW - 3 * DAY, account.id)
        assert [e.kind for e in await db.list_events("made")] == [
            models.EventKind.ACCEPTED,
            models.EventKind.SUCCESS,
        ]
        assert (await where(conn))["made:accepted"][0] == day(NOW - DAY)
        # Partitions before the message's day less one are pruned when the statement runs (`never executed`).
        assert await plan_of(conn, pg_messages.EVENTS_OF, "made") == {
            day(NOW - 2 * DAY),
            day(NOW - DAY),
            day(NOW),
            *(day(NOW + i * DAY) for i in range(1, 5)),
            "events_default",
        }
    finally:
        await db.close()


async def test_a_day_is_dropped_past_retention_and_the_events_still_owned_survive(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    db: Any = store.from_url(pg_url)
    try:
        cutoff = NOW - 30 * DAY
        old = cutoff - 3 * DAY  # its day ends more than a day (the margin for clocks) before the cutoff
        await db.prepare_partitions(old - DAY)  # days old-1 .. old+6
        account = make_account()
        await db.create_account(account, [])
        await accept(db, account, "gone", old)  # no callback, finished: pruned
        await accept(db, account, "queued", old, channel_due_at=NOW)  # still queued for Zalo: kept
        journey = make_journey(account.id, "j-issued", old, expires_at=NOW)  # issued: kept
        await db.put_journey(journey)
        await conn.execute(INSERT, "journey:j-issued:x", None, "j-issued", old, account.id)
        # Days past retention but not by the margin yet: kept.
        await accept(db, account, "recent", cutoff - dt.timedelta(hours=13))
        before = await where(conn)
        assert {before[e][0] for e in ("gone:accepted", "queued:accepted", "journey:j-issued:x")} == {
            day(old)
        }

        # The message goes; its event stays in its day's partition (one delete fewer a row), and in the feed.
        assert await db.prune_messages(cutoff, 1000) == {"messages": 2, "events": 0}
        assert "gone:accepted" in await feed_ids(db, account.id, 4)

        assert await db.drop_partitions("events", cutoff) == {"events": 1}  # "gone"'s; the two kept are moved

        parts = {r[0] for r in await conn.fetch(LIST)}
        assert day(old) not in parts and day(old - DAY) not in parts
        assert day(cutoff - DAY) in parts  # "recent"'s day: its end is less than a day before the cutoff
        after = await where(conn)
        assert "gone:accepted" not in after
        # The kept events keep their transaction id and position: the feed holds them where it did.
        for eid in ("queued:accepted", "journey:j-issued:x"):
            assert after[eid] == ("events_default", *before[eid][1:])
        assert [e.id for e in await db.list_events("queued")] == ["queued:accepted"]
        assert await feed_ids(db, account.id, 3) == [
            "queued:accepted",
            "journey:j-issued:x",
            "recent:accepted",
        ]
        # The moved rows go with their message, from the default, in chunks.
        await conn.execute("UPDATE messages SET channel_state = 'none' WHERE id = 'queued'")
        assert await db.prune_messages(cutoff, 1000) == {"messages": 1, "events": 1}
    finally:
        await db.close()


async def test_a_pruning_round_drops_the_days_of_events_after_messages(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    db: Any = store.from_url(pg_url)
    try:
        cutoff = NOW - 30 * DAY
        old = cutoff - 3 * DAY
        await db.prepare_partitions(old)
        account = make_account()
        await db.create_account(account, [])
        await accept(db, account, "gone", old)
        hub = hub_.Hub(
            settings=settings.Settings(retain_messages_days=30, retain_callbacks_days=30),
            store=db,
            clock=lambda: NOW,
        )
        counts = await retention.prune(hub, pause=lambda _s: asyncio.sleep(0))
        assert (counts["messages"], counts["events"]) == (1, 1)
        assert day(old) not in {r[0] for r in await conn.fetch(LIST)}
        # Callbacks kept longer keep their messages, and so the days of events.
        assert retention.events_cutoff(hub.settings, NOW) == cutoff
        longer = settings.Settings(retain_callbacks_days=60)
        assert retention.events_cutoff(longer, NOW) == NOW - 60 * DAY
        assert retention.events_cutoff(settings.Settings(retain_callbacks_days=0), NOW) is None
    finally:
        await db.close()


async def test_a_drop_waits_for_a_chunk_deleting_messages(pg_url: str, conn: asyncpg.Connection) -> None:
    db: Any = store.from_url(pg_url)
    try:
        await db.prepare_partitions(NOW - 10 * DAY)
        await conn.execute(INSERT, "e-old", "m-old", None, NOW - 10 * DAY, "acc")
        # A chunk of prune_messages holds the owners' lock shared: the drop, which must see the messages kept as
        # they will be when it commits, waits LOCK_TIMEOUT for it, then leaves the day for the next round.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", partitions.OWNERS_LOCK_KEY)
            assert await db.drop_partitions("events", NOW) == {"events": 0}
        assert day(NOW - 10 * DAY) in {r[0] for r in await conn.fetch(LIST)}
        assert await db.drop_partitions("events", NOW) == {"events": 1}
        assert day(NOW - 10 * DAY) not in {r[0] for r in await conn.fetch(LIST)}
    finally:
        await db.close()


async def test_two_deliveries_of_an_event_without_owner_queue_on_its_id(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    """An event with neither message nor journey has no row to lock, and its id is no longer unique on its own
    (the key is `(id, recorded_at)`): the second delivery waits for the first on an advisory lock of the id, then
    finds it."""
    db: Any = store.from_url(pg_url)
    try:
        account = make_account()
        lonely = models.StatusEvent(id="lonely", kind=models.EventKind.SUCCESS, occurred_at=NOW)
        async with conn.transaction():  # the first delivery, in flight
            await conn.execute("SELECT pg_advisory_xact_lock($1)", pg_messages.event_lock_key("lonely"))
            second = asyncio.create_task(db.apply_event(lonely, inputs(account), now=NOW))
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            for _ in range(3000):  # until it waits, or ends without waiting (the test fails then)
                if second.done() or await conn.fetchval(waiting):
                    break
                await asyncio.sleep(0.01)
            assert not second.done()
            await conn.execute(INSERT, "lonely", None, None, NOW - dt.timedelta(seconds=1), None)
        result = await second
        assert result.duplicate
        assert await conn.fetchval("SELECT count(*) FROM events WHERE id = 'lonely'") == 1
    finally:
        await db.close()


async def test_the_migration_keeps_the_rows_positions_and_sequence(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    # Back to the table as it was before 0029, with rows in it.
    await conn.execute("DROP TABLE events")
    await conn.execute(
        "CREATE TABLE events (id text PRIMARY KEY, message_id text, journey_id text, seq integer NOT NULL,"
        " kind text NOT NULL, code integer, text text, zalo_res jsonb, raw jsonb, applied boolean NOT NULL,"
        " occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL, account_id text,"
        " xact xid8 NOT NULL DEFAULT pg_current_xact_id(), pos bigserial)"
    )
    await conn.execute("CREATE INDEX events_message ON events (message_id, seq)")
    await conn.execute("CREATE INDEX events_journey ON events (journey_id) WHERE journey_id IS NOT NULL")
    await conn.execute("CREATE INDEX events_feed ON events (account_id, xact, pos) WHERE applied")
    await conn.execute("DELETE FROM schema_migrations WHERE name = '0029_events_partitioned'")
    today = dt.datetime.now(dt.UTC)
    for i in range(5):
        await conn.execute(INSERT, f"e{i}", f"m{i}", None, today - i * DAY, "acc")
    old = await where(conn)

    db = store.from_url(pg_url)
    try:
        assert await db.migrate() == ["0029_events_partitioned"]
    finally:
        await db.close()

    assert await where(conn) == {eid: ("events_legacy", *rest) for eid, (_, *rest) in old.items()}
    indexes = {r[0] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")}
    assert indexes == {"events_pkey", "events_message", "events_journey", "events_feed"}
    tomorrow = (today + DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    await conn.execute(INSERT, "new", "m", None, today, "acc")
    await conn.execute(INSERT, "tomorrow", "m", None, tomorrow, "acc")
    now = await where(conn)
    assert now["new"][0] == "events_legacy"  # the migration's day is the legacy partition's last
    assert now["tomorrow"][0] == day(tomorrow)
    # Positions go on from the sequence, which the new table owns: dropping the legacy partition keeps it.
    await conn.execute("ALTER TABLE events DETACH PARTITION events_legacy")
    await conn.execute("DROP TABLE events_legacy")
    await conn.execute(INSERT, "later", "m", None, tomorrow, "acc")
    assert (await where(conn))["later"][2] > max(pos for _, _, pos in old.values())


async def test_one_event_id_for_two_messages_at_once_is_stored_once(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    """The key `(id, recorded_at)` no longer keeps an id unique, and two deliveries of one id for two messages
    lock two rows: each would look the id up before the other stored it, and both be stored (the second's
    callbacks, whose ids derive from the event's, skipped as conflicts). They queue on the id's lock instead: the
    second finds the first and is refused."""
    db: Any = store.from_url(pg_url)
    try:
        account = make_account()
        await db.create_account(account, [])
        for mid in ("a", "b"):
            await accept(db, account, mid, NOW, callback_url="https://example.com/cb")
        async with conn.transaction():  # holds message b, as an event of b in flight would
            await conn.execute("SELECT FROM messages WHERE id = 'b' FOR UPDATE")
            to_b = asyncio.create_task(
                db.apply_event(event("b", models.EventKind.SUCCESS, "x"), inputs(account), now=NOW)
            )
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            for _ in range(3000):  # until b's delivery waits for b
                if to_b.done() or await conn.fetchval(waiting):
                    break
                await asyncio.sleep(0.01)
            assert not to_b.done()
            to_a = asyncio.create_task(
                db.apply_event(event("a", models.EventKind.SUCCESS, "x"), inputs(account), now=NOW + SECOND)
            )
            for _ in range(3000):  # until a's delivery is stored, or waits for b's
                if to_a.done() or await conn.fetchval(waiting) > 1:
                    break
                await asyncio.sleep(0.01)
        done = await asyncio.gather(to_b, to_a, return_exceptions=True)
        assert await conn.fetchval("SELECT count(*) FROM events WHERE id = 'x'") == 1
        assert isinstance(done[1], errors.Conflict), done
        assert [c.message_id for c in await db.list_callbacks("b")][-1] == "b"
        assert [e.id for e in await db.list_events("a")] == ["a:accepted"]
    finally:
        await db.close()


async def test_events_without_owner_go_by_age_only_from_the_default(
    pg_url: str, conn: asyncpg.Connection
) -> None:
    """An event with no message whose journey is not stored goes with its day's partition; in `events_default`
    (a day with no partition) it is deleted by age, in chunks, and an event of a message there is left to it."""
    db: Any = store.from_url(pg_url)
    try:
        old = NOW - 40 * DAY
        await db.prepare_partitions(old)  # days old .. old+7; the day before has none
        for eid, message_id, at in (
            ("in-a-day", None, old),
            ("in-default-1", None, old - DAY),
            ("in-default-2", None, old - DAY + SECOND),
            ("of-a-message", "m", old - DAY),
        ):
            await conn.execute(INSERT, eid, message_id, "j-gone", at, None)
        placed = await where(conn)
        assert placed["in-a-day"][0] == day(old)
        assert {placed[e][0] for e in ("in-default-1", "in-default-2", "of-a-message")} == {"events_default"}
        assert [await db.prune_events(NOW, 1) for _ in range(3)] == [{"events": n} for n in (1, 1, 0)]
        assert set(await where(conn)) == {"in-a-day", "of-a-message"}
    finally:
        await db.close()
