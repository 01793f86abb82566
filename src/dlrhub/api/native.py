"""The native `/v1` API: status events from external engines, and messages with their history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import fastapi
import pydantic

from dlrhub import store
from dlrhub.api import deps, fields
from dlrhub.core import clock, errors, models, scopes, urls
from dlrhub.services import events, replay

router = fastapi.APIRouter(prefix="/v1", tags=["native"])

#: An id in a native request: 1 to 128 printable ASCII characters, no spaces.
Id = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (e.g. 2024-05-01T10:12:39Z)")
    if clock.writable(value) is None:
        # Not merely storable: an event's time is written later in the account's zone (NXCloud's `sendTime`).
        raise ValueError("out of range: write a time from 0001-01-02 to 9999-12-30 (UTC)")
    return value


#: A time in a native request; one without a time zone, or outside 0001-01-02 to 9999-12-30 in UTC, is refused.
AwareTime = Annotated[dt.datetime, pydantic.AfterValidator(_aware)]


class EventIn(pydantic.BaseModel):
    """One status event from a platform's own sending engine."""

    model_config = pydantic.ConfigDict(extra="forbid")

    event_id: Id = pydantic.Field(
        description="Idempotency key chosen by the engine; a repeat changes nothing."
    )
    message_id: Id = pydantic.Field(description="The message's public id (SMSID, requestId or your own).")
    account: Id = pydantic.Field(description="The account id the message belongs to.")
    type_id: Literal[1, 2, 23, 24, 25, 26, 27] = pydantic.Field(description="eSMS TypeId.")
    status: Literal["accepted", "success", "failed", "delivered"]
    dialect: models.Dialect = models.Dialect.NATIVE
    code: int | None = pydantic.Field(None, ge=-(2**31), lt=2**31)
    text: fields.Text | None = pydantic.Field(None, max_length=1000)
    price: Decimal = pydantic.Field(Decimal(0), ge=0, le=Decimal("1e12"), decimal_places=4)
    recipient: fields.Name = pydantic.Field("", max_length=64)
    callback_url: fields.Name | None = pydantic.Field(None, max_length=2048)
    request_id: fields.Name | None = pydantic.Field(None, max_length=50)
    telco_id: int | None = pydantic.Field(None, ge=0, le=99)
    oa_id: fields.Name | None = pydantic.Field(None, max_length=64)
    template_id: fields.Name | None = pydantic.Field(None, max_length=64)
    zalo_msg_id: fields.Name | None = pydantic.Field(None, max_length=64)
    occurred_at: AwareTime | None = None
    raw: fields.JsonObject | None = pydantic.Field(None, description="The upstream payload, kept for audit.")

    @pydantic.field_validator("callback_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value:
            try:
                urls.check_url(value)
            except errors.BlockedURL as exc:
                raise ValueError(str(exc)) from exc
        return value or None


def message_json(message: models.Message) -> dict[str, Any]:
    """A message as the native API shows it."""
    return {
        "id": message.id,
        "account": message.account_id,
        "dialect": message.dialect.value,
        "type_id": message.type_id,
        "recipient": message.recipient,
        "state": message.state.value,
        "seq": message.seq,
        "code": message.code,
        "text": message.text,
        "price": f"{message.price:.4f}",
        "currency": message.currency,
        "callback_url": message.callback_url,
        "request_id": message.request_id,
        "oa_id": message.oa_id,
        "template_id": message.template_id,
        "zalo_msg_id": message.zalo_msg_id,
        "journey_id": message.journey_id,
        "campaign_id": message.campaign_id,
        "created_at": message.created_at.isoformat(),
        "updated_at": message.updated_at.isoformat(),
    }


def event_json(event: models.StatusEvent) -> dict[str, Any]:
    """An event as the native API shows it."""
    return {
        "id": event.id,
        "seq": event.seq,
        "kind": event.kind.value,
        "applied": event.applied,
        "code": event.code,
        "text": event.text,
        "occurred_at": event.occurred_at.isoformat(),
        "zalo_res": event.zalo_res,
    }


@router.post("/events", status_code=202, dependencies=[fastapi.Depends(deps.require(scopes.Scope.ADMIN))])
async def post_event(body: EventIn, hub: deps.HubDep) -> fastapi.Response:
    """Ingest one status event. 202 when stored, 200 when the event id was seen before."""
    ev = events.ExternalEvent(
        event_id=body.event_id,
        message_id=body.message_id,
        account_id=body.account,
        kind=models.EventKind(body.status),
        type_id=body.type_id,
        dialect=body.dialect,
        occurred_at=body.occurred_at or hub.clock(),
        code=body.code,
        text=body.text,
        price=body.price,
        recipient=body.recipient,
        callback_url=body.callback_url,
        request_id=body.request_id,
        telco_id=body.telco_id,
        oa_id=body.oa_id,
        template_id=body.template_id,
        zalo_msg_id=body.zalo_msg_id,
        raw=body.raw,
    )
    if body.callback_url is not None:
        # The syntax was checked with the body; a literal address the allow-list does not open is refused now.
        try:
            urls.check_target(body.callback_url, hub.allow())
        except errors.BlockedURL as exc:
            raise errors.InvalidInput("callback_url", str(exc)) from None
    result = await events.ingest_external(hub, ev)
    return deps.json_response(
        {
            "event_id": result.event.id,
            "message_id": body.message_id,
            "duplicate": result.duplicate,
            "applied": result.event.applied,
            "seq": result.event.seq,
            "state": result.message.state.value if result.message else None,
            "callbacks": [c.id for c in result.callbacks],
        },
        200 if result.duplicate else 202,
    )


@router.get("/messages/{message_id}")
async def get_message(message_id: Id, hub: deps.HubDep, who: deps.Puller) -> fastapi.Response:
    """A message with its event history, oldest first. A customer token sees only its account's messages
    (another's answers 404, as an unknown id does)."""
    db: store.Messages = hub.store
    message = await replay.message(hub, message_id, who.account_id)
    history = await db.list_events(message_id)
    return deps.json_response({**message_json(message), "events": [event_json(e) for e in history]})
