"""What one status event writes: the event row, the message's new state and its callback rows (pure)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from dlrhub.core import ids, models, states, urls

#: Renders an event (after its move) into callback requests; the service closes it over account and app.
RenderFn = Callable[
    [models.Message | None, models.Journey | None, models.StatusEvent], list[models.CallbackRequest]
]


@dataclasses.dataclass(frozen=True, slots=True)
class IngestResult:
    """What storing one event did."""

    event: models.StatusEvent
    message: models.Message | None
    journey: models.Journey | None
    callbacks: list[models.Callback]
    #: True when the event id was already stored: nothing was written.
    duplicate: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """Everything one event writes, in one transaction."""

    event: models.StatusEvent
    message: models.Message | None
    journey: models.Journey | None
    callbacks: list[models.Callback]


def plan_event(
    event: models.StatusEvent,
    message: models.Message | None,
    journey: models.Journey | None,
    render: RenderFn,
    now: dt.datetime,
) -> Plan:
    """Offer `event` to its message and journey, and render callbacks when it applies.

    `message` is the stored message (or the one being created, for `accepted`), `journey` the stored journey.
    An event that does not move anything is still recorded, with `applied=False` and no callbacks.
    """
    new_message = message
    applied = False
    if message is not None and event.kind is not models.EventKind.JOURNEY_TIME_OUT:
        # A message with seq 0 is being created by this event: it has no state to move from yet.
        current = None if message.seq == 0 and event.kind is models.EventKind.ACCEPTED else message.state
        move = states.message_move(current, event.kind)
        applied = move.applied
        if applied:
            new_message = _advance(message, move.state, event, now)
    new_journey = journey
    if journey is not None and states.is_journey_event(event.kind):
        jmove = states.journey_move(journey.state, event.kind)
        applied = jmove.applied if message is None or not applied else applied and jmove.applied
        if jmove.applied:
            changes: dict[str, Any] = {"state": jmove.state}
            if event.kind is models.EventKind.JOURNEY_ACKNOWLEDGED:
                changes["acknowledged_message_id"] = event.message_id
            new_journey = dataclasses.replace(journey, **changes)
    elif message is None and states.is_journey_event(event.kind):
        applied = True
    if new_message is not None and event.kind is not models.EventKind.JOURNEY_TIME_OUT:
        seq = new_message.seq if applied else (message.seq if message else 0)
        order_key = new_message.id
    else:
        seq, order_key = 1, f"journey:{event.journey_id}"
    recorded = dataclasses.replace(event, seq=seq, applied=applied)
    callbacks: list[models.Callback] = []
    if applied:
        account_id = (new_message or new_journey or _missing()).account_id
        for request in render(new_message, new_journey, recorded):
            callbacks.append(
                models.Callback(
                    id=ids.callback_id(event.id, request.url),
                    event_id=event.id,
                    account_id=account_id,
                    dialect=new_message.dialect if new_message else models.Dialect.NXCLOUD,
                    order_key=order_key,
                    seq=seq,
                    request=request,
                    state=models.CallbackState.PENDING,
                    due_at=now,
                    attempts=0,
                    created_at=now,
                    message_id=new_message.id if new_message else None,
                    endpoint=urls.endpoint_key(request.url),
                )
            )
    return Plan(recorded, new_message, new_journey, callbacks)


def _advance(
    message: models.Message, state: models.MessageState, event: models.StatusEvent, now: dt.datetime
) -> models.Message:
    changes: dict[str, Any] = {"state": state, "seq": message.seq + 1, "updated_at": now}
    if event.kind is not models.EventKind.JOURNEY_ACKNOWLEDGED:
        changes["code"] = event.code
        changes["text"] = event.text
    if event.zalo_res is not None:
        changes["zalo_res"] = event.zalo_res
        data = event.zalo_res.get("data")
        if isinstance(data, dict) and isinstance(data.get("msg_id"), str):
            changes["zalo_msg_id"] = data["msg_id"]
    if event.kind in (models.EventKind.SUCCESS, models.EventKind.FAILED):
        changes["sent_at"] = event.occurred_at
    return dataclasses.replace(message, **changes)


def _missing() -> models.Message:
    raise ValueError("an event needs a message or a journey")
