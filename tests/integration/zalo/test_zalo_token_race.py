"""Two processes refreshing one OA's token at once: the per-OA lock lets one refresh, and the other adopts the
new tokens instead of spending the single-use refresh token again (against the simulator's OAuth endpoint)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from dlrhub import settings, store
from dlrhub.adapters.zalo import client
from dlrhub.services import accounts
from dlrhub.services import hub as hub_
from dlrhub.simulator import config as simulator_config
from dlrhub.workers import zalo_channel as worker
from tests.integration.zalo.conftest import RunningSimulator


@pytest.fixture
async def second_store(db: store.Store, db_url: str) -> AsyncIterator[store.Store]:
    """Another process's store: its own pool on PostgreSQL; on SQLite the same store (one process writes it)."""
    if db_url.startswith("sqlite"):
        yield db
        return
    other = store.from_url(db_url)
    try:
        yield other
    finally:
        await other.close()


async def test_concurrent_refreshers_make_one_grant(db, second_store, start_simulator):
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    oa = (await accounts.create(hub, "race")).oa
    oa = dataclasses.replace(oa, token_expires_at=dt.datetime.now(dt.UTC))  # due for a refresh now
    await db.put_oa(oa)
    known = simulator_config.SimOA(
        oa_id=oa.oa_id,
        oa_secret=oa.oa_secret,
        app_id=oa.app_id,
        app_secret=oa.app_secret,
        access_token=oa.access_token,
        refresh_token=oa.refresh_token,
    )
    running: RunningSimulator = await start_simulator(oas=(known,))
    other_hub = hub_.Hub(settings=settings.Settings(), store=second_store)
    async with (
        client.ZaloClient(api_base=running.url, oauth_base=running.url) as zalo_a,
        client.ZaloClient(api_base=running.url, oauth_base=running.url) as zalo_b,
    ):
        first = worker.ChannelWorker(hub, zalo_a)._keeper(oa)
        second = worker.ChannelWorker(other_hub, zalo_b)._keeper(oa)
        token_a, token_b = await asyncio.gather(first.access_token(), second.access_token())
        stored = await db.get_oa(oa.oa_id)
        assert stored is not None
        # The stored refresh token is the live one: it still works.
        again = await zalo_a.refresh_token(oa.app_id, oa.app_secret, stored.refresh_token)
    assert running.sim.tokens.grants == 2  # the race's one, and `again`
    assert first.refreshes + second.refreshes == 1
    assert token_a == token_b == stored.access_token != oa.access_token
    assert stored.refresh_token != oa.refresh_token
    assert again.ok
