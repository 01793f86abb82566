"""The PostgreSQL store's pool: made once, however many first calls come together."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from dlrhub import store
from dlrhub.store.postgres import core


@pytest.mark.postgres
async def test_first_uses_that_come_together_share_one_pool(pg_url: str):
    db = store.from_url(pg_url)
    assert isinstance(db, core.PostgresCore)
    try:
        pools = await asyncio.gather(*(db.pool() for _ in range(5)))
        assert len({id(p) for p in pools}) == 1
    finally:
        await db.close()


@pytest.mark.postgres
async def test_connections_run_in_read_committed_whatever_the_databases_default(pg_url: str):
    """An operator's `ALTER DATABASE … SET default_transaction_isolation` does not reach the store's connections."""
    admin = await asyncpg.connect(pg_url)
    try:
        name = await admin.fetchval("SELECT current_database()")
        await admin.execute(f"ALTER DATABASE \"{name}\" SET default_transaction_isolation = 'serializable'")
    finally:
        await admin.close()
    db = store.from_url(pg_url)
    assert isinstance(db, core.PostgresCore)
    try:
        pool = await db.pool()
        planner = await db.settings_pool("test", {"enable_seqscan": "off"})
        for p in (pool, planner):
            async with p.acquire() as conn, conn.transaction():
                assert await conn.fetchval("SHOW transaction_isolation") == "read committed"
        bare = await asyncpg.connect(pg_url)
        try:  # the database's default holds for others, so the test would fail without the store's setting
            assert await bare.fetchval("SHOW transaction_isolation") == "serializable"
        finally:
            await bare.close()
    finally:
        await db.close()
