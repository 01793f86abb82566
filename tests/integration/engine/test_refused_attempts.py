"""An attempt the database refuses (a value its column cannot hold) stalls nobody: on each backend the recorder
records the batch's other attempts as they are, and the refused one without its texts, its callback moved all
the same."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

import pytest

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import models
from dlrhub.workers import dispatch_cache, endpoint_health, recorder
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running, states
from tests.receivers import Answer, Receiver

S = models.CallbackState
OK = models.AttemptOutcome.OK
#: Refused by both backends' drivers: a lone surrogate cannot be encoded as UTF-8.
SURROGATE = "\ud800"


def is_postgres(db: store.Store) -> bool:
    return type(db).__module__.startswith("dlrhub.store.postgres")


async def claim_five(db: store.Store) -> list[models.Callback]:
    """Five callbacks of five accounts, leased by `owner-1`."""
    for n in range(5):
        account = make_account(name=f"a{n}")
        await db.create_account(account, [])
        await ingest(db, account, f"m{n}", models.EventKind.SUCCESS, f"http://127.0.0.1:9/hook{n}")
    claimed = await db.claim_due_callbacks("owner-1", dt.datetime.now(dt.UTC), 10, 60.0)
    assert len(claimed) == 5
    return sorted(claimed, key=lambda c: c.message_id or "")


def result(
    cb: models.Callback, response: str, *, status: int = 200, retry: bool = False
) -> store.AttemptResult:
    attempt = models.Attempt(
        callback_id=cb.id,
        number=1,
        started_at=dt.datetime.now(dt.UTC),
        duration_ms=3.0,
        outcome=OK if status == 200 else models.AttemptOutcome.HTTP_STATUS,
        status_code=status,
        response=response,
        retry_after_s=7.0 if retry else None,
    )
    due = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    return store.AttemptResult(attempt, S.PENDING if retry else S.SUCCEEDED, due if retry else None)


async def record(
    db: store.Store, results: list[store.AttemptResult], held: list[models.Callback]
) -> dict[str, models.Callback]:
    cfg = config()
    holding = {cb.id: cb for cb in held}
    rec = recorder.Recorder(
        db,
        "owner-1",
        cfg,
        endpoint_health.Judgements(dispatch_cache.DispatchCache(db, cfg)),
        lambda: dt.datetime.now(dt.UTC),
        holding,
        asyncio.Event(),
    )
    for r in results:
        rec.record(r)
    rec.close()
    await asyncio.wait_for(rec.run(), 30)
    return holding


@pytest.mark.parametrize("bad", [1, 4])
async def test_a_refused_attempt_is_recorded_without_its_texts_and_the_others_as_they_are(db, caplog, bad):
    held = await claim_five(db)
    poison = "ok" + SURROGATE + "secret-ish body"
    results = [result(cb, f"fine {n}") for n, cb in enumerate(held)]
    results[bad] = result(held[bad], poison, status=503, retry=True)
    with caplog.at_level(logging.WARNING, "dlrhub.dispatch"):
        holding = await record(db, results, held)
    assert holding == {}  # every attempt written: nothing left held
    for n, cb in enumerate(held):
        [attempt] = await db.list_attempts(cb.id)
        now = await db.get_callback(cb.id)
        assert now.attempts == 1
        if n == bad:
            # Its outcome, status and retry kept: the callback is due again as the policy said.
            assert (attempt.response, attempt.error) == ("", recorder.NOT_STORABLE)
            assert (attempt.outcome, attempt.status_code, attempt.retry_after_s) == (
                models.AttemptOutcome.HTTP_STATUS,
                503,
                7.0,
            )
            assert now.state is S.PENDING and now.last_status == 503
            assert now.due_at == results[bad].due_at
        else:
            assert (attempt.response, attempt.error, attempt.status_code) == (f"fine {n}", "", 200)
            assert now.state is S.SUCCEEDED
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert held[bad].id in warning.getMessage()
    assert "secret-ish" not in caplog.text and "fine" not in caplog.text


async def test_a_nul_that_bypasses_storable_is_refused_on_postgres_and_stalls_nobody(db):
    held = await claim_five(db)
    results = [result(cb, f"fine {n}") for n, cb in enumerate(held)]
    results[2] = result(held[2], "a\x00b")  # SQLite stores it; PostgreSQL's text cannot hold NUL
    assert await record(db, results, held) == {}
    for n, cb in enumerate(held):
        [attempt] = await db.list_attempts(cb.id)
        assert (await db.get_callback(cb.id)).state is S.SUCCEEDED
        if n == 2:
            expected = "" if is_postgres(db) else "a\x00b"
            assert attempt.response == expected
        else:
            assert attempt.response == f"fine {n}"


async def test_a_row_refused_in_every_form_is_given_up_and_the_others_recorded(db, caplog):
    held = await claim_five(db)
    results = [result(cb, f"fine {n}") for n, cb in enumerate(held)]
    # An attempt number past every backend's integer: no degraded form helps, the lease sends it again when it ends.
    bad = dataclasses.replace(results[3].attempt, number=2**70)
    results[3] = dataclasses.replace(results[3], attempt=bad)
    with caplog.at_level(logging.WARNING, "dlrhub.dispatch"):
        assert await record(db, results, held) == {}
    expected = [S.SUCCEEDED, S.SUCCEEDED, S.SUCCEEDED, S.PENDING, S.SUCCEEDED]
    assert [(await db.get_callback(cb.id)).state for cb in held] == expected
    assert await db.list_attempts(held[3].id) == []
    # Still leased (not claimable) until its lease ends.
    assert await db.claim_due_callbacks("owner-2", dt.datetime.now(dt.UTC), 10, 60.0) == []
    assert "in every form" in caplog.text


async def test_a_receivers_answer_the_store_refuses_stalls_no_other_account(db, monkeypatch):
    # An answer `storable` lets through and the database refuses (as NUL was on PostgreSQL before it).
    monkeypatch.setattr(sender, "storable", lambda text: text.replace("poison", "poison" + SURROGATE))
    hostile, other = make_account(name="hostile"), make_account(name="other")
    for account in (hostile, other):
        await db.create_account(account, [])
    async with Receiver() as rec, running(db, config(flush_window_s=0.5)):
        rec.script("/poison", Answer(200, b"poison"))
        rec.script("/poison-failed", Answer(500, b"poison"))
        await ingest(db, hostile, "m-poison", models.EventKind.SUCCESS, rec.url("/poison"))
        await ingest(db, hostile, "m-poison-failed", models.EventKind.SUCCESS, rec.url("/poison-failed"))
        await ingest(db, other, "m-other", models.EventKind.SUCCESS, rec.url("/fine"))

        async def recorded():
            [failed] = await db.list_callbacks("m-poison-failed")
            return (
                await states(db, "m-poison") == [S.SUCCEEDED]
                and await states(db, "m-other") == [S.SUCCEEDED]
                and failed.attempts >= 1
            )

        await eventually(recorded)
    [cb] = await db.list_callbacks("m-poison")
    [attempt] = await db.list_attempts(cb.id)
    assert (attempt.outcome, attempt.status_code, attempt.error) == (OK, 200, recorder.NOT_STORABLE)
    [failed] = await db.list_callbacks("m-poison-failed")
    first = (await db.list_attempts(failed.id))[0]
    assert (first.status_code, first.error) == (500, recorder.NOT_STORABLE)
    assert failed.last_status == 500
    assert len(rec.bodies("/poison")) == 1  # recorded at once: not sent again at the lease's end
