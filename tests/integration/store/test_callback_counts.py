"""The counts a scrape reads (migration 0014's triggers) match the callbacks, on each backend, through every write
that moves a callback; and the oldest pending due time comes off the index."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from dlrhub import store
from dlrhub.core import models
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest

S = models.CallbackState
D = models.Dialect
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


async def truth(db: store.Store, message_ids: list[str]) -> dict[tuple[D, S], int]:
    """The counts the slow way: every callback read back."""
    found = dict.fromkeys(((d, s) for d in D for s in S), 0)
    for mid in message_ids:
        for cb in await db.list_callbacks(mid):
            found[(cb.dialect, cb.state)] += 1
    return found


def attempt(cb: models.Callback, outcome: models.AttemptOutcome) -> models.Attempt:
    return models.Attempt(callback_id=cb.id, number=1, started_at=NOW, duration_ms=5.0, outcome=outcome)


async def test_counts_follow_inserts_attempts_and_cancels(db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    mids = [f"m{i}" for i in range(6)]
    for mid in mids:
        await ingest(db, account, mid, models.EventKind.SUCCESS, "http://127.0.0.1:9/hook")
    await ingest(db, account, "m0", models.EventKind.DELIVERED, "http://127.0.0.1:9/hook")
    assert (await db.callback_counts())[(D.NATIVE, S.PENDING)] == 7
    assert await db.callback_counts() == await truth(db, mids)

    claimed = await db.claim_due_callbacks("me", NOW, 10, 30.0)  # a claim moves no state: counts unchanged
    assert await db.callback_counts() == await truth(db, mids)
    results = [
        store.AttemptResult(attempt(claimed[0], models.AttemptOutcome.OK), S.SUCCEEDED, None),
        store.AttemptResult(attempt(claimed[1], models.AttemptOutcome.HTTP_STATUS), S.FAILED, None),
        store.AttemptResult(attempt(claimed[2], models.AttemptOutcome.TIMEOUT), S.PENDING, NOW),
    ]
    await db.record_attempts(results, NOW)
    assert await db.cancel_callbacks([claimed[3].id], NOW) == 1
    counts = await db.callback_counts()
    assert counts == await truth(db, mids)
    assert (counts[(D.NATIVE, S.SUCCEEDED)], counts[(D.NATIVE, S.FAILED)]) == (1, 1)
    assert counts[(D.NATIVE, S.CANCELLED)] == 1
    assert counts[(D.NATIVE, S.PENDING)] == 4
    assert await db.count_callbacks() == {S.PENDING: 4, S.SUCCEEDED: 1, S.FAILED: 1, S.CANCELLED: 1}


async def test_oldest_pending_due_at(db: store.Store):
    assert await db.oldest_pending_due_at() is None
    account = make_account()
    await db.create_account(account, [])
    await ingest(db, account, "a", models.EventKind.SUCCESS, "http://127.0.0.1:9/hook")
    await ingest(db, account, "b", models.EventKind.SUCCESS, "http://127.0.0.1:9/hook")
    [first] = await db.list_callbacks("a")
    [second] = await db.list_callbacks("b")
    assert await db.oldest_pending_due_at() == min(first.due_at, second.due_at)
    claimed = await db.claim_due_callbacks("me", first.due_at + dt.timedelta(seconds=1), 10, 30.0)
    await db.record_attempts(
        [store.AttemptResult(attempt(cb, models.AttemptOutcome.OK), S.SUCCEEDED, None) for cb in claimed], NOW
    )
    assert await db.oldest_pending_due_at() is None


@pytest.mark.postgres
async def test_postgres_folds_the_rows_of_gone_backends(pg_url: str):
    db = store.from_url(pg_url)
    try:
        account = make_account()
        await db.create_account(account, [])
        await ingest(db, account, "m1", models.EventKind.SUCCESS, "http://127.0.0.1:9/hook")
        conn = await asyncpg.connect(pg_url)
        try:
            # A backend that wrote and went away (no process has this id).
            await conn.execute(
                "INSERT INTO callback_counts (dialect, state, slot, n) VALUES ('esms', 'failed', 2000000000, 3)"
            )
            counts = await db.callback_counts()
            slots = await conn.fetch("SELECT slot FROM callback_counts WHERE dialect = 'esms'")
        finally:
            await conn.close()
        assert counts[(D.ESMS, S.FAILED)] == 3
        assert counts[(D.NATIVE, S.PENDING)] == 1
        assert [r["slot"] for r in slots] == [0]
        assert await db.callback_counts() == counts
    finally:
        await db.close()
