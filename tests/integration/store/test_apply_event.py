"""`apply_event` settles duplicate, stale and out-of-order events alike on SQLite and PostgreSQL.

Each test runs on both backends and pins the whole `IngestResult`, so both must return the same one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.planning import events as planning
from tests.conftest import make_account, make_journey

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
E = models.EventKind


async def _message(db: store.Store) -> planning.RenderInputs:
    """Account, journey `j1` (issued) and native message `m1` (accepted, on `j1`); the render inputs."""
    account = make_account()
    await db.create_account(account, [])
    await db.put_journey(
        make_journey(account.id, "j1", NOW, token="tok", expires_at=NOW + dt.timedelta(hours=1))
    )
    message = models.Message(
        id="m1", account_id=account.id, dialect=models.Dialect.NATIVE, type_id=25, recipient="84900000001",
        state=models.MessageState.ACCEPTED, seq=0, created_at=NOW, updated_at=NOW,
        callback_url="https://example.com/cb", price=Decimal("300"), journey_id="j1",
    )  # fmt: skip
    inputs = planning.RenderInputs(account)
    await db.accept_message(message, _event(E.ACCEPTED), inputs, now=NOW)
    return inputs


def _event(
    kind: models.EventKind, eid: str | None = None, journey_id: str | None = None
) -> models.StatusEvent:
    return models.StatusEvent(
        id=eid or f"m1:{kind.value}", kind=kind, occurred_at=NOW, message_id="m1", journey_id=journey_id
    )


async def test_a_duplicate_returns_what_is_stored(db: store.Store) -> None:
    inputs = await _message(db)
    ack = _event(E.JOURNEY_ACKNOWLEDGED, journey_id="j1")
    first = await db.apply_event(ack, inputs, now=NOW)
    assert first.event.applied and first.journey is not None and len(first.callbacks) == 1
    again = await db.apply_event(ack, inputs, now=NOW)
    stored = store.IngestResult(
        (await db.list_events("m1"))[-1], await db.get_message("m1"), await db.get_journey("j1"), [], True
    )
    assert again == stored
    assert again == dataclasses.replace(first, callbacks=[], duplicate=True)
    assert len(await db.list_events("m1")) == 2


async def test_a_duplicate_after_later_moves_returns_the_first_event_and_the_current_message(
    db: store.Store,
) -> None:
    inputs = await _message(db)
    success = await db.apply_event(_event(E.SUCCESS), inputs, now=NOW)
    delivered = await db.apply_event(_event(E.DELIVERED), inputs, now=NOW)
    again = await db.apply_event(_event(E.SUCCESS), inputs, now=NOW)
    assert again == store.IngestResult(success.event, delivered.message, None, [], duplicate=True)


async def test_a_stale_event_is_recorded_unapplied(db: store.Store) -> None:
    inputs = await _message(db)
    await db.apply_event(_event(E.SUCCESS), inputs, now=NOW)
    delivered = await db.apply_event(_event(E.DELIVERED), inputs, now=NOW)
    assert delivered.message is not None and delivered.message.seq == 3
    for late in (_event(E.SUCCESS, "late-success"), _event(E.FAILED)):
        result = await db.apply_event(late, inputs, now=NOW)
        unapplied = dataclasses.replace(late, seq=3, applied=False)
        assert result == store.IngestResult(unapplied, delivered.message, None, [])
    assert await db.get_message("m1") == delivered.message


async def test_out_of_order_events_keep_the_furthest_state(db: store.Store) -> None:
    inputs = await _message(db)
    delivered = await db.apply_event(_event(E.DELIVERED), inputs, now=NOW)
    assert delivered.message is not None
    assert (delivered.message.state, delivered.message.seq) == (models.MessageState.DELIVERED, 2)
    assert [c.seq for c in delivered.callbacks] == [2] and delivered.journey is None
    success = await db.apply_event(_event(E.SUCCESS), inputs, now=NOW)
    unapplied = dataclasses.replace(_event(E.SUCCESS), seq=2, applied=False)
    assert success == store.IngestResult(unapplied, delivered.message, None, [])
    assert [(e.kind, e.seq, e.applied) for e in await db.list_events("m1")] == [
        (E.ACCEPTED, 1, True),
        (E.DELIVERED, 2, True),
        (E.SUCCESS, 2, False),
    ]


async def test_an_acknowledgement_after_the_time_out_is_recorded_unapplied(db: store.Store) -> None:
    inputs = await _message(db)
    timeout = models.StatusEvent(
        id="journey:j1:journey_time_out", kind=E.JOURNEY_TIME_OUT, occurred_at=NOW, journey_id="j1"
    )
    timed_out = await db.apply_event(timeout, inputs, now=NOW)
    assert timed_out.journey is not None and timed_out.journey.state is models.JourneyState.TIMED_OUT
    ack = _event(E.JOURNEY_ACKNOWLEDGED, journey_id="j1")
    before = await db.get_message("m1")
    result = await db.apply_event(ack, inputs, now=NOW)
    unapplied = dataclasses.replace(ack, seq=1, applied=False)
    assert (result.event, result.journey, result.callbacks) == (unapplied, timed_out.journey, [])
    # The unapplied event leaves the message as stored, and the result says so.
    assert result.message == before
    assert await db.get_message("m1") == before


async def test_an_event_id_stored_for_another_message_is_refused(db: store.Store) -> None:
    """An event id is an idempotency key: the same id again for *another* message is no duplicate of it (the
    caller would hear its event was stored while nothing was, and no callback went), nor a new event (its
    callbacks' ids, derived from the event's id and the URL, would collide with the first's). Refused, and
    nothing of it is written: not even the new message its first event would have made."""
    inputs = await _message(db)
    first = await db.apply_event(_event(E.SUCCESS, "engine-1"), inputs, now=NOW)
    other = models.Message(
        id="m2", account_id=inputs.account.id, dialect=models.Dialect.NATIVE, type_id=25,
        recipient="84900000002", state=models.MessageState.ACCEPTED, seq=0, created_at=NOW, updated_at=NOW,
        callback_url="https://example.com/cb", price=Decimal("300"),
    )  # fmt: skip
    reused = models.StatusEvent(id="engine-1", kind=E.SUCCESS, occurred_at=NOW, message_id="m2")
    with pytest.raises(errors.Conflict, match="engine-1"):
        await db.apply_event(reused, inputs, now=NOW, new_message=other)
    with pytest.raises(errors.UnknownMessage):
        await db.get_message("m2")
    # Stored since, the message refuses it as well.
    await db.accept_message(other, models.StatusEvent("m2:accepted", E.ACCEPTED, NOW, "m2"), inputs, now=NOW)
    with pytest.raises(errors.Conflict):
        await db.apply_event(reused, inputs, now=NOW)
    assert [e.id for e in await db.list_events("m2")] == ["m2:accepted"]
    # The id's own message still hears it as the duplicate it is.
    again = await db.apply_event(_event(E.SUCCESS, "engine-1"), inputs, now=NOW)
    assert again.duplicate and again.event == first.event


async def test_the_event_ids_of_a_pruned_message_are_free_again(db: store.Store) -> None:
    """Retention forgets a message with its events: an id of theirs that comes again is a new event, as it was
    before events were partitioned, for its message made again or for another. (On PostgreSQL a pruned message's
    events stay in their day's partition until the day is dropped: the id's lookup must not find them there.)"""
    later = NOW + dt.timedelta(
        days=2
    )  # a day with its own partition on PostgreSQL (the template's week ahead)
    account = make_account()
    await db.create_account(account, [])
    inputs = planning.RenderInputs(account)
    gone = models.Message(
        id="m9", account_id=account.id, dialect=models.Dialect.NATIVE, type_id=25, recipient="84900000001",
        state=models.MessageState.ACCEPTED, seq=0, created_at=later, updated_at=later, callback_url=None,
        price=Decimal("300"),
    )  # fmt: skip
    engine = models.StatusEvent(id="engine-9", kind=E.SUCCESS, occurred_at=later, message_id="m9")
    for mid in ("m8", "m9"):
        made = await db.apply_event(
            dataclasses.replace(engine, id=f"engine-{mid[1:]}", message_id=mid),
            inputs,
            now=later,
            new_message=dataclasses.replace(gone, id=mid),
        )
        assert not made.duplicate
    assert (await db.prune_messages(later + dt.timedelta(days=1), 100))["messages"] == 2

    # Made again days later, as retention's own days would have it (its old events' day is still there).
    again_at = later + 2 * dt.timedelta(days=1)
    made_again = dataclasses.replace(gone, created_at=again_at, updated_at=again_at)
    again = await db.apply_event(engine, inputs, now=again_at, new_message=made_again)
    assert not again.duplicate and again.event.applied
    assert [e.id for e in await db.list_events("m9")] == ["engine-9"]
    # Nor is it refused for another message.
    other = dataclasses.replace(made_again, id="m10")
    reused = dataclasses.replace(engine, id="engine-8", message_id="m10")
    assert not (await db.apply_event(reused, inputs, now=again_at, new_message=other)).duplicate
    assert [e.id for e in await db.list_events("m10")] == ["engine-8"]


async def test_a_message_id_made_again_by_another_account_shows_none_of_the_old_events(
    db: store.Store,
) -> None:
    """A message id is free again once retention deleted its message, for any account (an engine numbering its
    messages `m-1`, `m-2`…). The new message's history holds its own events only: none of the old message's, which
    on PostgreSQL stay in their day's partition until the day is dropped."""
    made = NOW + dt.timedelta(
        days=1
    )  # days with their own partition on PostgreSQL (the template's week ahead)
    late = made + dt.timedelta(days=2)
    first, second = make_account(), make_account()
    for account in (first, second):
        await db.create_account(account, [])
    old = models.Message(
        id="m-1", account_id=first.id, dialect=models.Dialect.NATIVE, type_id=25, recipient="84900000001",
        state=models.MessageState.ACCEPTED, seq=0, created_at=made, updated_at=made, callback_url=None,
        price=Decimal("300"),
    )  # fmt: skip
    accepted = models.StatusEvent(id="a-1", kind=E.ACCEPTED, occurred_at=made, message_id="m-1")
    await db.accept_message(old, accepted, planning.RenderInputs(first), now=made)
    delivered = models.StatusEvent(id="a-2", kind=E.DELIVERED, occurred_at=made, message_id="m-1")
    await db.apply_event(delivered, planning.RenderInputs(first), now=made)
    # A late, stale event: recorded, unapplied, and the message's last change stays the delivery.
    stale = models.StatusEvent(
        id="a-3", kind=E.SUCCESS, occurred_at=made, message_id="m-1", raw={"to": "8490"}
    )
    assert not (await db.apply_event(stale, planning.RenderInputs(first), now=late)).event.applied
    assert (await db.prune_messages(late, 100))["messages"] == 1

    again = dataclasses.replace(old, account_id=second.id, created_at=late, updated_at=late)
    mine = models.StatusEvent(id="b-1", kind=E.ACCEPTED, occurred_at=late, message_id="m-1")
    await db.accept_message(again, mine, planning.RenderInputs(second), now=late)
    assert [e.id for e in await db.list_events("m-1")] == ["b-1"]
    # Nor is an old event's id taken as one of the new message's.
    reused = dataclasses.replace(stale, raw=None)
    later = late + dt.timedelta(minutes=1)
    assert not (await db.apply_event(reused, planning.RenderInputs(second), now=later)).duplicate
    assert [e.id for e in await db.list_events("m-1")] == ["b-1", "a-3"]


async def test_a_journey_event_whose_journey_is_gone_writes_nothing(db: store.Store) -> None:
    """A journey's time-out that reaches the store after its journey was pruned (between the webhook's lookup
    and its write) is refused as an unknown journey, and leaves nothing behind."""
    inputs = await _message(db)
    timed_out = models.StatusEvent(
        id="journey:gone:journey_time_out", kind=E.JOURNEY_TIME_OUT, occurred_at=NOW, journey_id="gone"
    )
    for _ in range(2):
        with pytest.raises(errors.UnknownJourney):
            await db.apply_event(timed_out, inputs, now=NOW)
    # Nothing was stored under the id: once the journey exists, the same event applies rather than repeats.
    journey = await db.get_journey("j1")
    assert journey is not None
    await db.put_journey(dataclasses.replace(journey, journey_id="gone", token="tok2"))
    result = await db.apply_event(timed_out, inputs, now=NOW)
    assert result.event.applied and not result.duplicate
