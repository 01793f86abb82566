"""A native status event on PostgreSQL: the statements it sends, each a round trip (`services.events`)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dlrhub import settings
from dlrhub.core import models
from dlrhub.planning import events as planning
from dlrhub.services import events
from dlrhub.services import hub as hub_
from dlrhub.store import postgres
from dlrhub.store.postgres import core
from tests.conftest import make_account

pytestmark = pytest.mark.postgres
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
async def hub(pg_url: str) -> AsyncIterator[hub_.Hub]:
    # One connection: every statement of the test goes through the one the logger is on.
    db = postgres.PostgresStore(pg_url, max_size=1)
    yield hub_.Hub(settings=settings.Settings(), store=db)
    await db.close()


async def _logged(hub: hub_.Hub) -> list[str]:
    """The statements the hub's store sends from now on, in order."""
    assert isinstance(hub.store, postgres.PostgresStore)
    sent: list[str] = []
    pool = await hub.store.pool()
    async with pool.acquire() as conn:
        conn.add_query_logger(lambda q: sent.append(q.query))
    return sent


def _event(account: models.Account, eid: str, mid: str, kind: models.EventKind) -> events.ExternalEvent:
    return events.ExternalEvent(
        event_id=eid,
        message_id=mid,
        account_id=account.id,
        kind=kind,
        type_id=25,
        dialect=models.Dialect.NATIVE,
        occurred_at=NOW,
        recipient="84900000001",
        callback_url="https://customer.example/cb",
    )


async def test_an_event_takes_five_round_trips(hub: hub_.Hub, pg_url: str) -> None:
    account = make_account()
    woken = asyncio.Event()
    listener = await asyncpg.connect(pg_url)
    await listener.add_listener(core.CALLBACKS_CHANNEL, lambda *_: woken.set())
    await hub.store.create_account(account, [])
    # Warm: the account's cached read, the tables' column types, asyncpg's prepared statements.
    await events.ingest_external(hub, _event(account, "w-1", "warm", models.EventKind.ACCEPTED))
    await events.ingest_external(hub, _event(account, "w-2", "warm", models.EventKind.SUCCESS))
    sent = await _logged(hub)
    woken.clear()

    # A message's first event: the service's read of the message, BEGIN, the message's insert with the check of
    # the event's id, the writes (event, message, callback, NOTIFY), COMMIT.
    first = await events.ingest_external(hub, _event(account, "e-1", "m-1", models.EventKind.ACCEPTED))
    assert first.message is not None and first.message.state is models.MessageState.ACCEPTED
    assert len(sent) == 5, sent
    # A later event of a stored message: its read locks the message instead of inserting it.
    sent.clear()
    later = await events.ingest_external(hub, _event(account, "e-2", "m-1", models.EventKind.SUCCESS))
    assert later.message is not None and later.message.state is models.MessageState.SUCCESS
    assert len(later.callbacks) == 1
    assert len(sent) == 5, sent
    await asyncio.wait_for(woken.wait(), 10)  # its callback woke the dispatchers
    await listener.close()
    # A duplicate writes nothing, and reads the stored event.
    sent.clear()
    again = await events.ingest_external(hub, _event(account, "e-2", "m-1", models.EventKind.SUCCESS))
    assert again.duplicate and again.event == later.event
    assert len(sent) == 5, sent
    assert len(await hub.store.list_callbacks("m-1")) == len(first.callbacks) + 1


async def test_a_first_event_whose_message_was_stored_meanwhile_locks_it(hub: hub_.Hub) -> None:
    """Two first events of one message: the second's service read found no message, then the first stored it."""
    account = make_account()
    await hub.store.create_account(account, [])
    first = await events.ingest_external(hub, _event(account, "e-1", "m-1", models.EventKind.ACCEPTED))
    for eid, kind in (("w-1", models.EventKind.ACCEPTED), ("w-2", models.EventKind.SUCCESS)):  # warm
        await events.ingest_external(hub, _event(account, eid, "warm", kind))
    assert first.message is not None
    sent = await _logged(hub)
    late = models.StatusEvent(id="e-2", kind=models.EventKind.SUCCESS, occurred_at=NOW, message_id="m-1")
    inputs = planning.RenderInputs(account)
    result = await hub.store.apply_event(
        late, inputs, now=NOW, new_message=dataclasses.replace(first.message, seq=0)
    )
    # BEGIN, the insert that finds the message stored, the locking read, the writes, COMMIT.
    assert len(sent) == 5, sent
    assert result.message is not None and result.message.state is models.MessageState.SUCCESS
    assert result.message.seq == first.message.seq + 1 and len(result.callbacks) == 1
    assert [e.id for e in await hub.store.list_events("m-1")] == ["e-1", "e-2"]
