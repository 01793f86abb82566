"""Zalo's webhook events into dlrhub: receipts become `delivered`, journey events their own; orphans wait.

A receipt is matched to its message by `msg_id`, or else by `tracking_id` (dlrhub's message id), among the
messages of the OA whose secret signed it: another OA's receipt never touches a message, whatever ids it names.
A receipt for a message with no send result yet is kept as an orphan with that OA, and matched when the result is
recorded (`match_orphan`), for up to 24 hours. Event ids are deterministic, so a repeated receipt changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Mapping
from typing import Any

import orjson

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.dialects.zalo import codes, webhook
from dlrhub.services import events
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)

#: How long an orphan receipt waits for its send result (DECISIONS › Receipt before the send result).
ORPHAN_WINDOW = dt.timedelta(hours=24)


class Result(enum.StrEnum):
    """What one webhook call did."""

    #: An event was recorded (or was already: repeats change nothing).
    APPLIED = "applied"
    #: A receipt was kept as an orphan, to be matched when its send result arrives.
    ORPHAN = "orphan"
    #: Nothing dlrhub acts on (another event, an unknown journey, or an event whose id is stored for another
    #: message, such as a journey acknowledged again naming another of its messages).
    IGNORED = "ignored"


def delivered_event(
    message: models.Message, payload: Mapping[str, Any], at: dt.datetime
) -> models.StatusEvent:
    """The `delivered` event a receipt makes; `zalo_res` and `raw` hold the receipt as received."""
    return models.StatusEvent(
        id=f"{message.id}:{models.EventKind.DELIVERED.value}",
        kind=models.EventKind.DELIVERED,
        occurred_at=at,
        message_id=message.id,
        code=codes.CODE_DELIVERED,
        text=codes.TEXT_DELIVERED,
        zalo_res=dict(payload),
        raw=dict(payload),
    )


def _delivery_time(payload: Mapping[str, Any], fallback: dt.datetime) -> dt.datetime:
    message = payload.get("message")
    when = message.get("delivery_time") if isinstance(message, dict) else None
    if isinstance(when, str) and when.isdigit() and len(when) <= 15:
        return dt.datetime.fromtimestamp(int(when) / 1000, dt.UTC)
    return fallback


async def deliver(hub: hub_.Hub, message: models.Message, payload: Mapping[str, Any]) -> None:
    """Record a receipt's `delivered` event for `message` (idempotent)."""
    accounts: store.Accounts = hub.store
    account = await accounts.get_account(message.account_id)
    event = delivered_event(message, payload, _delivery_time(payload, hub.clock()))
    await events.apply(hub, event, account, message=message)


async def match_orphan(hub: hub_.Hub, message: models.Message) -> int:
    """After a send result: apply the receipts that arrived first (by msg_id or tracking_id); how many."""
    queue: store.ChannelQueue = hub.store
    taken = 0
    while taken < 10 and message.oa_id is not None:
        now = hub.clock()
        payload = await queue.take_orphan_receipt(
            message.oa_id, message.zalo_msg_id, message.id, now - ORPHAN_WINDOW, now
        )
        if payload is None:
            break
        await deliver(hub, message, payload)
        hub.metrics.zalo_orphans.labels(what="matched").inc()
        taken += 1
    return taken


async def _match(
    hub: hub_.Hub, oa: models.OA, msg_id: str | None, tracking_id: str | None
) -> models.Message | None:
    """The message of `oa` that a receipt names by `msg_id`, or else by `tracking_id`; None when `oa` has none."""
    messages: store.Messages = hub.store
    if msg_id is not None:
        found = await messages.find_message_by_zalo_msg_id_for_account(oa.account_id, msg_id)
        if found is not None and _same_oa(found, oa):
            return found
    if tracking_id is not None and len(tracking_id) <= 64:
        try:
            found = await messages.get_message(tracking_id)
        except errors.UnknownMessage:
            return None
        if found.account_id == oa.account_id and _same_oa(found, oa):
            return found
    return None


def _same_oa(message: models.Message, oa: models.OA) -> bool:
    """Whether `oa` may report on `message`: its own, or one of its account's that names no OA (an engine's
    native event may leave `oa_id` out; the account check keeps other tenants' messages out of reach)."""
    return message.account_id == oa.account_id and message.oa_id in (oa.oa_id, None)


