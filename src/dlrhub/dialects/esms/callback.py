"""The eSMS GET callback: which events call `CallbackUrl`, and the exact query string of each kind (§1.4).

Parameter order follows the seed sample of the same kind (DECISIONS › Order of query parameters). Every
query starts `SMSID, SendFailed, SendStatus, SendSuccess, TotalPrice, TotalReceiver, TotalSent, RequestId,
TypeId`; the tail depends on the `Layout`. Empty values are sent as `Name=`.
"""

from __future__ import annotations

import dataclasses
import enum
import urllib.parse
from decimal import Decimal
from typing import Any

from dlrhub.core import models, rendering
from dlrhub.dialects.esms import errorinfo, outcome, requests

_FOUR_PLACES = Decimal("0.0001")


class Layout(enum.StrEnum):
    """The tail of the query, after the common head, per kind of message."""

    #: TypeId 1: the head only.
    ADVERTISING = "advertising"
    #: TypeId 2: `telcoid, phonenumber, switchsmsid`.
    CARE = "care"
    #: TypeId 23: `telcoid, phonenumber`.
    VIBER = "viber"
    #: TypeId 24/25 by phone or hash phone: `telcoid, phonenumber, partnerids, error_info, oaid, tempid`.
    ZNS_PHONE = "zns_phone"
    #: TypeId 24/25 by Zalo UID: `telcoid, phonenumber, error_info, oaid, tempid, partnerids`.
    ZNS_UID = "zns_uid"
    #: TypeId 26/27: `phonenumber, error_info, oaid, partnerids`.
    OA = "oa"


#: The layouts of Zalo messages: the ones with `error_info`, so a delivery receipt says something new.
_ZALO_LAYOUTS = frozenset({Layout.ZNS_PHONE, Layout.ZNS_UID, Layout.OA})

