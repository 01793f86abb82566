"""The NXCloud DR webhook: one JSON POST per status event, with exactly the fields DECISIONS.md gives it.

Fields and key order (seed 000's examples; DECISIONS.md › NXCloud adds `cost` to `delivered` and
`journey_time_out`, after the example's last key):

- success: status, requestId, code, message, sendTime, [ext], cost, zaloRes
- failed: status, requestId, code, message, sendTime, [ext], [zaloRes] (no zaloRes when dlrhub itself
  refused the message after accepting it: 1102, 9005, …)
- delivered: status, requestId, code, message, sendTime, [ext], cost
- journey_acknowledged: status, requestId, code, message, oaId, journeyId, appId, timestamp, [ext], cost
- journey_time_out: status, code, message, journeyId, appId, oaId, timestamp, cost

`ext` appears only when the send had one. Message events go to `message.callback_url` (the request's
`drWebhook`, else the app's DR URL, resolved when the message was accepted); journey events without a message
go to the app's DR URL. No URL, no request.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson

from dlrhub.core import models, rendering
from dlrhub.dialects.nxcloud import codes

CONTENT_TYPE = "application/json"

_STATUS: dict[models.EventKind, str] = {
    models.EventKind.SUCCESS: "success",
    models.EventKind.FAILED: "failed",
    models.EventKind.DELIVERED: "delivered",
    models.EventKind.JOURNEY_ACKNOWLEDGED: "journey_acknowledged",
    models.EventKind.JOURNEY_TIME_OUT: "journey_time_out",
}


def send_time(moment: dt.datetime, utc_offset_minutes: int) -> str:
    """`yyyy-MM-dd HH:mm:ss` in the account's time zone; a naive `moment` is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    zone = dt.timezone(dt.timedelta(minutes=utc_offset_minutes))
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def epoch_ms(moment: dt.datetime) -> str:
    """Milliseconds since the epoch, as a string; a naive `moment` is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return str(delta // dt.timedelta(milliseconds=1))


def _number(value: Decimal) -> int | float:
    # A JSON number: 130 stays 130, 4.1234 stays 4.1234 (seed 000).
    if value.is_finite() and value == value.to_integral_value():
        return int(value)
    return float(value)


def cost(ctx: rendering.RenderContext) -> dict[str, Any]:
    """`{currency, originalPrice}`: the message's price, which is the app's quotation in the app's currency when
    the message was accepted; for a journey event without a message, the app's quotation now."""
    app, message = ctx.app, ctx.message
    if message is not None:
        return {"currency": message.currency, "originalPrice": _number(message.price)}
    if app is not None and app.quotation is not None:
        return {"currency": app.currency, "originalPrice": _number(app.quotation)}
    return {"currency": ctx.account.currency, "originalPrice": 0}


def _code(event: models.StatusEvent) -> int:
    if event.kind is models.EventKind.SUCCESS:
        return int(codes.Code.SUCCESS)
    if event.kind is models.EventKind.DELIVERED:
        return int(codes.Code.DELIVERED)
    if event.kind is models.EventKind.JOURNEY_ACKNOWLEDGED:
        return int(codes.Code.JOURNEY_CHARGED)
    if event.kind is models.EventKind.JOURNEY_TIME_OUT:
        return int(codes.Code.JOURNEY_TIME_OUT)
    # failed: dlrhub's own code (1102, 9005, 17004, 17005, ...) as given. Zalo's negative codes, or no code
    # with a Zalo answer, are a Zalo refusal (17004); no code and no answer is unknown (9999).
    code = event.code
    if code is not None and code > 0:
        return code
    if (code is not None and code < 0) or event.zalo_res is not None:
        return int(codes.Code.ZALO_SEND_ERROR)
    return int(codes.Code.UNKNOWN)


def _zalo_message(event: models.StatusEvent) -> str | None:
    res = event.zalo_res or {}
    value = res.get("message")
    if isinstance(value, str) and value:
        return value
    return event.text or None


