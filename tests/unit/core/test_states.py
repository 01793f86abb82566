"""The state machine: no event sequence moves a status backwards, and a repeated event changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import models, states
from dlrhub.planning import events as planning
from tests.conftest import make_account

NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
KINDS = st.sampled_from(list(models.EventKind))
#: How far along a message is: the oracle "backwards" is measured against.
RANK = {
    models.MessageState.ACCEPTED: 0,
    models.MessageState.SUCCESS: 1,
    models.MessageState.FAILED: 1,
    models.MessageState.DELIVERED: 2,
}


def message(state: models.MessageState = models.MessageState.ACCEPTED) -> models.Message:
    return models.Message(
        id="m1",
        account_id="a1",
        dialect=models.Dialect.NATIVE,
        type_id=25,
        recipient="84900000001",
        state=state,
        seq=0,
        created_at=NOW,
        updated_at=NOW,
        callback_url="https://example.com/cb",
    )


#: Plans render with the registry's renderers: a native message with a URL gets one POST per applied event.
INPUTS = planning.RenderInputs(make_account())


def test_documented_path() -> None:
    m = states.message_move(None, models.EventKind.ACCEPTED)
    assert m == states.Move(models.MessageState.ACCEPTED, applied=True)
    assert states.message_move(m.state, models.EventKind.SUCCESS).state is models.MessageState.SUCCESS
    assert states.message_move(models.MessageState.SUCCESS, models.EventKind.DELIVERED).applied
    assert not states.message_move(models.MessageState.DELIVERED, models.EventKind.FAILED).applied
    assert not states.message_move(models.MessageState.FAILED, models.EventKind.SUCCESS).applied
    assert not states.message_move(models.MessageState.SUCCESS, models.EventKind.ACCEPTED).applied


def test_journey_moves_once() -> None:
    issued = models.JourneyState.ISSUED
    acked = states.journey_move(issued, models.EventKind.JOURNEY_ACKNOWLEDGED)
    assert acked == states.JourneyMove(models.JourneyState.ACKNOWLEDGED, applied=True)
    assert not states.journey_move(acked.state, models.EventKind.JOURNEY_TIME_OUT).applied
    assert (
        states.journey_move(issued, models.EventKind.JOURNEY_TIME_OUT).state is models.JourneyState.TIMED_OUT
    )


@given(st.lists(KINDS, max_size=30))
def test_status_never_goes_backwards(kinds: list[models.EventKind]) -> None:
    current: models.MessageState | None = None
    for kind in kinds:
        move = states.message_move(current, kind)
        if current is not None:
            assert RANK[move.state] >= RANK[current]
            if not move.applied:
                assert move.state is current
        current = move.state


@given(st.lists(st.tuples(st.integers(0, 5), KINDS), max_size=30))
def test_an_event_seen_twice_changes_nothing(events: list[tuple[int, models.EventKind]]) -> None:
    """Replaying any prefix of already-seen events (same ids) leaves the message as it was."""
    seen: set[str] = set()
    current = message()
    first = planning.plan_event(
        models.StatusEvent(id="accepted", kind=models.EventKind.ACCEPTED, occurred_at=NOW, message_id="m1"),
        current,
        None,
        INPUTS,
        NOW,
    )
    assert first.message is not None
    current = first.message
    history: list[models.StatusEvent] = []
    for n, kind in events:
        event = models.StatusEvent(id=f"e{n}-{kind.value}", kind=kind, occurred_at=NOW, message_id="m1")
        if event.id in seen:  # the store drops repeated ids before planning
            continue
        seen.add(event.id)
        plan = planning.plan_event(event, current, None, INPUTS, NOW)
        assert plan.message is not None
        assert plan.message.seq >= current.seq
        current = plan.message
        history.append(event)
    # The same kinds again under new ids: only moves that are still allowed apply, and none goes back.
    for event in history:
        again = planning.plan_event(
            dataclasses.replace(event, id=event.id + "-again"), current, None, INPUTS, NOW
        )
        assert again.message is not None
        assert RANK[again.message.state] >= RANK[current.state]
        assert again.message.state is current.state


def test_unapplied_event_renders_no_callback() -> None:
    delivered = message(models.MessageState.DELIVERED)
    failed = planning.plan_event(
        models.StatusEvent(id="f", kind=models.EventKind.FAILED, occurred_at=NOW, message_id="m1"),
        delivered,
        None,
        INPUTS,
        NOW,
    )
    assert not failed.event.applied
    assert failed.callbacks == []
    assert failed.message is not None and failed.message.state is models.MessageState.DELIVERED
    # The same event on a message it moves does render, so the empty list above is the planner's doing.
    success = planning.plan_event(
        models.StatusEvent(id="s", kind=models.EventKind.SUCCESS, occurred_at=NOW, message_id="m1"),
        message(),
        None,
        INPUTS,
        NOW,
    )
    assert len(success.callbacks) == 1


def test_callback_ids_are_stable_and_ordered() -> None:
    event = models.StatusEvent(id="s", kind=models.EventKind.SUCCESS, occurred_at=NOW, message_id="m1")
    on_port = dataclasses.replace(message(), callback_url="https://example.com:8443/cb?x=1")
    a = planning.plan_event(event, on_port, None, INPUTS, NOW)
    b = planning.plan_event(event, on_port, None, INPUTS, NOW)
    assert [c.id for c in a.callbacks] == [c.id for c in b.callbacks]
    (cb,) = a.callbacks
    assert (cb.order_key, cb.seq, cb.endpoint) == ("m1", 1, "https://example.com:8443")
    assert (cb.dialect, cb.request.method) == (models.Dialect.NATIVE, "POST")
