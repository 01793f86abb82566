"""`Store.accept_messages` (one transaction for many accepts) and the queue that feeds it, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from dlrhub import errors, models, store
from dlrhub.services import group_commit
from dlrhub.store import base
from tests.conftest import make_account

NOW = dt.datetime(2024, 5, 1, 2, 12, 39, tzinfo=dt.UTC)


def _no_callbacks(message, journey, event):
    return []


def _accept(
    account: models.Account, message_id: str, charge: str = "1", request_id: str | None = None
) -> base.Accept:
    message = models.Message(
        id=message_id, account_id=account.id, dialect=models.Dialect.NXCLOUD, type_id=25, recipient="84901888484",
        state=models.MessageState.ACCEPTED, seq=0, created_at=NOW, updated_at=NOW, request_id=request_id,
        price=Decimal(charge), currency="USD",
    )  # fmt: skip
    accepted = models.StatusEvent(
        id=f"{message_id}:accepted", kind=models.EventKind.ACCEPTED, occurred_at=NOW, message_id=message_id
    )
    since = NOW - dt.timedelta(hours=24) if request_id else None
    return base.Accept(message, accepted, _no_callbacks, charge=Decimal(charge), dedup_since=since)


async def test_each_accept_stands_alone_in_one_transaction(db: store.Store):
    await db.migrate()
    rich, poor = make_account(balance=Decimal("10")), make_account(balance=Decimal("1.5"))
    await db.create_account(rich, [])
    await db.create_account(poor, [])
    batch = [
        _accept(rich, "m1", request_id="r1"),
        _accept(poor, "m2"),
        _accept(poor, "m3"),  # 0.5 left: refused
        _accept(rich, "m4", request_id="r1"),  # same RequestId as m1, in the same batch
        _accept(rich, "m5", charge="0"),
    ]
    results = await db.accept_messages(batch)
    assert [type(r).__name__ for r in results] == [
        "IngestResult", "IngestResult", "InsufficientBalance", "DuplicateRequest", "IngestResult",
    ]  # fmt: skip
    duplicate = results[3]
    assert isinstance(duplicate, errors.DuplicateRequest)
    assert duplicate.existing_message_id == "m1"
    assert (await db.get_account(rich.id)).balance == Decimal("9")
    assert (await db.get_account(poor.id)).balance == Decimal("0.5")
    for kept in ("m1", "m2", "m5"):
        assert [e.kind for e in await db.list_events(kept)] == [models.EventKind.ACCEPTED]
    for refused in ("m3", "m4"):
        with pytest.raises(errors.UnknownMessage):
            await db.get_message(refused)
    assert await db.accept_messages([]) == []


async def test_concurrent_accepts_share_transactions_and_keep_their_own_answers(db: store.Store):
    await db.migrate()
    account = make_account(balance=Decimal("30"))
    await db.create_account(account, [])
    outcomes = await asyncio.gather(
        *[group_commit.accept(db, _accept(account, f"c{i}")) for i in range(40)], return_exceptions=True
    )
    accepted = [o for o in outcomes if isinstance(o, store.IngestResult)]
    refused = [o for o in outcomes if isinstance(o, errors.InsufficientBalance)]
    assert (len(accepted), len(refused)) == (30, 10)
    assert (await db.get_account(account.id)).balance == Decimal("0")
    assert {o.message.id for o in accepted if o.message} == {
        m.id for m in await db.get_messages(account.id, [f"c{i}" for i in range(40)])
    }
