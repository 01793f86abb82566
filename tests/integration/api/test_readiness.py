"""`/readyz` says not ready while a background worker is down or the schema is not migrated, on both backends;
the supervisor restarts a crashed worker and `/readyz` names it meanwhile."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dlrhub import runtime, settings, store
from dlrhub.api import app as app_
from dlrhub.services import hub as hub_


def _client(db: store.Store) -> tuple[hub_.Hub, httpx.AsyncClient]:
    hub = hub_.Hub(settings=settings.Settings(admin_token="test-admin-token-0123456789"), store=db)
    transport = httpx.ASGITransport(app=app_.create_app(hub))
    return hub, httpx.AsyncClient(transport=transport, base_url="http://dlrhub.test")


@pytest.fixture
def empty_url(empty_db_url: str) -> str:
    """A database URL on each backend with no migration applied."""
    return empty_db_url


async def test_an_unmigrated_database_is_not_ready_until_migrated(empty_url: str) -> None:
    db = store.from_url(empty_url)
    _, client = _client(db)
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["error"] == "not_ready"
        assert "run `dlrhub migrate`" in body["message"]
        assert body["pending_migrations"][0] == "0001_initial"
        await db.migrate()
        assert (await client.get("/readyz")).json() == {"status": "ready"}
    finally:
        await client.aclose()
        await db.close()


async def test_schema_state_compares_the_applied_migrations_with_the_codes(empty_url: str) -> None:
    db = store.from_url(empty_url)
    try:
        before = await db.schema_state()
        assert before.pending and not before.unknown and not before.current
        await db.migrate()
        assert (await db.schema_state()).current
    finally:
        await db.close()


async def test_a_crashed_worker_is_restarted_and_readyz_names_it_meanwhile(db: store.Store) -> None:
    hub, client = _client(db)
    stop = asyncio.Event()
    runs: list[int] = []
    crashed, restart, restarted = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def worker(stop: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("boom")
        restarted.set()
        await stop.wait()

    async def backoff(delay: float, stop: asyncio.Event) -> None:
        crashed.set()
        await restart.wait()  # the test decides when the backoff is over: no sleeping

    supervisor = asyncio.create_task(runtime.supervise("dispatcher", worker, stop, hub.health, sleep=backoff))
    try:
        assert (await client.get("/readyz")).status_code in (200, 503)
        await asyncio.wait_for(crashed.wait(), 10)
        r = await client.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["workers_down"] == {"dispatcher": "RuntimeError"}
        assert "dispatcher" in r.json()["message"]
        assert "boom" not in r.text  # an exception's message may hold anything: only its type is shown
        restart.set()
        await asyncio.wait_for(restarted.wait(), 10)
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        assert len(runs) == 2
    finally:
        stop.set()
        await asyncio.wait_for(supervisor, 10)
        await client.aclose()
