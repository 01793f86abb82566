"""The eSMS `error_info` value: which Zalo JSON it carries, and its three wire encodings (PROTOCOLS §1.4).

- Form A (TypeId 24/25 by phone or hash phone, sent or failed): a JSON string literal wrapping Zalo's
  `{error, message}`, URL-encoded once with `{` and `}` raw.
- Form B (TypeId 26/27): Zalo's JSON + `____` + `dd/MM/yyyy HH:mm:ss` (Vietnam time), URL-encoded twice.
- Form C (Zalo UID sends, and every `delivered` callback): plain JSON, URL-encoded once with `{` and `}` raw.

Each function returns the exact characters that go on the wire after `error_info=`.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import urllib.parse
from typing import Any

from dlrhub.dialects.esms import codes, outcome, vntime

#: The text Zalo's message-status API gives for a message on the user's phone (GetZaloMessageStatus sample).
DELIVERED_TEXT = "The message was delivered to the user's phone"
#: The characters form B's inner encoding leaves raw (the seed samples keep `:`, `,` and `/`).
_FORM_B_SAFE = ":/,?#[]@!$&'()*+;="


class Form(enum.StrEnum):
    """One of the three `error_info` encodings."""

    #: A JSON string literal around Zalo's JSON, encoded once.
    A = "A"
    #: Zalo's JSON plus a time stamp, encoded twice.
    B = "B"
    #: Plain JSON, encoded once.
    C = "C"


def compact(value: Any) -> str:
    """JSON text with no spaces, ASCII only, as the samples were written."""
    return json.dumps(value, separators=(",", ":"))


def form_a(zalo: Any) -> str:
    """Form A of `zalo`."""
    return urllib.parse.quote(json.dumps(compact(zalo)), safe="{}")


def form_b(zalo: Any, at: dt.datetime) -> str:
    """Form B of `zalo` stamped with `at`."""
    value = compact(zalo) + "____" + vntime.to_vn(at).strftime("%d/%m/%Y %H:%M:%S")
    return urllib.parse.quote(urllib.parse.quote(value, safe=_FORM_B_SAFE), safe="")


def form_c(zalo: Any) -> str:
    """Form C of `zalo`."""
    return urllib.parse.quote(compact(zalo), safe="{}")


def form_for(result: outcome.Outcome, type_id: int, recipient_kind: str) -> Form:
    """The encoding eSMS uses for this outcome of this kind of message (DECISIONS › How is `error_info`
    encoded?)."""
    if result is outcome.Outcome.DELIVERED or recipient_kind == "zalo_uid":
        return Form.C
    if type_id in (26, 27):
        return Form.B
    return Form.A


def encode(form: Form, zalo: Any, at: dt.datetime) -> str:
    """`zalo` in `form`; `at` stamps form B."""
    if form is Form.A:
        return form_a(zalo)
    if form is Form.B:
        return form_b(zalo, at)
    return form_c(zalo)


def zalo_object(
    result: outcome.Outcome,
    *,
    code: int | None,
    text: str | None,
    zalo_res: Any,
    full: bool,
    at: dt.datetime,
    msg_id: str | None = None,
) -> dict[str, Any] | None:
    """The Zalo JSON that `error_info` carries for `result`; None while the message is queued.

    `zalo_res` is Zalo's raw answer (or the receipt, or the engine's payload). `full` gives a sent OA message
    or journey (form B) the whole answer in the samples' shape (`oa_answer`; `msg_id` is the message's Zalo
    id, used when the answer has none); otherwise only `{error, message}` is kept, as in the form A sample. A
    delivered message carries Zalo's message-status answer, taken as is when `zalo_res` already is one, else
    built from the receipt's `delivery_time` (or `at`, the time of the event).
    """
    res = zalo_res if isinstance(zalo_res, dict) else {}
    if result is outcome.Outcome.QUEUED:
        return None
    if result is outcome.Outcome.DELIVERED:
        data = res.get("data")
        if "error" in res and isinstance(data, dict) and "status" in data:
            return res
        receipt = res.get("message")
        when = receipt.get("delivery_time") if isinstance(receipt, dict) else None
        if not isinstance(when, str | int) or isinstance(when, bool):
            when = str(vntime.epoch_ms(at))
        return {
            "error": 0,
            "message": "Success",
            "data": {"delivery_time": str(when), "message": DELIVERED_TEXT, "status": 1},
        }
    if result is outcome.Outcome.REJECTED:
        rejected = code if code is not None else int(codes.Code.BAD_REQUEST_DATA)
        mapped = codes.FROM_ENGINE.get(rejected)
        if mapped is not None:
            return {"error": int(mapped), "message": codes.TEXT[mapped]}
        return {"error": rejected, "message": text or codes.text(rejected)}
    error = res.get("error")
    if isinstance(error, bool) or not isinstance(error, int | str):
        error = code if code is not None else (0 if result is outcome.Outcome.SENT else -100)
    message = res.get("message")
    if not isinstance(message, str) or not message:
        message = text if text else ("Success" if result is outcome.Outcome.SENT else "Unknown error")
    if full and result is outcome.Outcome.SENT:
        return oa_answer(res.get("data"), error, message, msg_id)
    return {"error": error, "message": message}


def oa_answer(data: Any, error: int | str, message: str, msg_id: str | None) -> dict[str, Any]:
    """A sent OA message's or journey's Zalo answer as the seed samples show it, in their key order:
    `{"data":{"message_id","user_id"},"error","message"}`.

    Zalo's OA message API answers in that shape; its ZNS send API (a journey sent by dlrhub's channel) answers
    `{error, message, data:{msg_id, sent_time, quota}}` instead, which is reshaped: `message_id` is Zalo's
    `message_id` or `msg_id`, else `msg_id` (the stored one); `user_id` is Zalo's, else empty (a send by phone
    has none).
    """
    found = data if isinstance(data, dict) else {}
    message_id = found.get("message_id", found.get("msg_id"))
    user_id = found.get("user_id")
    return {
        "data": {
            "message_id": message_id if isinstance(message_id, str) else (msg_id or ""),
            "user_id": user_id if isinstance(user_id, str) else "",
        },
        "error": error,
        "message": message,
    }
