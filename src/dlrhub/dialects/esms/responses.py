"""The exact response bytes of every eSMS API, serialised with orjson.

The result key has three spellings, as documented: `CodeResult` (a string: sends, QueryZnsStatus,
GetZaloMessageStatus),
`CodeResponse` (a string: GetSendStatus, GetBalance) and `Code` (a number: GetCallback).
"""

from __future__ import annotations

from typing import Any

import orjson

from dlrhub.dialects.esms import codes


def dumps(body: Any) -> bytes:
    """`body` as JSON bytes (keys in insertion order)."""
    return orjson.dumps(body)


def send_ok(sms_id: str) -> bytes:
    """A send accepted: `{"CodeResult":"100","CountRegenerate":0,"SMSID":…}`."""
    return dumps({"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id})


def send_error(code: int, message: str | None = None) -> bytes:
    """A send refused: `{"CodeResult":"<code>","CountRegenerate":0,"ErrorMessage":…}`; a duplicate RequestId
    also carries `"SendStatus":"5"`, as documented."""
    body: dict[str, Any] = {
        "CodeResult": str(code),
        "CountRegenerate": 0,
        "ErrorMessage": message if message is not None else codes.text(code),
    }
    if code == codes.Code.DUPLICATE_REQUEST:
        body["SendStatus"] = "5"
    return dumps(body)


def get_callback(records: list[dict[str, Any]]) -> bytes:
    """GetCallback answered: `{"Code":100,"Message":"Success","Data_callback":[…]}`."""
    return dumps({"Code": 100, "Message": "Success", "Data_callback": records})


def get_callback_error(code: int, message: str | None = None) -> bytes:
    """GetCallback refused: `{"Code":<code>,"Message":…}` (160 is the TPS limit)."""
    return dumps({"Code": code, "Message": message if message is not None else codes.text(code)})


def code_result(body: dict[str, Any]) -> bytes:
    """A `CodeResult`/`CodeResponse` body built by `pull` (GetSendStatus, QueryZnsStatus,
    GetZaloMessageStatus, GetBalance)."""
    return dumps(body)


def code_result_error(code: int, message: str | None = None) -> bytes:
    """QueryZnsStatus or GetZaloMessageStatus refused: `{"CodeResult":"<code>","ErrorMessage":…}`."""
    return dumps(
        {"CodeResult": str(code), "ErrorMessage": message if message is not None else codes.text(code)}
    )


def code_response_error(code: int, message: str | None = None) -> bytes:
    """GetSendStatus refused: `{"CodeResponse":"<code>","ErrorMessage":…}`."""
    return dumps(
        {"CodeResponse": str(code), "ErrorMessage": message if message is not None else codes.text(code)}
    )


def balance_error(code: int, message: str | None = None) -> bytes:
    """GetBalance refused: `{"Balance":0,"CodeResponse":"<code>","ErrorMessage":…}`, as documented for 101."""
    return dumps(
        {
            "Balance": 0,
            "CodeResponse": str(code),
            "ErrorMessage": message if message is not None else codes.text(code),
        }
    )
