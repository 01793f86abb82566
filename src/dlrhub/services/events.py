"""Ingesting status events: from external engines (`/v1/events`), Zalo, and dlrhub's own channel worker."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from decimal import Decimal

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.dialects import registry
from dlrhub.planning import events as planning_events
from dlrhub.services import hub as hub_
from dlrhub.services import lookups


class AppReads(store.Journeys, store.Messages, store.Accounts, typing.Protocol):
    """What finding an event's app reads: its journey or message, then the app."""


@dataclasses.dataclass(frozen=True, slots=True)
class ExternalEvent:
    """A status event from a platform's own sending engine, with what dlrhub needs to know its message."""

    event_id: str
    message_id: str
    account_id: str
    kind: models.EventKind
    type_id: int
    dialect: models.Dialect
    occurred_at: dt.datetime
    code: int | None = None
    text: str | None = None
    price: Decimal = Decimal(0)
    recipient: str = ""
    callback_url: str | None = None
    request_id: str | None = None
    telco_id: int | None = None
    oa_id: str | None = None
    template_id: str | None = None
    zalo_msg_id: str | None = None
    raw: dict[str, object] | None = None


#: The kinds of event dlrhub's Zalo channel records for a message it sends, under the id `<message id>:<kind>`
#: (`workers/zalo_channel.py`, `services/zalo_inbound.py`).
CHANNEL_KINDS = frozenset({models.EventKind.SUCCESS, models.EventKind.FAILED, models.EventKind.DELIVERED})


#: The kinds of event `services/zalo_inbound.py` records for a journey, under the id `journey:<journey id>:<kind>`.
JOURNEY_KINDS = frozenset({models.EventKind.JOURNEY_ACKNOWLEDGED, models.EventKind.JOURNEY_TIME_OUT})


async def _check_not_channels(hub: hub_.Hub, event_id: str) -> None:
    """Refuse an event id in the form of the Zalo channel's own (`<message id>:success`, `:failed`,
    `:delivered`) when that message is one the channel sends: stored first from a door, it would make the
    channel's own event a repeat (the message's send outcome or receipt lost), or a clash with another message
    (the send's outcome not recorded, the message left `sending` until recovery fails it with 17005); and the
    ids Zalo's journey events are recorded under (`journey:<journey id>:<kind>`), whatever the journey."""
    message_id, colon, kind = event_id.rpartition(":")
    if message_id.startswith("journey:") and len(message_id) > 8 and kind in {k.value for k in JOURNEY_KINDS}:
        # Zalo's journey events' own ids, whoever's journey (nothing looked up, so nothing told of another's):
        # taken first from this door, the webhook's event would clash with it and be ignored.
        raise errors.InvalidInput(
            "event_id", f"{event_id!r} is reserved: dlrhub records a journey's {kind} under it"
        )
    if not colon or not message_id or kind not in {k.value for k in CHANNEL_KINDS}:
        return
    channel: store.ChannelQueue = hub.store
    if await channel.sent_by_channel(message_id):
        raise errors.InvalidInput(
            "event_id", f"{event_id!r} is reserved: the Zalo channel records {message_id!r}'s {kind} itself"
        )


async def ingest_external(hub: hub_.Hub, ev: ExternalEvent) -> store.IngestResult:
    """Store an external engine's event, creating its message on first sight.

    Idempotent by `event_id`. Raises errors.UnknownAccount, errors.Conflict when the message id belongs to
    another account, and errors.InvalidInput when the event id is one the Zalo channel keeps for itself
    (`_check_not_channels`).
    """
    messages: store.Messages = hub.store
    # The account as the doors read it (reused for lookups.TTL_S; a change made here is seen at once): one read
    # of the store fewer per event, a round trip on PostgreSQL.
    account = await lookups.account(hub, ev.account_id)
    if account is None:
        raise errors.UnknownAccount(f"no account {ev.account_id!r}")
    now = hub.clock()
    new_message = models.Message(
        id=ev.message_id,
        account_id=account.id,
        dialect=ev.dialect,
        type_id=ev.type_id,
        recipient=ev.recipient,
        state=models.MessageState.ACCEPTED,
        seq=0,
        created_at=now,
        updated_at=now,
        callback_url=ev.callback_url or account.default_callback_url,
        request_id=ev.request_id,
        oa_id=ev.oa_id,
        template_id=ev.template_id,
        price=ev.price,
        currency=account.currency,
        telco_id=ev.telco_id,
        zalo_msg_id=ev.zalo_msg_id,
    )
    try:
        existing = await messages.get_message(ev.message_id)
    except errors.UnknownMessage:
        existing = None
    if existing is not None and existing.account_id != account.id:
        raise errors.Conflict(f"message {ev.message_id!r} belongs to another account")
    await _check_not_channels(hub, ev.event_id)
    event = models.StatusEvent(
        id=ev.event_id,
        kind=ev.kind,
        occurred_at=ev.occurred_at,
        message_id=ev.message_id,
        code=ev.code,
        text=ev.text,
        zalo_res=_zalo_res(ev),
        raw=ev.raw,
    )
    return await apply(
        hub, event, account, new_message=None if existing else new_message, message=existing or new_message
    )


