"""How an internal status shows on the eSMS wire: the outcome of a message and its counts (PROTOCOLS §4)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Protocol

from dlrhub.core import models
from dlrhub.dialects.esms import codes


class Outcome(enum.StrEnum):
    """A message's status in eSMS terms."""

    #: Accepted, not yet answered by Zalo or the engine (`SendStatus` 2).
    QUEUED = "queued"
    #: Refused by dlrhub after acceptance, before sending, with an eSMS code (`SendStatus` 4).
    REJECTED = "rejected"
    #: Zalo (or the engine) accepted the send (`SendStatus` 5, `SendSuccess` 1).
    SENT = "sent"
    #: Zalo refused it or timed out (`SendStatus` 5, `SendFailed` 1).
    FAILED = "failed"
    #: The message reached the phone: as SENT, with Zalo's status in `error_info`.
    DELIVERED = "delivered"


@dataclasses.dataclass(frozen=True, slots=True)
class Counts:
    """The count fields of one outcome; `charged` says whether `TotalPrice` is the price or 0."""

    send_failed: int
    send_status: int
    send_success: int
    total_sent: int
    charged: bool
    #: One message always has one receiver.
    total_receiver: int = 1


_COUNTS: dict[Outcome, Counts] = {
    Outcome.QUEUED: Counts(send_failed=0, send_status=2, send_success=0, total_sent=0, charged=False),
    Outcome.REJECTED: Counts(send_failed=1, send_status=4, send_success=0, total_sent=0, charged=False),
    # DECISIONS › `TotalSent` of a failed ZNS: 0, in the push and in the pull alike.
    Outcome.FAILED: Counts(send_failed=1, send_status=5, send_success=0, total_sent=0, charged=False),
    Outcome.SENT: Counts(send_failed=0, send_status=5, send_success=1, total_sent=1, charged=True),
    Outcome.DELIVERED: Counts(send_failed=0, send_status=5, send_success=1, total_sent=1, charged=True),
}


def counts(outcome: Outcome) -> Counts:
    """The count fields eSMS shows for `outcome`."""
    return _COUNTS[outcome]


def is_rejection(code: int | None, zalo_res: object) -> bool:
    """A failure is a rejection when dlrhub refused the message itself (a positive code: eSMS's table, or the
    channel worker's 1100/1102/9000-9005) and Zalo never answered. Zalo's own codes are 0 or negative."""
    return zalo_res is None and code is not None and code > 0 and code != int(codes.Code.ACCEPTED)


def of_event(event: models.StatusEvent) -> Outcome | None:
    """The outcome a message event reports; None for events that are not about a message's send."""
    if event.kind is models.EventKind.ACCEPTED:
        return Outcome.QUEUED
    if event.kind is models.EventKind.SUCCESS:
        return Outcome.SENT
    if event.kind is models.EventKind.DELIVERED:
        return Outcome.DELIVERED
    if event.kind is models.EventKind.FAILED:
        return Outcome.REJECTED if is_rejection(event.code, event.zalo_res) else Outcome.FAILED
    return None


class HasStatus(Protocol):
    """What `of_message` reads: a `models.Message` or a `store.MessageStatus`."""

    @property
    def state(self) -> models.MessageState: ...
    @property
    def code(self) -> int | None: ...
    @property
    def zalo_res(self) -> Any: ...


def of_message(message: HasStatus) -> Outcome:
    """The outcome of a message's current state."""
    if message.state is models.MessageState.SUCCESS:
        return Outcome.SENT
    if message.state is models.MessageState.DELIVERED:
        return Outcome.DELIVERED
    if message.state is models.MessageState.FAILED:
        return Outcome.REJECTED if is_rejection(message.code, message.zalo_res) else Outcome.FAILED
    return Outcome.QUEUED
