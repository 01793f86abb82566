"""Retention's deletes walk indexes on both backends: none scans a whole table (ADR 0002 on SQLite; on PostgreSQL a
chunk that scanned the table would read every row of it every few minutes)."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest

from dlrhub.store.postgres import retention

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
    assert len(STATEMENTS) == 16


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
