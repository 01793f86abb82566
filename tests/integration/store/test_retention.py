"""Retention on each backend: old finished rows go in chunks; pending, in-flight and recent rows stay; a message
goes only after its callbacks; a RequestId stays through its 24 h window. The clock is the hub's, injected."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from dlrhub import settings, store
from dlrhub.core import control, errors, models
from dlrhub.services import hub as hub_
from dlrhub.services import retention
from tests.conftest import make_account, make_journey
from tests.integration.store.test_contract import event, inputs, new_message

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=40)


async def no_pause(_took_s: float) -> None:
    """Tests take no time between chunks."""


def hub_on(db: store.Store, **config: Any) -> hub_.Hub:
    return hub_.Hub(settings=settings.Settings(**config), store=db, clock=lambda: NOW)


async def accept(db: store.Store, account: models.Account, mid: str, at: dt.datetime, **changes: Any) -> None:
    message = dataclasses.replace(new_message(account, mid, **changes), created_at=at, updated_at=at)
    since = at - dt.timedelta(hours=24)
    await db.accept_message(
        message, event(mid, models.EventKind.ACCEPTED), inputs(account), now=at, dedup_since=since
    )


async def deliver(db: store.Store, mid: str, at: dt.datetime, state: models.CallbackState) -> None:
    """Apply message `mid`'s `success` event at `at` (a native message with a URL gets a callback for it), claim
    its callback and record one attempt, which leaves it in `state`."""
    await db.apply_event(event(mid, models.EventKind.SUCCESS), inputs(make_account()), now=at)
    claimed = await db.claim_due_callbacks("w", at, 100, 30)
    results = [
        store.AttemptResult(
            models.Attempt(
                callback_id=c.id, number=1, started_at=at, duration_ms=1.0, outcome=models.AttemptOutcome.OK
            ),
            state,
            at + dt.timedelta(hours=1) if state is models.CallbackState.PENDING else None,
        )
        for c in claimed
        if c.message_id == mid
    ]
    await db.record_attempts(results, at)
    await db.release_callbacks("w", [(c.id, at) for c in claimed if c.message_id != mid], at)


async def test_old_finished_rows_go_and_the_rest_stays(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    await accept(db, account, "old", OLD)
    await deliver(db, "old", OLD, models.CallbackState.SUCCEEDED)
    await accept(db, account, "pending", OLD)  # its callback is still being retried
    await deliver(db, "pending", OLD, models.CallbackState.PENDING)
    await accept(db, account, "recent", NOW - dt.timedelta(days=1))
    await deliver(db, "recent", NOW - dt.timedelta(days=1), models.CallbackState.SUCCEEDED)
    before = NOW - dt.timedelta(days=30)

    # A message goes only after its callbacks: "old"'s callback is still there.
    assert await db.prune_messages(before, 1000) == {"messages": 0, "events": 0}
    assert await db.prune_callbacks(before, 1000) == {"callbacks": 1, "attempts": 1}
    # The pending callback's attempt is history: it goes, the callback stays pending with its count.
    assert await db.prune_attempts(before, 1000) == {"attempts": 1}
    assert await db.prune_messages(before, 1000) == {"messages": 1, "events": 2}

    with pytest.raises(errors.UnknownMessage):
        await db.get_message("old")
    assert await db.list_events("old") == []
    (pending,) = await db.list_callbacks("pending")
    assert (pending.state, pending.attempts) == (models.CallbackState.PENDING, 1)
    assert (await db.get_message("pending")).id == "pending"
    (recent,) = await db.list_callbacks("recent")
    assert len(await db.list_attempts(recent.id)) == 1
    assert len(await db.list_events("recent")) == 2


async def test_a_message_queued_for_zalo_stays(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    for mid in ("queued", "sent"):
        message = dataclasses.replace(
            new_message(account, mid, callback_url=None), created_at=OLD, updated_at=OLD
        )
        await db.accept_message(
            message, event(mid, models.EventKind.ACCEPTED), inputs(account), now=OLD, channel_due_at=OLD
        )
    await db.finish_channel_message("sent", OLD)
    assert await db.prune_messages(NOW, 1000) == {"messages": 1, "events": 1}
    assert (await db.get_message("queued")).id == "queued"


async def test_request_ids_stay_through_their_window(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    await accept(db, account, "m1", NOW - dt.timedelta(days=3), request_id="r-old")
    await accept(db, account, "m2", NOW - dt.timedelta(hours=2), request_id="r-new")
    hub = hub_on(db, retain_request_ids_days=1)
    assert (await retention.prune(hub, pause=no_pause))["request_ids"] == 1
    # Inside the window the id is still refused; the pruned one may be used again.
    with pytest.raises(errors.DuplicateRequest):
        await accept(db, account, "m3", NOW, request_id="r-new")
    await accept(db, account, "m4", NOW, request_id="r-old")


async def test_journeys_go_with_their_last_message_unless_issued(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    journey = make_journey(account.id, "j-done", OLD, state=models.JourneyState.TIMED_OUT)
    await db.put_journey(journey)
    await db.put_journey(
        dataclasses.replace(journey, journey_id="j-issued", token="t2", state=models.JourneyState.ISSUED)
    )
    await db.put_journey(dataclasses.replace(journey, journey_id="j-used", token="t3"))
    await accept(db, account, "m-j", NOW, callback_url=None, journey_id="j-used")
    assert await db.prune_journeys(NOW - dt.timedelta(days=30), 1000) == {"journeys": 1, "events": 0}
    assert await db.get_journey("j-done") is None
    assert await db.get_journey("j-issued") is not None
    assert await db.get_journey("j-used") is not None


async def test_orphans_and_audit_entries_go_after_their_days(db: store.Store) -> None:
    for n, at in enumerate((OLD, NOW - dt.timedelta(hours=1))):
        await db.put_orphan_receipt("oa", f"z{n}", None, {"n": n}, at)
        entry = control.AuditEntry(f"a{n}", at, "cli:ops", "account.lock", "acc", {})
        await db.append_audit(entry)
    hub = hub_on(db, retain_orphans_days=7, retain_audit_days=30)
    counts = await retention.prune(hub, pause=no_pause)
    assert (counts["orphan_receipts"], counts["audit_log"]) == (1, 1)
    assert await db.count_orphan_receipts() == 1
    assert [e.id for e in await db.list_audit(store.AuditFilter())] == ["a1"]
    assert hub.metrics.pruned.labels(kind="audit_log")._value.get() == 1


async def test_a_chunk_deletes_at_most_its_limit(db: store.Store) -> None:
    for n in range(5):
        await db.append_audit(control.AuditEntry(f"a{n}", OLD, "cli:ops", "account.lock", "acc", {}))
    assert [await db.prune_audit(NOW, 2) for _ in range(4)] == [{"audit_log": n} for n in (2, 2, 1, 0)]

    for n in range(5):
        await db.append_audit(control.AuditEntry(f"b{n}", OLD, "cli:ops", "account.lock", "acc", {}))
    kind = next(k for k in retention.KINDS if k.table == "audit_log")
    paused: list[float] = []

    async def pause(took_s: float) -> None:
        paused.append(took_s)

    assert await retention.prune_kind(db, kind, NOW, limit=2, pause=pause) == ({"audit_log": 5}, 3)
    assert len(paused) == 2  # between the chunks, not after the last


async def test_zero_days_keeps_a_kind_for_ever(db: store.Store) -> None:
    await db.append_audit(control.AuditEntry("a0", OLD - dt.timedelta(days=3650), "cli:ops", "x.y", "t", {}))
    counts = await retention.prune(hub_on(db, retain_audit_days=0), pause=no_pause)
    assert counts["audit_log"] == 0
    assert len(await db.list_audit(store.AuditFilter())) == 1


def test_the_pause_between_chunks_follows_the_chunks_cost() -> None:
    # A fast chunk waits the floor; a slow one (a big SQLite file, on the event loop) waits DUTY times its own time,
    # so pruning never takes more than a twentieth of the store's time.
    assert retention.pause_after(0.001) == retention.PAUSE_S
    assert retention.pause_after(0.1) == pytest.approx(retention.DUTY * 0.1)
    assert retention.DUTY >= 19


#: Past every day partition the PostgreSQL test database has: there these events are in `events_default`.
FAR = dt.datetime(2030, 6, 1, 12, tzinfo=dt.UTC)


async def test_events_that_belong_to_nothing_kept_go_a_day_past_the_events_cutoff(db: store.Store) -> None:
    """An event with no message whose journey is not stored (one stored with no owner, one naming a journey that
    is gone) goes by age, as its day's partition would on PostgreSQL: a day (the margin for clocks) past the
    events' cutoff. One of a journey still kept and one not that old stay."""
    account = make_account()
    await db.create_account(account, [])
    cutoff = FAR - dt.timedelta(days=30)
    old = cutoff - dt.timedelta(days=3)
    kept = make_journey(account.id, "j-kept", old, expires_at=FAR)
    await db.put_journey(kept)
    stored: dict[str, tuple[str | None, dt.datetime]] = {
        "lonely": (None, old),
        "stray": ("j-gone", old),
        "pinned": ("j-kept", old),
        "edge": (None, cutoff - dt.timedelta(hours=12)),  # less than the margin before the cutoff
    }

    def ownerless(eid: str) -> models.StatusEvent:
        journey_id, at = stored[eid]
        return models.StatusEvent(
            id=eid, kind=models.EventKind.SUCCESS, occurred_at=at, journey_id=journey_id
        )

    for eid, (_, at) in stored.items():
        assert not (await db.apply_event(ownerless(eid), inputs(account), now=at)).duplicate
    config = settings.Settings(retain_messages_days=30, retain_callbacks_days=30)
    hub = hub_.Hub(settings=config, store=db, clock=lambda: FAR)
    counts = await retention.prune(hub, pause=no_pause)
    assert counts["events"] == 2
    assert hub.metrics.pruned.labels(kind="events")._value.get() == counts["events"]
    # An event kept is still known by its id (a repeat is a duplicate); a pruned one is not.
    again = {
        eid: (await db.apply_event(ownerless(eid), inputs(account), now=FAR)).duplicate for eid in stored
    }
    assert again == {"lonely": False, "stray": False, "pinned": True, "edge": True}
