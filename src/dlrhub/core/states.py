"""The message and journey state machines: which events move a status, and where to."""

from __future__ import annotations

import dataclasses

from dlrhub.core import models

_MESSAGE_TARGET: dict[models.EventKind, models.MessageState] = {
    models.EventKind.ACCEPTED: models.MessageState.ACCEPTED,
    models.EventKind.SUCCESS: models.MessageState.SUCCESS,
    models.EventKind.FAILED: models.MessageState.FAILED,
    models.EventKind.DELIVERED: models.MessageState.DELIVERED,
}

#: The moves a message may make. Nothing leaves `failed` or `delivered`, so a status never goes backwards.
MESSAGE_MOVES: dict[models.MessageState, frozenset[models.MessageState]] = {
    models.MessageState.ACCEPTED: frozenset(
        {models.MessageState.SUCCESS, models.MessageState.FAILED, models.MessageState.DELIVERED}
    ),
    models.MessageState.SUCCESS: frozenset({models.MessageState.DELIVERED}),
    models.MessageState.FAILED: frozenset(),
    models.MessageState.DELIVERED: frozenset(),
}

_JOURNEY_TARGET: dict[models.EventKind, models.JourneyState] = {
    models.EventKind.JOURNEY_ACKNOWLEDGED: models.JourneyState.ACKNOWLEDGED,
    models.EventKind.JOURNEY_TIME_OUT: models.JourneyState.TIMED_OUT,
}

#: A journey leaves `issued` once, for good.
JOURNEY_MOVES: dict[models.JourneyState, frozenset[models.JourneyState]] = {
    models.JourneyState.ISSUED: frozenset({models.JourneyState.ACKNOWLEDGED, models.JourneyState.TIMED_OUT}),
    models.JourneyState.ACKNOWLEDGED: frozenset(),
    models.JourneyState.TIMED_OUT: frozenset(),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Move:
    """The outcome of offering one event to a message: its new state, and whether the event applies."""

    state: models.MessageState
    applied: bool


@dataclasses.dataclass(frozen=True, slots=True)
class JourneyMove:
    """The outcome of offering one event to a journey."""

    state: models.JourneyState
    applied: bool


def is_journey_event(kind: models.EventKind) -> bool:
    """True for the events that move a journey."""
    return kind in _JOURNEY_TARGET


def message_move(current: models.MessageState | None, kind: models.EventKind) -> Move:
    """Offer event `kind` to a message in state `current` (None: the message does not exist yet).

    Journey events never move a message's status, but they apply (they are facts about it).
    An event that would move the status backwards, or sideways, does not apply.
    """
    if current is None:
        if kind is models.EventKind.ACCEPTED:
            return Move(models.MessageState.ACCEPTED, applied=True)
        # A message first seen through a later status: an external engine may skip `accepted`.
        target = _MESSAGE_TARGET.get(kind)
        if target is None:
            return Move(models.MessageState.ACCEPTED, applied=False)
        return Move(target, applied=True)
    if kind is models.EventKind.JOURNEY_ACKNOWLEDGED:
        return Move(current, applied=True)
    target = _MESSAGE_TARGET.get(kind)
    if target is None or target not in MESSAGE_MOVES[current]:
        return Move(current, applied=False)
    return Move(target, applied=True)


def journey_move(current: models.JourneyState, kind: models.EventKind) -> JourneyMove:
    """Offer event `kind` to a journey in state `current`."""
    target = _JOURNEY_TARGET.get(kind)
    if target is None or target not in JOURNEY_MOVES[current]:
        return JourneyMove(current, applied=False)
    return JourneyMove(target, applied=True)
