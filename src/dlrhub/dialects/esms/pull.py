"""The bodies of the eSMS pull APIs, built from a stored message: GetCallback records, GetSendStatus,
QueryZnsStatus and GetZaloMessageStatus (PROTOCOLS §1.5, §1.6).

Key order, casing and JSON types follow the documented examples (DECISIONS › GetCallback value types,
› GetCallback for a message not yet final). Bodies are plain dicts; `responses` serialises them.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

import orjson

from dlrhub import models
from dlrhub.dialects.esms import callback, errorinfo, outcome, requests

#: `GetZaloMessageStatus` texts per Zalo `status` (-1 unknown, 0 at Zalo's server, 1 on the phone).
ZALO_STATUS_TEXT: dict[int, str] = {
    -1: "The message status is unknown",
    0: "The message was sent to Zalo's server and is not yet delivered to the user's phone",
    1: errorinfo.DELIVERED_TEXT,
}


def _number(value: Decimal) -> int | float:
    """A money amount as a JSON number: an integer when whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def _error_info(message: models.Message, result: outcome.Outcome) -> str | None:
    """`ErrorInfo` of a GetCallback record: the clean JSON text of the Zalo object of the latest callback
    (no form-B time stamp, no encoding), or None while queued."""
    zalo = errorinfo.zalo_object(
        result,
        code=message.code,
        text=message.text,
        zalo_res=message.zalo_res,
        full=message.type_id in (26, 27) and result is not outcome.Outcome.DELIVERED,
        at=message.updated_at,
    )
    return None if zalo is None else errorinfo.compact(zalo)


def _telco(message: models.Message) -> int:
    """`Telcoid`: a number, never null (eSMS is .NET and types it `int`); 0 when unknown."""
    if message.telco_id is not None:
        return message.telco_id
    if message.recipient_kind == "zalo_uid":
        return requests.TELCO_ZALO_UID
    return 0


def callback_record(message: models.Message) -> dict[str, Any]:
    """One `Data_callback` record of GetCallback, in the example's key order."""
    result = outcome.of_message(message)
    counts = outcome.counts(result)
    sent = result in (outcome.Outcome.SENT, outcome.Outcome.DELIVERED)
    fields = callback.fields_for(message, result)
    return {
        "SMSID": message.id,
        "SendFailed": counts.send_failed,
        "SendSuccess": counts.send_success,
        "SendStatus": counts.send_status,
        "TotalPrice": float(message.price) if counts.charged else 0.0,
        "TotalReceiver": counts.total_receiver,
        "TotalSent": counts.total_sent,
        "RequestId": message.request_id,
        "TypeId": message.type_id,
        "Telcoid": _telco(message),
        "PhoneNumber": message.recipient,
        "CallbackUrl": message.callback_url,
        "Partnerids": fields.partner_ids if sent else "",
        "ErrorInfo": _error_info(message, result),
        "OAId": message.oa_id or "",
        "ZnsTempId": message.template_id or "",
    }


def send_status(message: models.Message) -> dict[str, Any]:
    """The GetSendStatus body. `TotalPrice` keeps 4 decimals, as in the example (`850.0000`)."""
    result = outcome.of_message(message)
    counts = outcome.counts(result)
    price = message.price if counts.charged else Decimal(0)
    return {
        "CodeResponse": "100",
        "SMSID": message.id,
        "SendFailed": counts.send_failed,
        "SendStatus": counts.send_status,
        "SendSuccess": counts.send_success,
        "TotalPrice": orjson.Fragment(callback.price_text(price).encode()),
        "TotalReceiver": counts.total_receiver,
        "TotalSent": counts.total_sent,
    }


def zns_status(message: models.Message) -> dict[str, Any]:
    """The QueryZnsStatus body. `ErrorInfo`: "0" sent or delivered, null not sent yet, else the failure code;
    `FinalStatus` "1" once delivered, failed or rejected, "0" while it may still change."""
    result = outcome.of_message(message)
    counts = outcome.counts(result)
    error_info: str | None
    if result in (outcome.Outcome.SENT, outcome.Outcome.DELIVERED):
        error_info = "0"
    elif result is outcome.Outcome.QUEUED:
        error_info = None
    else:
        zalo = errorinfo.zalo_object(
            result,
            code=message.code,
            text=message.text,
            zalo_res=message.zalo_res,
            full=False,
            at=message.updated_at,
        )
        error_info = str(zalo["error"]) if zalo is not None else None
    final = result in (outcome.Outcome.DELIVERED, outcome.Outcome.FAILED, outcome.Outcome.REJECTED)
    return {
        "CodeResult": "100",
        "Data": {
            "ErrorInfo": error_info,
            "FinalStatus": "1" if final else "0",
            "SMSID": message.id,
            "SendFailed": counts.send_failed,
            "SendStatus": counts.send_status,
            "SendSuccess": counts.send_success,
            "TotalPrice": float(message.price) if counts.charged else 0.0,
            "TotalReceiver": counts.total_receiver,
            "TotalSent": counts.total_sent,
            "ZaloMsgId": message.zalo_msg_id or "",
        },
    }


def zalo_message_status(message: models.Message) -> dict[str, Any]:
    """The GetZaloMessageStatus body (a proxy of Zalo's message-status answer)."""
    result = outcome.of_message(message)
    status = {outcome.Outcome.DELIVERED: 1, outcome.Outcome.SENT: 0}.get(result, -1)
    delivery_time: str | None = None
    if result is outcome.Outcome.DELIVERED:
        zalo = errorinfo.zalo_object(
            result, code=None, text=None, zalo_res=message.zalo_res, full=False, at=message.updated_at
        )
        data = zalo.get("data") if zalo is not None else None
        when = data.get("delivery_time") if isinstance(data, dict) else None
        delivery_time = None if when is None else str(when)
    return {
        "CodeResult": "100",
        "Data": {"delivery_time": delivery_time, "message": ZALO_STATUS_TEXT[status], "status": status},
        "ErrorMessage": "success. ",
    }


def user_id(account: models.Account) -> int:
    """GetBalance's numeric `UserID`: a stable number derived from the account id."""
    return zlib.crc32(account.id.encode())


def balance(account: models.Account) -> dict[str, Any]:
    """The GetBalance body."""
    return {"Balance": _number(account.balance), "CodeResponse": "100", "UserID": user_id(account)}