async def _receipt(hub: hub_.Hub, oa: models.OA, receipt: webhook.DeliveryReceipt, raw: bytes) -> Result:
    queue: store.ChannelQueue = hub.store
    payload = orjson.loads(raw)
    message = await _match(hub, oa, receipt.msg_id, receipt.tracking_id)
    if message is None or message.state is models.MessageState.ACCEPTED:
        if await queue.put_orphan_receipt(
            oa.oa_id, receipt.msg_id, receipt.tracking_id, payload, hub.clock()
        ):
            hub.metrics.zalo_orphans.labels(what="kept").inc()
            log.info("orphan receipt kept for msg_id %s", receipt.msg_id)
        # The send result may have landed between the lookup and the insert: look once more.
        message = await _match(hub, oa, receipt.msg_id, receipt.tracking_id)
        if message is None or message.state is models.MessageState.ACCEPTED:
            return Result.ORPHAN
        now = hub.clock()
        await queue.take_orphan_receipt(
            oa.oa_id, receipt.msg_id, receipt.tracking_id, now - ORPHAN_WINDOW, now
        )
    await deliver(hub, message, payload)
    return Result.APPLIED


async def _journey(
    hub: hub_.Hub, oa: models.OA, event: webhook.JourneyAcknowledged | webhook.JourneyTimedOut, raw: bytes
) -> Result:
    journeys: store.Journeys = hub.store
    accounts: store.Accounts = hub.store
    journey = await journeys.get_journey(event.journey_id)
    if journey is None or journey.oa_id != oa.oa_id:
        log.info("journey event for unknown journey %s ignored", event.journey_id)
        return Result.IGNORED
    message = None
    if isinstance(event, webhook.JourneyAcknowledged):
        kind, code, text, at = (
            models.EventKind.JOURNEY_ACKNOWLEDGED,
            codes.CODE_JOURNEY_ACKNOWLEDGED,
            codes.TEXT_JOURNEY_ACKNOWLEDGED,
            event.acknowledged_at,
        )
        message = await _match(hub, oa, event.msg_id, event.tracking_id)
    else:
        kind, code, text, at = (
            models.EventKind.JOURNEY_TIME_OUT,
            codes.CODE_JOURNEY_TIME_OUT,
            codes.TEXT_JOURNEY_TIME_OUT,
            event.timed_out_at,
        )
    status = models.StatusEvent(
        id=f"journey:{journey.journey_id}:{kind.value}",
        kind=kind,
        occurred_at=at,
        message_id=message.id if message is not None else None,
        journey_id=journey.journey_id,
        code=code,
        text=text,
        # Zalo's event as received: its `app_id` is the NXCloud DR's `appId`.
        raw=orjson.loads(raw),
    )
    account = await accounts.get_account(journey.account_id)
    try:
        await events.apply(hub, status, account)
    except errors.UnknownJourney:
        # Pruned by retention since the read above: nothing was written, as for an unknown journey.
        log.info("journey event for pruned journey %s ignored", event.journey_id)
        return Result.IGNORED
    return Result.APPLIED


async def handle(hub: hub_.Hub, raw: bytes, headers: Mapping[str, str]) -> Result:
    """Check and apply one webhook call. Nothing is stored unless the signature holds.

    Raises errors.InvalidInput (malformed body) and errors.NotAuthorized (unknown OA, or a signature that does
    not match `mac=sha256(app_id + body + timestamp + OA secret)`).
    """
    accounts: store.Accounts = hub.store
    event = webhook.parse(raw, headers.get(webhook.SERVER_HEADER))
    oa = await accounts.get_oa(event.oa_id) if event.oa_id else None
    if oa is None or oa.app_id != event.app_id:
        raise errors.NotAuthorized("unknown OA or app")
    if not webhook.verify(
        headers.get(webhook.SIGNATURE_HEADER), raw, event.app_id, event.timestamp, oa.oa_secret
    ):
        raise errors.NotAuthorized("bad X-ZEvent-Signature")
    try:
        if isinstance(event, webhook.DeliveryReceipt):
            return await _receipt(hub, oa, event, raw)
        if isinstance(event, webhook.JourneyAcknowledged | webhook.JourneyTimedOut):
            return await _journey(hub, oa, event, raw)
    except errors.Conflict as exc:
        # The event's id is stored for another message (a journey acknowledged again naming another of its
        # messages): nothing was written, and Zalo sending it again would change nothing. Answered as a repeat.
        log.warning("zalo event ignored: %s", exc)
    return Result.IGNORED