def message_text(event: models.StatusEvent, code: int) -> str:
    """The DR `message`: the code's text, with Zalo's own message in parentheses for 17004."""
    if code == codes.Code.ZALO_SEND_ERROR:
        return f"{codes.TEXTS[codes.Code.ZALO_SEND_ERROR]}({_zalo_message(event) or 'unknown'})"
    return codes.text(code)


def zalo_res(event: models.StatusEvent, text: str) -> dict[str, Any]:
    """`zaloRes`: `sysMsg`/`cusMsg` (the DR message unless Zalo's result already has them) + Zalo's answer."""
    res = event.zalo_res or {}
    return {
        "sysMsg": res.get("sysMsg", text),
        "cusMsg": res.get("cusMsg", text),
        "error": res.get("error"),
        "message": res.get("message"),
        "data": res.get("data"),
    }


def _moment(ctx: rendering.RenderContext) -> dt.datetime:
    message = ctx.message
    if message is not None and message.sent_at is not None and ctx.event.kind is models.EventKind.DELIVERED:
        return message.sent_at
    return ctx.event.occurred_at


def _app_id(ctx: rendering.RenderContext) -> str:
    # Zalo's app id, never the NXCloud appkey: from Zalo's journey event, else the one the journey keeps (its
    # OA's, which `checkJourneyToken` shows too).
    raw = ctx.event.raw or {}
    value = raw.get("app_id")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return str(value)
    journey = ctx.journey
    return (journey.app_id or "") if journey is not None else ""


def body(ctx: rendering.RenderContext) -> dict[str, Any] | None:
    """The DR object for `ctx`, in the documented key order; None when the event has no NXCloud DR."""
    event, message, journey = ctx.event, ctx.message, ctx.journey
    status = _STATUS.get(event.kind)
    if status is None:
        return None
    code = _code(event)
    text = message_text(event, code)
    out: dict[str, Any] = {"status": status}
    if event.kind is models.EventKind.JOURNEY_TIME_OUT:
        if journey is None:
            return None
        out |= {"code": code, "message": text, "journeyId": journey.journey_id, "appId": _app_id(ctx)}
        out |= {"oaId": journey.oa_id, "timestamp": epoch_ms(event.occurred_at), "cost": cost(ctx)}
        return out
    request_id = message.id if message is not None else (journey.acknowledged_message_id if journey else None)
    if request_id is None:
        return None
    out |= {"requestId": request_id, "code": code, "message": text}
    if event.kind is models.EventKind.JOURNEY_ACKNOWLEDGED:
        if journey is None:
            return None
        out |= {"oaId": journey.oa_id, "journeyId": journey.journey_id, "appId": _app_id(ctx)}
        out["timestamp"] = epoch_ms(event.occurred_at)
    else:
        out["sendTime"] = send_time(_moment(ctx), ctx.account.utc_offset_minutes)
    if message is not None and message.ext is not None:
        out["ext"] = message.ext
    if event.kind is not models.EventKind.FAILED:
        out["cost"] = cost(ctx)
    zalo_failure = code in (codes.Code.ZALO_SEND_ERROR, codes.Code.ZALO_TIMEOUT)
    if event.kind is models.EventKind.SUCCESS or (event.kind is models.EventKind.FAILED and zalo_failure):
        out["zaloRes"] = zalo_res(event, text)
    return out


def url(ctx: rendering.RenderContext) -> str | None:
    """Where the DR goes: the message's callback URL, or the app's DR URL for an event without a message."""
    if ctx.message is not None:
        return ctx.message.callback_url or None
    return ctx.app.dr_url if ctx.app is not None and ctx.app.dr_url else None


def render(ctx: rendering.RenderContext) -> list[models.CallbackRequest]:
    """The NXCloud DR for one event: one JSON POST, or none when there is no URL or no DR for the event."""
    target = url(ctx)
    if target is None:
        return []
    payload = body(ctx)
    if payload is None:
        return []
    request = models.CallbackRequest("POST", target, orjson.dumps(payload), CONTENT_TYPE)
    return [request]
