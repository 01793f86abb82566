"""The PostgreSQL claims seek their indexes whatever the statistics say (EXPLAIN, never a timing).

A table analysed while none of its callbacks was pending, then given a backlog (autovacuum off, or lagging a
burst), makes the planner expect one pending row: any partial index of pending callbacks, filtered or read whole
and sorted, then looks as cheap as the right one's seek. Fresh statistics with a backlog make the fair claim's
`LIMIT t.take` (a column, not a constant) look like reading much of each range. In both, each read of the claims
must be a seek of the one index meant for it, with the claims' own settings (`PLAN_BY_INDEX`).
"""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest

from dlrhub import store
from dlrhub.store import claims
from dlrhub.store.postgres import callbacks, core

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: `$1` rows `state` `$2`, numbered from `$3`: `$4` accounts, each with `$5` destinations.
FILL = """
INSERT INTO callbacks (id, event_id, account_id, dialect, message_id, order_key, seq, method, url, body,
    content_type, endpoint, state, due_at, attempts, created_at, updated_at, health_key)
SELECT 'cb' || g, 'ev' || g, 'acc_' || (g % $4), 'native', 'm' || g, 'm' || g, 1, 'POST',
    'http://127.0.0.1:9/h' || (g % ($4 * $5)), '\\x00'::bytea, 'application/json',
    'http://127.0.0.1:9/h' || (g % ($4 * $5)), $2, $6, 0, $6, $6, 'acc_' || (g % $4)
FROM generate_series($3::int, $3::int + $1 - 1) g
"""
#: Each claim read and the indexes it may use (the leases are taken by address: one TID scan, no index).
CLAIMS = {
    "ACCOUNTS_PENDING": {"callbacks_account_due"},
    "CLAIM_DUE": {"callbacks_account_due", "callbacks_order"},
    "CLAIM_ENDPOINTS": {"callbacks_endpoint_due", "callbacks_order"},
}
#: How many TID scans (the lease's) each claim's plan has.
LEASES = {"ACCOUNTS_PENDING": 0, "CLAIM_DUE": 1, "CLAIM_ENDPOINTS": 1}
ACCOUNTS, DESTINATIONS = 4, 5


def params(name: str) -> tuple[object, ...]:
    until = NOW + dt.timedelta(minutes=1)
    if name == "ACCOUNTS_PENDING":
        return ("", claims.accounts(512))
    if name == "CLAIM_ENDPOINTS":
        endpoints = [f"http://127.0.0.1:9/h{i}" for i in range(3)]
        return (endpoints, [64] * len(endpoints), NOW, until, "w1")
    step = claims.Pass(512, 64, frozenset())
    accounts = [f"acc_{i}" for i in range(ACCOUNTS)]
    return (NOW, step.limit, until, "w1", [], step.quota, accounts, step.steps, step.share)


async def plan(pg_url: str, name: str) -> str:
    """The claim read's plan, as the claims plan it (on a connection with their settings)."""
    conn = await asyncpg.connect(pg_url, server_settings=callbacks.PLAN_BY_INDEX)
    try:
        found = await conn.fetch(f"EXPLAIN {getattr(callbacks, name)}", *params(name))
    finally:
        await conn.close()
    return "\n".join(r[0] for r in found)


@pytest.fixture(params=["stale", "fresh"])
async def backlog(request: pytest.FixtureRequest, pg_url: str):
    """20,000 pending callbacks over 4 accounts of 5 destinations each, in a table whose statistics were taken
    when it held only 2,000 succeeded ones ("stale"), or after the backlog came ("fresh")."""
    conn = await asyncpg.connect(pg_url)
    await conn.execute(FILL, 2_000, "succeeded", 1, ACCOUNTS, DESTINATIONS, NOW)
    await conn.execute("ANALYZE callbacks")
    await conn.execute(FILL, 20_000, "pending", 2_001, ACCOUNTS, DESTINATIONS, NOW)
    if request.param == "fresh":
        await conn.execute("ANALYZE callbacks")
    await conn.close()
    return pg_url


@pytest.mark.parametrize("name", sorted(CLAIMS))
async def test_claims_seek_their_indexes(backlog: str, name: str):
    text = await plan(backlog, name)
    scans = re.findall(
        r"((?:Index Only|Index|Bitmap Heap|Seq|Tid) Scan)(?: using (\S+))? on callbacks\b", text
    )
    assert scans, text
    assert [kind for kind, _ in scans].count("Tid Scan") == LEASES[name], (scans, text)
    seeks = [(kind, index) for kind, index in scans if kind != "Tid Scan"]
    assert all(kind in ("Index Scan", "Index Only Scan") for kind, _ in seeks), (scans, text)
    assert {index for _, index in seeks} <= CLAIMS[name], text
    # Nothing read from the table is sorted: each read's order is its index's.
    assert "Incremental Sort" not in text, text
    for match in re.finditer(r"Sort  \(", text):
        below = text[match.end() :].split("\n")[1:3]
        assert not any(" on callbacks " in line for line in below), text


async def test_claims_run_on_connections_with_their_settings(pg_url: str, monkeypatch: pytest.MonkeyPatch):
    """Both claims run on the claims' own connections, never on the store's pool with the default settings."""
    db = store.from_url(pg_url)
    try:

        async def default_pool() -> None:
            raise AssertionError("a claim used the store's pool")

        monkeypatch.setattr(db, "pool", default_pool)
        await db.claim_due_callbacks("w1", NOW, 10, 60)
        await db.claim_endpoint_callbacks("w1", NOW, {"http://127.0.0.1:9/h0": 4}, 60)
        assert isinstance(db, core.PostgresCore)
        claims_pool = await db.settings_pool("claims", callbacks.PLAN_BY_INDEX)
        assert await claims_pool.fetchval("SHOW enable_sort") == "off"
        assert await claims_pool.fetchval("SHOW enable_incremental_sort") == "off"
    finally:
        monkeypatch.undo()
        await db.close()
