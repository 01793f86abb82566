"""The overview's reads of recent activity on each backend: counts per minute inside `[since, until)` only, callbacks
that finished badly, Zalo-channel messages by result, quota spent on a day."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from dlrhub import store
from dlrhub.core import models
from dlrhub.store import activity
from tests.conftest import make_account
from tests.integration.store.test_contract import inputs, new_message
from tests.unit.esms import factories

NOW = dt.datetime(2026, 6, 1, 12, 30, 30, tzinfo=dt.UTC)
SINCE = dt.datetime(2026, 6, 1, 11, 31, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 6, 1, 12, 31, tzinfo=dt.UTC)


def at(minutes_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes_ago)


async def accept(
    db: store.Store, account: models.Account, mid: str, when: dt.datetime, **changes: Any
) -> None:
    message = dataclasses.replace(new_message(account, mid, **changes), created_at=when, updated_at=when)
    accepted = models.StatusEvent(
        id=f"{mid}:accepted", kind=models.EventKind.ACCEPTED, occurred_at=when, message_id=mid
    )
    queued = when if message.oa_id else None
    await db.accept_message(message, accepted, inputs(account), now=when, channel_due_at=queued)


async def report(
    db: store.Store,
    mid: str,
    kind: models.EventKind,
    code: int,
    zalo_res: models.JSON | None = None,
    when: dt.datetime = NOW,
) -> None:
    """Apply the send's outcome to message `mid` at `when`, as the Zalo channel does (a native message with a URL
    gets a callback for it, due then)."""
    outcome = models.StatusEvent(
        id=f"{mid}:{kind.value}", kind=kind, occurred_at=when, message_id=mid, code=code, zalo_res=zalo_res
    )
    await db.apply_event(outcome, inputs(make_account()), now=when)


async def sent(db: store.Store, account: models.Account, mid: str, when: dt.datetime) -> None:
    """A native message accepted and sent at `when`: its `success` callback is due then."""
    await accept(db, account, mid, when)
    await report(db, mid, models.EventKind.SUCCESS, 0, when=when)


async def attempt(
    db: store.Store, when: dt.datetime, outcome: models.AttemptOutcome, state: models.CallbackState
):
    """Claim every due callback and record one attempt of each at `when`, leaving it in `state`."""
    claimed = await db.claim_due_callbacks("w", when, 100, 30)
    await db.record_attempts(
        [
            store.AttemptResult(
                models.Attempt(callback_id=c.id, number=1, started_at=when, duration_ms=1.0, outcome=outcome),
                state,
                when + dt.timedelta(hours=1) if state is models.CallbackState.PENDING else None,
            )
            for c in claimed
        ],
        when,
    )
    return claimed


async def test_accepted_per_minute_counts_the_window_only(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    for mid, when in (
        ("before", SINCE - dt.timedelta(seconds=1)),  # just out of the window
        ("first", SINCE),
        ("a", at(10.1)),
        ("b", at(10.2)),
        ("last", UNTIL - dt.timedelta(milliseconds=1)),
        ("after", UNTIL),  # out: the range is half-open
    ):
        await accept(db, account, mid, when)
    found = await db.accepted_per_minute(SINCE, UNTIL)
    assert found == {
        SINCE: 1,
        dt.datetime(2026, 6, 1, 12, 20, tzinfo=dt.UTC): 2,
        dt.datetime(2026, 6, 1, 12, 30, tzinfo=dt.UTC): 1,
    }
    assert all(k.tzinfo is not None for k in found)


async def test_deliveries_per_minute_and_callbacks_that_finished_badly(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    await sent(db, account, "ok1", at(50))
    await sent(db, account, "ok2", at(50))
    assert len(await attempt(db, at(49.9), models.AttemptOutcome.OK, models.CallbackState.SUCCEEDED)) == 2
    await sent(db, account, "retried", at(5))
    retried = await attempt(db, at(5), models.AttemptOutcome.HTTP_STATUS, models.CallbackState.PENDING)
    assert len(retried) == 1  # an attempt that is not a delivery
    await sent(db, account, "gave-up", at(3))
    [gave_up] = await attempt(db, at(3), models.AttemptOutcome.CONNECT, models.CallbackState.FAILED)
    assert gave_up.message_id == "gave-up"
    await sent(db, account, "stopped", at(2))
    [stopped] = await db.list_callbacks("stopped")
    assert await db.cancel_callbacks([stopped.id], at(1)) == 1
    await sent(db, account, "old", at(90))
    assert len(await attempt(db, at(90), models.AttemptOutcome.OK, models.CallbackState.SUCCEEDED)) == 1

    assert await db.delivered_per_minute(SINCE, UNTIL) == {dt.datetime(2026, 6, 1, 11, 40, tzinfo=dt.UTC): 2}
    assert await db.finished_badly(SINCE, UNTIL) == {
        models.CallbackState.FAILED: 1,
        models.CallbackState.CANCELLED: 1,
    }
    assert await db.finished_badly(UNTIL, UNTIL + dt.timedelta(hours=1)) == {
        models.CallbackState.FAILED: 0,
        models.CallbackState.CANCELLED: 0,
    }


async def test_zalo_results_group_channel_messages_by_state_code_and_zalo_error(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    oa = factories.oa(account_id=account.id, oa_id="100", daily_quota=10)
    await db.put_oa(oa)
    zns: dict[str, Any] = {"oa_id": "100", "dialect": models.Dialect.ESMS, "callback_url": None}
    for mid in ("sent1", "sent2", "refused1", "refused2", "refused3", "timeout", "waiting"):
        await accept(db, account, mid, at(20), **zns)
    await accept(db, account, "native", at(20))  # not through the Zalo channel
    await accept(db, account, "earlier", at(70), **zns)  # before the window
    await report(db, "sent1", models.EventKind.SUCCESS, 0, {"error": 0, "message": "Success"})
    await report(db, "sent2", models.EventKind.SUCCESS, 0, {"error": 0, "message": "Success"})
    await report(db, "sent2", models.EventKind.DELIVERED, 17003)
    for mid in ("refused1", "refused2"):
        await report(
            db, mid, models.EventKind.FAILED, 17004, {"error": -118, "message": "Zalo account not existed"}
        )
    await report(db, "refused3", models.EventKind.FAILED, 17004, {"error": "odd"})  # not a number: no error
    await report(db, "timeout", models.EventKind.FAILED, 17005, {"error": -1, "message": "timeout"})

    found = await db.zalo_results(SINCE, UNTIL)
    failed, accepted = models.MessageState.FAILED, models.MessageState.ACCEPTED
    assert found[0] == store.ZaloResult(failed, 17004, -118, 2)  # the largest group first
    assert set(found) == {
        store.ZaloResult(failed, 17004, -118, 2),
        store.ZaloResult(models.MessageState.SUCCESS, 0, None, 1),
        store.ZaloResult(models.MessageState.DELIVERED, 17003, None, 1),
        store.ZaloResult(failed, 17004, None, 1),
        store.ZaloResult(failed, 17005, -1, 1),
        store.ZaloResult(accepted, None, None, 1),
    }
    assert len(found) <= activity.MAX_RESULT_GROUPS


async def test_quota_used_is_the_day_s_count_per_oa(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    await db.put_oa(factories.oa(account_id=account.id, oa_id="100", daily_quota=10))
    await db.put_oa(factories.oa(account_id=account.id, oa_id="200", daily_quota=10))
    for mid, oa_id in (("a", "100"), ("b", "100"), ("c", "200")):
        await accept(db, account, mid, at(1), oa_id=oa_id, dialect=models.Dialect.ESMS)
    claimed = await db.claim_channel_messages(NOW, 10, 60, "2026-06-01", NOW + dt.timedelta(days=1))
    assert len(claimed) == 3
    assert await db.quota_used("2026-06-01") == {"100": 2, "200": 1}
    assert await db.quota_used("2026-06-02") == {}
