"""The native callback rendering: a Standard Webhooks JSON envelope `{type, timestamp, data}`, POSTed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from dlrhub.core import models, rendering

CONTENT_TYPE = "application/json"

#: Events that reach native receivers; `accepted` is already the answer to the send request.
KINDS = frozenset(
    {
        models.EventKind.SUCCESS,
        models.EventKind.FAILED,
        models.EventKind.DELIVERED,
        models.EventKind.JOURNEY_ACKNOWLEDGED,
    }
)


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds and a `Z`, as the Standard Webhooks examples write it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(event: models.StatusEvent, message: models.Message) -> dict[str, Any]:
    """The JSON document for `event` on `message` (the message after the event applied)."""
    data: dict[str, Any] = {
        "message_id": message.id,
        "status": message.state.value,
        "event_id": event.id,
        "seq": event.seq,
        "code": event.code,
        "text": event.text,
        "recipient": message.recipient,
        "type_id": message.type_id,
        "request_id": message.request_id,
        "ext": message.ext,
        "price": str(message.price),
        "currency": message.currency,
        "zalo_msg_id": message.zalo_msg_id,
        "tracking_id": message.tracking_id,
    }
    if message.journey_id is not None:
        data["journey_id"] = message.journey_id
    if event.zalo_res is not None:
        data["zalo_res"] = event.zalo_res
    return {"type": f"message.{event.kind.value}", "timestamp": timestamp(event.occurred_at), "data": data}


def render(ctx: rendering.RenderContext, /) -> list[models.CallbackRequest]:
    """One JSON POST to the message's callback URL; none without a message, a URL, or for `accepted`."""
    message = ctx.message
    if message is None or not message.callback_url or ctx.event.kind not in KINDS:
        return []
    body = orjson.dumps(envelope(ctx.event, message))
    return [
        models.CallbackRequest(method="POST", url=message.callback_url, body=body, content_type=CONTENT_TYPE)
    ]


renderer: rendering.Renderer = render
