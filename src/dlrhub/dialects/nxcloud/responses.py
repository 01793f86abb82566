"""The JSON bodies the NXCloud front door answers with: accepted sends, journey-token results and refusals."""

from __future__ import annotations

import orjson

from dlrhub.core import errors
from dlrhub.dialects.nxcloud import codes


def accepted(request_id: str) -> bytes:
    """`{"code":0,"message":"Success","data":{"requestId":…}}` for an accepted `mt` request."""
    return orjson.dumps({"code": 0, "message": "Success", "data": {"requestId": request_id}})


def journey_token(journey_id: str, token: str) -> bytes:
    """The `initJourneyToken` answer: `{"code":0,"message":"Success","data":{"journeyId":…,"token":…}}`."""
    return orjson.dumps({"code": 0, "message": "Success", "data": {"journeyId": journey_id, "token": token}})


def journey_check(created_at_ms: int, expired_at_ms: int, app_id: str, token_type: str, oa_id: str) -> bytes:
    """The `checkJourneyToken` answer; times are millisecond epoch strings, as Zalo gives them."""
    data = {
        "createdAt": str(created_at_ms),
        "expiredAt": str(expired_at_ms),
        "appId": app_id,
        "tokenType": token_type,
        "oaId": oa_id,
    }
    return orjson.dumps({"code": 0, "message": "Success", "data": data})


def refused(code: int, message: str | None = None) -> bytes:
    """`{"code":<code>,"message":<text>}`; the text defaults to the code table's."""
    return orjson.dumps({"code": code, "message": codes.text(code) if message is None else message})


def from_error(err: errors.DialectError) -> bytes:
    """The refusal body for a `DialectError` raised by this dialect."""
    return refused(err.code, err.text)