def _zalo_res(ev: ExternalEvent) -> dict[str, object] | None:
    """Zalo's answer to the engine's send: `raw` when it is one (it has Zalo's `error`), as the engine got it;
    else one made from the event's fields when it names a Zalo msg id (`message` is "Success" on a success
    the engine gave no text for, as in every eSMS sample)."""
    if ev.raw is not None and _is_zalo_answer(ev.raw) and (ev.zalo_msg_id is None or _names_msg_id(ev.raw)):
        return ev.raw
    if ev.zalo_msg_id is None:
        return None
    failed = ev.kind is models.EventKind.FAILED
    return {
        "error": ev.code if failed else 0,
        "message": ev.text or (None if failed else "Success"),
        "data": {"msg_id": ev.zalo_msg_id},
    }


def _is_zalo_answer(raw: dict[str, object]) -> bool:
    return isinstance(raw.get("error"), int) and not isinstance(raw.get("error"), bool)


def _names_msg_id(raw: dict[str, object]) -> bool:
    data = raw.get("data")
    return isinstance(data, dict) and bool(data.get("msg_id") or data.get("message_id"))


#: A message in one of these states hears nothing more about its send (`dlrhub_send_to_final_seconds`).
FINAL_STATES = frozenset({models.MessageState.DELIVERED, models.MessageState.FAILED})


async def apply(
    hub: hub_.Hub,
    event: models.StatusEvent,
    account: models.Account,
    *,
    app: models.App | None = None,
    new_message: models.Message | None = None,
    message: models.Message | None = None,
) -> store.IngestResult:
    """Apply one event with its dialect's rendering, and count it. The common path of every event source.

    The app (NXCloud DR URL and quotation) is looked up from the journey or message when not given. `message` is
    the event's message as the caller already has it: its app is found from it without reading it again (the
    store reads the message once more, inside the event's transaction, to apply the event).
    """
    if app is None:
        app = await _app_of(hub, event, message)
    result = await hub.store.apply_event(
        event, planning_events.RenderInputs(account, app), now=hub.clock(), new_message=new_message
    )
    if not result.duplicate:
        dialect = registry.dialect_of(result.message).value
        hub.metrics.events_ingested.labels(kind=event.kind.value, dialect=dialect).inc()
        final = result.message
        if final is not None and final.state in FINAL_STATES and event.kind.value == final.state.value:
            # This event made the message final (a stale one would leave the state as another event set it).
            elapsed = (hub.clock() - final.created_at).total_seconds()
            hub.metrics.send_to_final.labels(dialect=dialect).observe(max(0.0, elapsed))
    return result


async def _app_of(
    hub: hub_.Hub, event: models.StatusEvent, message: models.Message | None
) -> models.App | None:
    db: AppReads = hub.store
    appkey = None
    if event.journey_id:
        journey = await db.get_journey(event.journey_id)
        appkey = journey.appkey if journey else None
    if appkey is None and message is not None and message.id == event.message_id:
        appkey = message.appkey  # set when the message is created, never changed
    elif appkey is None and event.message_id:
        try:
            appkey = (await db.get_message(event.message_id)).appkey
        except errors.UnknownMessage:
            return None
    # The app as the doors read it (reused for lookups.TTL_S): no read of the store per event of an NXCloud send.
    return await lookups.app(hub, appkey) if appkey else None
