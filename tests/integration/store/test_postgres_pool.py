"""The PostgreSQL store's pool: made once, however many first calls come together."""

from __future__ import annotations

import asyncio

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
