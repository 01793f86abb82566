"""The overview's reads are indexed range scans on both backends, never a walk of a whole table (SQLite's EXPLAIN
QUERY PLAN; PostgreSQL's EXPLAIN with sequential scans disabled, so the plan shows whether an index serves at all)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import asyncpg
import pytest

from dlrhub.store.postgres import activity as pg_activity
from dlrhub.store.sqlite import activity as lite_activity

#: Each read and the index it must use.
INDEXES = {
    "ACCEPTED_PER_MINUTE": "messages_created_id",
    "DELIVERED_PER_MINUTE": "attempts_started_outcome",
    "FINISHED_BADLY": "callbacks_finished_badly",
    "ZALO_RESULTS": "messages_channel_created",
}
SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
UNTIL = SINCE + dt.timedelta(hours=1)
#: The per-minute counts also take the range's first minute and its number of minutes.
PER_MINUTE = {"ACCEPTED_PER_MINUTE", "DELIVERED_PER_MINUTE"}


def lite_params(name: str) -> tuple[object, ...]:
    return (SINCE.timestamp(), UNTIL.timestamp()) + ((SINCE.timestamp(), 60) if name in PER_MINUTE else ())


def pg_params(name: str) -> tuple[object, ...]:
    return (SINCE, UNTIL) + ((SINCE, 60) if name in PER_MINUTE else ())


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_sqlite_reads_search_their_index(lite: sqlite3.Connection, name: str):
    sql = getattr(lite_activity, name)
    plan = [row[3] for row in lite.execute(f"EXPLAIN QUERY PLAN {sql}", lite_params(name))]
    assert any(re.search(rf"SEARCH \w+ USING (COVERING )?INDEX {INDEXES[name]} ", step) for step in plan), (
        plan
    )
    assert not [step for step in plan if re.match(r"SCAN (messages|attempts|callbacks)\b", step)], plan


@pytest.mark.parametrize("name", ["ACCEPTED_PER_MINUTE", "DELIVERED_PER_MINUTE"])
def test_sqlite_counts_per_minute_never_read_the_table(lite: sqlite3.Connection, name: str):
    sql = getattr(lite_activity, name)
    plan = [row[3] for row in lite.execute(f"EXPLAIN QUERY PLAN {sql}", lite_params(name))]
    assert any("COVERING INDEX" in step for step in plan), plan


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(INDEXES))
async def test_postgres_reads_scan_their_index(pg_url: str, name: str):
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        sql = getattr(pg_activity, name)
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *pg_params(name)))
    finally:
        await conn.close()
    assert "Seq Scan" not in plan, plan
    if name == "DELIVERED_PER_MINUTE":
        # attempts is partitioned by day on PostgreSQL: the index's part in the one partition that holds the
        # range (the legacy partition holds every time up to migration 0025's day), the others pruned at plan time.
        scans = re.findall(r"Index Only Scan using (\S+) on (\S+)", plan)
        assert scans == [("attempts_legacy_started_outcome", "attempts_legacy")], plan
        return
    assert INDEXES[name] in plan, plan
