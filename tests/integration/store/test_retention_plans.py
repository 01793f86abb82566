"""Retention's deletes walk indexes on both backends: none scans a whole table (ADR 0002 on SQLite; on PostgreSQL a
chunk that scanned the table would read every row of it every few minutes)."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest

from dlrhub.store.postgres import partitions, retention

#: Every statement of the PostgreSQL pruner, and what its parameters are.
STATEMENTS = {
    name: value
    for name, value in vars(retention).items()
    if name.isupper() and isinstance(value, str) and re.match(r"\s*(SELECT|DELETE)", value)
}
BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _params(sql: str) -> list[object]:
    return [["x", "y"]] if "$1::text[]" in sql else [BEFORE, 1000]


def test_every_statement_is_checked() -> None:
    assert len(STATEMENTS) == 17


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(STATEMENTS))
async def test_no_prune_statement_scans_a_table(pg_url: str, name: str) -> None:
    sql = STATEMENTS[name]
    conn = await asyncpg.connect(pg_url)
    try:
        # The tables are empty here, where a sequential scan is cheapest: forbid it, so the planner shows whether
        # an index serves the statement at all (it falls back to a disabled scan when none does).
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *_params(sql)))
    finally:
        await conn.close()
    assert "Seq Scan" not in plan, f"{name}:\n{plan}"
    assert re.search(r"Index (Only )?Scan|Bitmap Index Scan", plan), plan


@pytest.mark.postgres
@pytest.mark.parametrize("partition", sorted(retention.ATTEMPTS_CHUNKED))
async def test_the_attempts_chunk_plan(pg_url: str, partition: str) -> None:
    """The plan of the largest table's chunk, as an operator would read it: in each partition of attempts that is
    deleted in chunks, the oldest rows by its part of `attempts_started_outcome`, `LIMIT` rows locked, then deleted
    by its part of the primary key."""
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        sql = retention.ATTEMPTS_CHUNKED[partition]
        plan = [r[0] for r in await conn.fetch(f"EXPLAIN (COSTS OFF) {sql}", BEFORE, 1000)]
    finally:
        await conn.close()
    text = "\n".join(plan)
    assert plan[0].strip() == f"Delete on {partition}", text
    # Index Scan or Bitmap Index Scan, as the statistics make the planner choose: never a Seq Scan.
    assert re.search(rf"Index (Only )?Scan (using|on) {partition}_started(_at)?_outcome", text), text
    assert re.search(rf"Index Scan (using|on) {partition}_pkey", text), text
    assert "Seq Scan" not in text, text
    assert "Limit" in text and "LockRows" in text, text


@pytest.mark.postgres
async def test_the_ownerless_events_chunk_plan(pg_url: str) -> None:
    """Events that belong to nothing kept are deleted from `events_default` only, walking its part of
    `events_ownerless` oldest first (only events without a message are in it), `LIMIT` rows locked, each one's
    journey probed by its key."""
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        sql = retention.DELETE_OWNERLESS_EVENTS
        plan = [r[0] for r in await conn.fetch(f"EXPLAIN (COSTS OFF) {sql}", BEFORE, 1000)]
    finally:
        await conn.close()
    text = "\n".join(plan)
    assert plan[0].strip() == "Delete on events_default", text
    assert re.search(r"Index Scan using events_default_recorded_at_idx on events_default", text), text
    assert re.search(r"Index (Only )?Scan using journeys_pkey", text), text
    assert "Seq Scan" not in text and "Limit" in text and "LockRows" in text, text


@pytest.mark.postgres
async def test_a_chunks_attempts_are_sought_only_in_the_days_they_can_be_in(pg_url: str) -> None:
    """With a partition for each of many days, deleting a chunk's attempts reads the partitions of the days
    between its callbacks' creation and last change (give or take the clock margin), not every partition."""
    assert dt.timedelta(days=1) == partitions.CLOCK_MARGIN  # the statement's `interval '1 day'`
    now = dt.datetime.now(dt.UTC)
    made = now + dt.timedelta(days=12)
    ids = ["cb-1", "cb-2", "cb-3"]
    conn = await asyncpg.connect(pg_url)
    try:
        for ahead in range(0, 24, 6):
            await partitions.create_ahead(conn, "attempts", now + dt.timedelta(days=ahead))
        days = [p for p in await partitions.partitions(conn, "attempts") if p.lower is not None]
        await conn.execute(
            "INSERT INTO callbacks (id, event_id, account_id, dialect, order_key, seq, method, url, body, endpoint,"
            " state, due_at, created_at, updated_at) SELECT id, id, 'acc', 'native', id, 0, 'POST', 'http://x/',"
            " '', 'http://x', 'succeeded', $2, $2, $2 FROM unnest($1::text[]) AS id",
            ids,
            made,
        )
        await conn.execute(
            "INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome)"
            " SELECT id, 1, $2, 1, 'ok' FROM unnest($1::text[]) AS id",
            ids,
            made + dt.timedelta(seconds=1),
        )
        # As a prepared statement runs once its plan is generic: the partitions are pruned as it executes.
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        sql = f"EXPLAIN (ANALYZE, COSTS OFF) {retention.DELETE_CALLBACK_ATTEMPTS}"
        plan = "\n".join(r[0] for r in await conn.fetch(sql, ids))
        left = await conn.fetchval("SELECT count(*) FROM attempts")
    finally:
        await conn.close()
    read = {m for m in re.findall(r"Scan on (attempts_\w+) attempts_\d+(?![^\n]*never executed)", plan)}
    assert len(days) >= 20, days
    assert 1 <= len(read) <= 4, plan
    assert left == 0, plan
