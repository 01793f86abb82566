"""The recorder's answer to a batch the database refuses: halve it down to the refused rows, record the others as
they are and each refused one degraded; an outage meanwhile loses no attempt and writes none twice."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.workers import dispatch_cache, endpoint_health, recorder
from dlrhub.workers import dispatch_config as config_

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Store:
    """Records attempts in `written`; refuses any batch with a response holding "bad"; fails the calls numbered in
    `down_at` as an outage."""

    def __init__(self, down_at: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.written: list[models.Attempt] = []
        self.calls = 0
        self.down_at = down_at

    async def record_attempts(self, results: list[store.AttemptResult], now: dt.datetime) -> None:
        self.calls += 1
        if self.calls in self.down_at:
            raise errors.StoreUnavailable()
        if any("bad" in r.attempt.response for r in results):
            raise errors.Unstorable()
        self.written += [r.attempt for r in results]


def result(n: int, response: str) -> store.AttemptResult:
    attempt = models.Attempt(
        callback_id=f"cb{n}",
        number=1,
        started_at=NOW,
        duration_ms=1.0,
        outcome=models.AttemptOutcome.HTTP_STATUS,
        status_code=500,
        response=response,
        retry_after_s=3.0,
    )
    return store.AttemptResult(attempt, models.CallbackState.PENDING, NOW)


async def run(db: Store, results: list[store.AttemptResult]) -> dict[str, models.Callback]:
    cfg = config_.DispatchConfig()
    holding: dict[str, models.Callback] = {r.attempt.callback_id: None for r in results}  # type: ignore[misc]
    rec = recorder.Recorder(
        db,  # type: ignore[arg-type]
        "owner",
        cfg,
        endpoint_health.Judgements(dispatch_cache.DispatchCache(db, cfg)),  # type: ignore[arg-type]
        lambda: NOW,
        holding,
        asyncio.Event(),
    )
    for r in results:
        rec.record(r)
    rec.close()
    await asyncio.wait_for(rec.run(), 10)
    return holding


@pytest.mark.parametrize("down_at", [set(), {1}, {3}, {4, 7}, {9}])
async def test_refused_rows_are_found_and_every_attempt_is_written_once(down_at):
    bad = {2, 5}
    results = [result(n, "bad" if n in bad else f"ok {n}") for n in range(8)]
    db = Store(down_at)
    assert await run(db, results) == {}
    assert [a.callback_id for a in db.written] == [f"cb{n}" for n in range(8)]
    for n, attempt in enumerate(db.written):
        if n in bad:
            assert (attempt.response, attempt.error) == ("", recorder.NOT_STORABLE)
            assert (attempt.status_code, attempt.retry_after_s) == (500, 3.0)
        else:
            assert (attempt.response, attempt.error) == (f"ok {n}", "")


async def test_a_batch_without_a_refused_row_is_one_write():
    db = Store()
    await run(db, [result(n, "ok") for n in range(50)])
    assert (db.calls, len(db.written)) == (1, 50)


def test_the_degraded_forms_keep_the_outcome_and_the_callbacks_move():
    original = result(1, "bad")
    texts, bare = recorder.degraded(original)
    assert (texts.attempt.response, texts.attempt.error, texts.attempt.status_code) == (
        "",
        recorder.NOT_STORABLE,
        500,
    )
    assert (bare.attempt.status_code, bare.attempt.retry_after_s, bare.attempt.error) == (
        None,
        None,
        recorder.NOT_STORABLE,
    )
    for form in (texts, bare):
        assert (form.attempt.outcome, form.attempt.number, form.state, form.due_at) == (
            original.attempt.outcome,
            1,
            original.state,
            original.due_at,
        )
