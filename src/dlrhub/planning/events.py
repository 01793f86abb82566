"""What one status event writes: the event row, the message's new state and its callback rows (pure).

`decide` is `Store.apply_event`'s one decision for both backends: the backend reads (and on PostgreSQL locks)
the event's message, journey and any stored event with its id, `decide` settles them, and the backend writes
what it returns. Callbacks are rendered here, by the dialect registry's renderer, from plain `RenderInputs`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from dlrhub.core import errors, frozen, ids, models, rendering, states, urls
from dlrhub.dialects import registry


@dataclasses.dataclass(frozen=True, slots=True)
class RenderInputs:
    """What the renderers read besides the event, its message and journey: the services pass it to the store."""

    account: models.Account
    #: The NXCloud app (DR URL and quotation) of the message or journey, if any.
    app: models.App | None = None


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

    @property
    def account_id(self) -> str | None:
        """The account the event belongs to (its message's, else its journey's): the event row names it."""
        owner = self.message or self.journey
        return owner.account_id if owner is not None else None


@dataclasses.dataclass(frozen=True, slots=True)
class Applied:
    """What `apply_event` returns and writes: nothing when `plan` is None (a duplicate)."""

    result: IngestResult
    plan: Plan | None
    #: True when the plan's message is not stored yet: insert it rather than update it.
    insert_message: bool = False


def plan_event(
    event: models.StatusEvent,
    message: models.Message | None,
    journey: models.Journey | None,
    inputs: RenderInputs,
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
            new_journey = frozen.replace(journey, **changes)
    if not applied:
        # An event its journey refuses (an acknowledgement after the time-out) moves the message no more either.
        new_message = message
    if new_message is not None and event.kind is not models.EventKind.JOURNEY_TIME_OUT:
        seq = new_message.seq if applied else (message.seq if message else 0)
        order_key = new_message.id
    else:
        seq, order_key = 1, f"journey:{event.journey_id}"
    recorded = frozen.replace(event, seq=seq, applied=applied)
    callbacks: list[models.Callback] = []
    if applied:
        owner = new_message or new_journey
        assert owner is not None  # only a message or a journey applies an event
        account_id = owner.account_id
        dialect = registry.dialect_of(new_message)
        ctx = rendering.RenderContext(
            event=recorded,
            account=inputs.account,
            message=new_message,
            journey=new_journey,
            app=inputs.app,
        )
        for request in registry.of(dialect).renderer(ctx):
            callbacks.append(
                models.Callback(
                    id=ids.callback_id(event.id, request.url),
                    event_id=event.id,
                    account_id=account_id,
                    dialect=dialect,
                    order_key=order_key,
                    seq=seq,
                    request=request,
                    state=models.CallbackState.PENDING,
                    due_at=now,
                    attempts=0,
                    created_at=now,
                    message_id=new_message.id if new_message else None,
                    endpoint=urls.endpoint_key(request.url),
                    health_key=urls.health_key(account_id, request.url),
                    traceparent=new_message.traceparent if new_message else None,
                )
            )
    return Plan(recorded, new_message, new_journey, callbacks)


def decide(
    event: models.StatusEvent,
    seen: models.StatusEvent | None,
    message: models.Message | None,
    journey: models.Journey | None,
    new_message: models.Message | None,
    inputs: RenderInputs,
    now: dt.datetime,
) -> Applied:
    """Settle `apply_event` for `event`, given what the store holds: the event stored under its id (`seen`),
    its message and its journey.

    A seen event id is a duplicate: the stored event, message and journey come back and nothing is written.
    Otherwise `new_message` stands in for a message the store lacks. Raises errors.UnknownMessage when the
    event names a message that is neither stored nor given, errors.UnknownJourney for a journey's event whose
    journey is not stored and that names no message (the journey pruned since a webhook looked it up), and errors.Conflict when its id is stored for
    another message or journey (nothing may be written then: the store undoes what it did).
    """
    if seen is not None:
        if _other_owner(seen.message_id, event.message_id) or _other_owner(seen.journey_id, event.journey_id):
            raise errors.Conflict(f"event {event.id!r} was stored for another message or journey")
        return Applied(IngestResult(seen, message, journey, [], duplicate=True), None)
    insert = False
    if message is None and event.message_id:
        if new_message is None:
            raise errors.UnknownMessage(f"no message {event.message_id!r}")
        message, insert = new_message, True
    if message is None and journey is None and states.is_journey_event(event.kind):
        raise errors.UnknownJourney(f"no journey {event.journey_id!r}")
    plan = plan_event(event, message, journey, inputs, now)
    return Applied(IngestResult(plan.event, plan.message, plan.journey, plan.callbacks), plan, insert)


def _other_owner(stored: str | None, given: str | None) -> bool:
    """Whether an event id stored naming `stored` comes again naming another: a journey's event names its message
    when it is found, and may come again without it (or with it, found since)."""
    return stored is not None and given is not None and stored != given


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
        # Zalo's ZNS answer names it `msg_id`; the OA API's answer (eSMS samples) `message_id`.
        found = data.get("msg_id") or data.get("message_id") if isinstance(data, dict) else None
        if isinstance(found, str) and found:
            changes["zalo_msg_id"] = found
    if event.kind in (models.EventKind.SUCCESS, models.EventKind.FAILED):
        changes["sent_at"] = event.occurred_at
    return frozen.replace(message, **changes)