_TAILS: dict[Layout, tuple[str, ...]] = {
    Layout.ADVERTISING: (),
    Layout.CARE: ("telcoid", "phonenumber", "switchsmsid"),
    Layout.VIBER: ("telcoid", "phonenumber"),
    Layout.ZNS_PHONE: ("telcoid", "phonenumber", "partnerids", "error_info", "oaid", "tempid"),
    Layout.ZNS_UID: ("telcoid", "phonenumber", "error_info", "oaid", "tempid", "partnerids"),
    Layout.OA: ("phonenumber", "error_info", "oaid", "partnerids"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Fields:
    """The values of one GET callback, as they go on the wire (before URL-encoding, except `error_info`)."""

    layout: Layout
    sms_id: str
    send_failed: int
    send_status: int
    send_success: int
    total_price: Decimal
    total_receiver: int
    total_sent: int
    request_id: str
    type_id: int
    telco_id: str = ""
    phone_number: str = ""
    partner_ids: str = ""
    #: Already encoded (form A, B or C); placed on the wire as is.
    error_info: str = ""
    oa_id: str = ""
    template_id: str = ""
    switch_sms_id: str = ""


def layout_of(type_id: int, recipient_kind: str, oa_id: str | None) -> Layout:
    """The query layout of a message. An unknown TypeId renders as ZNS when it has an OA, else as care SMS."""
    if type_id == 1:
        return Layout.ADVERTISING
    if type_id == 2:
        return Layout.CARE
    if type_id == 23:
        return Layout.VIBER
    if type_id in (26, 27):
        return Layout.OA
    if type_id in (24, 25) or oa_id:
        return Layout.ZNS_UID if recipient_kind == "zalo_uid" else Layout.ZNS_PHONE
    return Layout.CARE


def price_text(price: Decimal) -> str:
    """`TotalPrice` with exactly 4 decimals (DECISIONS › `TotalPrice`)."""
    return str(price.quantize(_FOUR_PLACES))


def query(fields: Fields) -> str:
    """The query string of one callback (without the `?`)."""
    values: dict[str, str] = {
        "SMSID": fields.sms_id,
        "SendFailed": str(fields.send_failed),
        "SendStatus": str(fields.send_status),
        "SendSuccess": str(fields.send_success),
        "TotalPrice": price_text(fields.total_price),
        "TotalReceiver": str(fields.total_receiver),
        "TotalSent": str(fields.total_sent),
        "RequestId": fields.request_id,
        "TypeId": str(fields.type_id),
        "telcoid": fields.telco_id,
        "phonenumber": fields.phone_number,
        "partnerids": fields.partner_ids,
        "oaid": fields.oa_id,
        "tempid": fields.template_id,
        "switchsmsid": fields.switch_sms_id,
    }
    head = ("SMSID", "SendFailed", "SendStatus", "SendSuccess", "TotalPrice", "TotalReceiver", "TotalSent")
    names = (*head, "RequestId", "TypeId", *_TAILS[fields.layout])
    parts = [
        f"{name}={fields.error_info}"
        if name == "error_info"
        else f"{name}={urllib.parse.quote(values[name], safe='')}"
        for name in names
    ]
    return "&".join(parts)


def url_with_query(base: str, query_string: str) -> str:
    """`base` (any fragment dropped) with `query_string` appended after `?`, or `&` if it has a query."""
    base = base.split("#", 1)[0]
    if "?" not in base:
        return f"{base}?{query_string}"
    if base.endswith(("?", "&")):
        return base + query_string
    return f"{base}&{query_string}"


def partner_id(zalo_msg_id: str | None, zalo_res: Any) -> str:
    """`partnerids`: Zalo's msg id as stored, else as found in Zalo's answer (`data.msg_id` or
    `data.message_id`), else empty."""
    if zalo_msg_id:
        return zalo_msg_id
    data = zalo_res.get("data") if isinstance(zalo_res, dict) else None
    if isinstance(data, dict):
        for key in ("msg_id", "message_id"):
            value = data.get(key)
            if isinstance(value, str):
                return value
    return ""


def fields_for(
    message: models.Message, result: outcome.Outcome, event: models.StatusEvent | None = None
) -> Fields:
    """The callback values of `message` showing `result`; `event` (when given) supplies the Zalo answer and
    the time stamp, else the message's latest ones are used."""
    counts = outcome.counts(result)
    zalo_res = event.zalo_res if event is not None else message.zalo_res
    at = event.occurred_at if event is not None else message.updated_at
    code = event.code if event is not None else message.code
    text = event.text if event is not None else message.text
    layout = layout_of(message.type_id, message.recipient_kind, message.oa_id)
    error_info = ""
    if layout in (Layout.ZNS_PHONE, Layout.ZNS_UID, Layout.OA):
        form = errorinfo.form_for(result, message.type_id, message.recipient_kind)
        zalo = errorinfo.zalo_object(
            result,
            code=code,
            text=text,
            zalo_res=zalo_res,
            full=form is errorinfo.Form.B,
            at=at,
            msg_id=message.zalo_msg_id,
        )
        if zalo is not None:
            error_info = errorinfo.encode(form, zalo, at)
    telco = message.telco_id
    if telco is None and layout is Layout.ZNS_UID:
        telco = requests.TELCO_ZALO_UID
    sent = result in (outcome.Outcome.SENT, outcome.Outcome.DELIVERED)
    return Fields(
        layout=layout,
        sms_id=message.id,
        send_failed=counts.send_failed,
        send_status=counts.send_status,
        send_success=counts.send_success,
        total_price=message.price if counts.charged else Decimal(0),
        total_receiver=counts.total_receiver,
        total_sent=counts.total_sent,
        request_id=message.request_id or "",
        type_id=message.type_id,
        telco_id="" if telco is None else str(telco),
        phone_number=message.recipient,
        partner_ids=partner_id(message.zalo_msg_id, zalo_res) if sent else "",
        error_info=error_info,
        oa_id=message.oa_id or "",
        template_id=message.template_id or "",
    )


def should_send(event: models.StatusEvent, message: models.Message, *, delivered: bool) -> bool:
    """Whether this event calls the message's `CallbackUrl`: a final send result (sent, failed, rejected)
    does; acceptance and journey events never do.

    A delivery receipt of a Zalo message (its second callback, with Zalo's status in `error_info`) does when
    `delivered` is on. SMS and Viber callbacks carry no `error_info`, so their `delivered` would repeat the
    `sent` callback byte for byte: it calls only when no send result came first (`message.sent_at` unset).
    """
    if not message.callback_url or message.sandbox or not event.applied:
        return False
    result = outcome.of_event(event)
    if result is None or result is outcome.Outcome.QUEUED:
        return False
    if result is not outcome.Outcome.DELIVERED:
        return True
    if layout_of(message.type_id, message.recipient_kind, message.oa_id) in _ZALO_LAYOUTS:
        return delivered
    return message.sent_at is None


def render(ctx: rendering.RenderContext) -> list[models.CallbackRequest]:
    """The GET callback of `ctx.event` for an eSMS message (the `rendering.Renderer` of this dialect).

    A delivery receipt sends its second callback only when the account has `esms_delivered_callback` on
    (DECISIONS › When is the GET callback sent?)."""
    message = ctx.message
    delivered = ctx.account.esms_delivered_callback
    if message is None or not should_send(ctx.event, message, delivered=delivered):
        return []
    result = outcome.of_event(ctx.event)
    assert result is not None  # should_send checked it
    assert message.callback_url is not None
    url = url_with_query(message.callback_url, query(fields_for(message, result, ctx.event)))
    return [models.CallbackRequest(method="GET", url=url)]
