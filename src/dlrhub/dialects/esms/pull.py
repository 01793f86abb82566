"""The bodies of the eSMS pull APIs, built from a stored message: GetCallback records, GetSendStatus,
QueryZnsStatus and GetZaloMessageStatus (PROTOCOLS §1.5, §1.6).

Key order, casing and JSON types follow the documented examples (DECISIONS › GetCallback value types,
› GetCallback for a message not yet final). Bodies are plain dicts; `responses` serialises them.
"""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal
from typing import Any, Protocol

import orjson

from dlrhub.core import models
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


class Status(Protocol):
    """What a GetCallback record reads: a `models.Message` or a `store.MessageStatus`."""

    @property
    def id(self) -> str: ...
    @property
    def type_id(self) -> int: ...
    @property
    def recipient(self) -> str: ...
    @property
    def recipient_kind(self) -> str: ...
    @property
    def state(self) -> models.MessageState: ...
    @property
    def callback_url(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def oa_id(self) -> str | None: ...
    @property
    def template_id(self) -> str | None: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def telco_id(self) -> int | None: ...
    @property
    def zalo_msg_id(self) -> str | None: ...
    @property
    def code(self) -> int | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def zalo_res(self) -> Any: ...
    @property
    def updated_at(self) -> dt.datetime: ...


#: ErrorInfo texts of the plain `{error, message}` objects, which repeat across messages (Zalo has few answers).
_PLAIN_TEXTS: dict[tuple[object, object], str] = {}
_MAX_PLAIN_TEXTS = 4096


def _error_info(message: Status, result: outcome.Outcome) -> str | None:
    """`ErrorInfo` of a GetCallback record: the clean JSON text of the Zalo object of the latest callback
    (no form-B time stamp, no encoding), or None while queued."""
    if result is outcome.Outcome.QUEUED:
        return None
    full = message.type_id in (26, 27) and result is not outcome.Outcome.DELIVERED
    res = message.zalo_res
    if not full and result is not outcome.Outcome.DELIVERED and isinstance(res, dict):
        key = (res.get("error"), res.get("message"))
        if type(key[0]) is int and type(key[1]) is str:
            found = _PLAIN_TEXTS.get(key)
            if found is None:
                found = orjson.dumps({"error": key[0], "message": key[1]}).decode()
                if len(_PLAIN_TEXTS) < _MAX_PLAIN_TEXTS:
                    _PLAIN_TEXTS[key] = found
            return found
    zalo = errorinfo.zalo_object(
        result,
        code=message.code,
        text=message.text,
        zalo_res=res,
        full=full,
        at=message.updated_at,
        msg_id=message.zalo_msg_id,
    )
    return None if zalo is None else orjson.dumps(zalo).decode()


def _telco(message: Status) -> int:
    """`Telcoid`: a number, never null (eSMS is .NET and types it `int`); 0 when unknown."""
    if message.telco_id is not None:
        return message.telco_id
    if message.recipient_kind == "zalo_uid":
        return requests.TELCO_ZALO_UID
    return 0


def callback_record(message: Status) -> dict[str, Any]:
    """One `Data_callback` record of GetCallback, in the example's key order."""
    result = outcome.of_message(message)
    counts = outcome.counts(result)
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
        "Partnerids": callback.partner_id(message.zalo_msg_id, message.zalo_res) if counts.charged else "",
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
