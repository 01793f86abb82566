"""Zalo's wire shapes: request bodies, answers, and the mapping of a Zalo answer to a dlrhub outcome (pure)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import orjson

from dlrhub.core import errors, models
from dlrhub.dialects.zalo import codes

#: Zalo's business API (PROTOCOLS §3.1).
DEFAULT_API_BASE = "https://business.openapi.zalo.me"
#: Zalo's OAuth server (PROTOCOLS §3.6).
DEFAULT_OAUTH_BASE = "https://oauth.zaloapp.com"

PATH_TEMPLATE = "/message/template"
PATH_TEMPLATE_HASHPHONE = "/message/template/hashphone"  # Sec: SDK code
PATH_JOURNEY_GET_TOKEN = "/journey/get-token"  # noqa: S105
PATH_JOURNEY_CHECK_TOKEN = "/journey/check-token"  # noqa: S105
PATH_MESSAGE_STATUS = "/message/status"  # Sec: SDK code
PATH_QUOTA = "/message/quota"  # Sec/Inf: not in the documents read; dlrhub's choice
PATH_OAUTH_TOKEN = "/v4/oa/access_token"  # noqa: S105

#: Zalo's answer is read up to this size; a longer one counts as malformed.
MAX_ANSWER_BYTES = 256 * 1024

_PHONE = re.compile(r"\+?[0-9]{8,15}")
_HASH_PHONE = re.compile(r"[0-9a-f]{64}")
#: A Zalo user id: digits only, at most 20 (eSMS's `ZaloUid` bound; the UID sample has 19).
USER_ID = re.compile(r"[0-9]{1,20}")
_TEMPLATE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_TRACKING_ID = re.compile(r"[0-9A-Za-z._:-]{1,48}")
_SENDING_MODES = frozenset({"1", "2", "3"})
_MAX_TEMPLATE_KEYS = 100
_MAX_TEMPLATE_VALUE = 4000

T = TypeVar("T")


def from_epoch_ms(value: object, field: str) -> dt.datetime:
    """A UTC datetime from Zalo's millisecond epoch (string or number); raises InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise errors.InvalidInput(field, "expected epoch milliseconds")
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise errors.InvalidInput(field, "expected epoch milliseconds")
    try:
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise errors.InvalidInput(field, "time out of range") from exc


def loads(raw: bytes, field: str = "body") -> Any:
    """Parse JSON bytes; raises InvalidInput (never anything else) on a bad or oversized document."""
    if len(raw) > MAX_ANSWER_BYTES:
        raise errors.InvalidInput(field, "too large")
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, ValueError, RecursionError) as exc:
        raise errors.InvalidInput(field, "not JSON") from exc


@dataclasses.dataclass(frozen=True, slots=True)
class Quota:
    """An OA's ZNS quota for today."""

    daily: int
    remaining: int


@dataclasses.dataclass(frozen=True, slots=True)
class SendOutcome:
    """What dlrhub makes of one send: SUCCESS code 0, or FAILED 17004 (Zalo error) / 17005 (no answer)."""

    kind: models.EventKind
    code: int
    text: str
    #: Zalo's raw `{error, message, data}`, or codes.TIMEOUT_ZALO_RES on 17005.
    zalo_res: models.JSON
    #: Zalo's `error`; None when Zalo never answered or the answer was malformed.
    zalo_error: int | None = None
    msg_id: str | None = None
    sent_at: dt.datetime | None = None
    sending_mode: str | None = None
    quota: Quota | None = None

    @property
    def token_invalid(self) -> bool:
        """Whether Zalo refused the OA access token (-124): refresh once and retry once."""
        return self.zalo_error == codes.ERROR_TOKEN_INVALID

    @property
    def timed_out(self) -> bool:
        """Whether Zalo never answered (17005)."""
        return self.code == codes.CODE_TIMEOUT


def timeout_outcome() -> SendOutcome:
    """The outcome of a send Zalo did not answer within the engine timeout."""
    return SendOutcome(
        models.EventKind.FAILED, codes.CODE_TIMEOUT, codes.TEXT_TIMEOUT, dict(codes.TIMEOUT_ZALO_RES)
    )


def _quota(data: object) -> Quota | None:
    if not isinstance(data, dict):
        return None
    q = data.get("quota", data)
    if not isinstance(q, dict):
        return None
    try:
        return Quota(int(q["dailyQuota"]), int(q["remainingQuota"]))
    except (KeyError, TypeError, ValueError):
        return None


def send_outcome(raw: bytes) -> SendOutcome:
    """Map Zalo's answer to `/message/template` (raw bytes) to a dlrhub outcome. Never raises."""
    try:
        body = loads(raw, "answer")
    except errors.InvalidInput:
        body = None
    if (
        not isinstance(body, dict)
        or isinstance(body.get("error"), bool)
        or not isinstance(body.get("error"), int)
    ):
        note = "Malformed Zalo answer"
        res: models.JSON = {"error": None, "message": note, "data": None}
        return SendOutcome(models.EventKind.FAILED, codes.CODE_SEND_ERROR, codes.send_error_text(note), res)
    code: int = body["error"]
    message = body.get("message")
    message = message if isinstance(message, str) else codes.error_message(code)
    data = body.get("data")
    res = {"error": code, "message": message, "data": data}
    if code != 0:
        return SendOutcome(
            models.EventKind.FAILED,
            codes.CODE_SEND_ERROR,
            codes.send_error_text(message),
            res,
            code,
            quota=_quota(data),
        )
    data = data if isinstance(data, dict) else {}
    msg_id = data.get("msg_id")
    sent_at: dt.datetime | None
    try:
        sent_at = from_epoch_ms(data.get("sent_time"), "sent_time")
    except errors.InvalidInput:
        sent_at = None
    mode = data.get("sending_mode")
    return SendOutcome(
        models.EventKind.SUCCESS,
        codes.CODE_SENT,
        codes.TEXT_SENT,
        res,
        0,
        msg_id=msg_id if isinstance(msg_id, str) and msg_id else None,
        sent_at=sent_at,
        sending_mode=mode if isinstance(mode, str) else None,
        quota=_quota(data),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class TemplateSend:
    """One ZNS template send: the template and its data, and exactly one of phone, hash phone and Zalo user id."""

    template_id: str
    template_data: Mapping[str, object]
    #: dlrhub's id for the send, echoed in Zalo's receipt.
    tracking_id: str
    phone: str | None = None
    hash_phone: str | None = None
    user_id: str | None = None
    sending_mode: str = "1"
    #: A journey's token, sent in the `journey_token` header.
    journey_token: str | None = None


def template_request(
    *,
    phone: str | None,
    hash_phone: str | None,
    template_id: str,
    template_data: Mapping[str, object],
    tracking_id: str,
    sending_mode: str = "1",
    user_id: str | None = None,
) -> tuple[str, models.JSON]:
    """The path and JSON body of a template send, by phone, hash phone or Zalo user id; raises InvalidInput.

    By user id (Inf, dlrhub's choice: Zalo's UID path was not found in the documents read) the send goes to
    `/message/template` with `user_id` in place of `phone`.
    """
    if sum(v is not None for v in (phone, hash_phone, user_id)) != 1:
        raise errors.InvalidInput("phone", "give exactly one of phone, hash_phone and user_id")
    if not _TEMPLATE_ID.fullmatch(template_id):
        raise errors.InvalidInput("template_id", "1-64 letters, digits, _ or -")
    if not _TRACKING_ID.fullmatch(tracking_id):
        raise errors.InvalidInput("tracking_id", "1-48 letters, digits, '.', '_', ':' or '-'")
    if sending_mode not in _SENDING_MODES:
        raise errors.InvalidInput("sending_mode", "expected 1, 2 or 3")
    if len(template_data) > _MAX_TEMPLATE_KEYS:
        raise errors.InvalidInput("template_data", f"more than {_MAX_TEMPLATE_KEYS} keys")
    for key, value in template_data.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise errors.InvalidInput("template_data", "keys are strings of 1-64 characters")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise errors.InvalidInput(f"template_data.{key}", "expected a string or a number")
        if isinstance(value, str) and len(value) > _MAX_TEMPLATE_VALUE:
            raise errors.InvalidInput(f"template_data.{key}", "too long")
    body: models.JSON
    if user_id is not None:
        if not USER_ID.fullmatch(user_id):
            raise errors.InvalidInput("user_id", "expected 1-20 digits")
        body = {"user_id": user_id}
        path = PATH_TEMPLATE
    elif phone is not None:
        if not _PHONE.fullmatch(phone):
            raise errors.InvalidInput("phone", "expected 8-15 digits, optionally after +")
        body = {"phone": phone}
        path = PATH_TEMPLATE
    else:
        assert hash_phone is not None
        if not _HASH_PHONE.fullmatch(hash_phone):
            raise errors.InvalidInput("hash_phone", "expected 64 lowercase hex digits")
        body = {"phone": hash_phone}
        path = PATH_TEMPLATE_HASHPHONE
    body.update(
        template_id=template_id,
        template_data=dict(template_data),
        tracking_id=tracking_id,
        sending_mode=sending_mode,
    )
    return path, body


@dataclasses.dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A non-send Zalo call's result: `value` on success, else Zalo's error (or `timed_out`)."""

    value: T | None
    error: int | None = None
    message: str | None = None
    raw: models.JSON | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.value is not None


def timeout_answer() -> Answer[Any]:
    """The answer of a call Zalo did not answer in time."""
    return Answer(None, message=codes.TEXT_TIMEOUT, timed_out=True)


@dataclasses.dataclass(frozen=True, slots=True)
class JourneyToken:
    """A journey token from `/journey/get-token` (valid 7 days from activation)."""

    token: str
    journey_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class JourneyTokenInfo:
    """What `/journey/check-token` says about a token."""

    app_id: str
    oa_id: str
    created_at: dt.datetime
    expired_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class MessageStatus:
    """`/message/status`: `status` -1 unknown, 0 at Zalo's server, 1 on the user's phone."""

    status: int
    message: str
    delivered_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class TokenGrant:
    """An OAuth v4 grant. The refresh token is single-use: persist it before using the access token."""

    access_token: str
    refresh_token: str
    expires_in: int


def _str(d: Mapping[str, Any], key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not 0 < len(v) <= 2048:
        raise errors.InvalidInput(key, "expected a non-empty string")
    return v


def _journey_token(body: models.JSON) -> JourneyToken:
    return JourneyToken(_str(body, "token"), str(body.get("journey_id") or ""))


def _journey_info(body: models.JSON) -> JourneyTokenInfo:
    d = body.get("data")
    if not isinstance(d, dict):
        raise errors.InvalidInput("data", "expected an object")
    # The table says snake_case, the example camelCase (PROTOCOLS §3.2): accept both.
    app_id = d.get("appId", d.get("app_id"))
    oa_id = d.get("oaId", d.get("oa_id"))
    created = d.get("createdAt", d.get("created_at"))
    expired = d.get("expiredAt", d.get("expired_at"))
    return JourneyTokenInfo(
        str(app_id or ""),
        str(oa_id or ""),
        from_epoch_ms(created, "createdAt"),
        from_epoch_ms(expired, "expiredAt"),
    )


def _message_status(body: models.JSON) -> MessageStatus:
    d = body.get("data")
    if not isinstance(d, dict) or isinstance(d.get("status"), bool) or not isinstance(d.get("status"), int):
        raise errors.InvalidInput("data.status", "expected an integer")
    delivery = d.get("delivery_time")
    return MessageStatus(
        d["status"],
        str(d.get("message") or ""),
        None if delivery in (None, "") else from_epoch_ms(delivery, "delivery_time"),
    )


def _quota_answer(body: models.JSON) -> Quota:
    q = _quota(body.get("data"))
    if q is None:
        raise errors.InvalidInput("data", "expected dailyQuota and remainingQuota")
    return q


def _token_grant(body: models.JSON) -> TokenGrant:
    expires = body.get("expires_in")
    # `expires_in` is a string of seconds (PROTOCOLS §3.6); a number is tolerated.
    if isinstance(expires, bool) or not isinstance(expires, str | int) or not str(expires).isdigit():
        raise errors.InvalidInput("expires_in", "expected seconds")
    return TokenGrant(_str(body, "access_token"), _str(body, "refresh_token"), int(expires))


def answer(raw: bytes, parse: Callable[[models.JSON], T], *, error_key_required: bool = True) -> Answer[T]:
    """Zalo's answer to a call other than a send: `parse` reads a success; an error or malformed body is a value."""
    try:
        body = loads(raw, "answer")
    except errors.InvalidInput:
        return Answer(None, message="Malformed Zalo answer")
    if not isinstance(body, dict):
        return Answer(None, message="Malformed Zalo answer")
    code = body.get("error", None if error_key_required else 0)
    message = body.get("message")
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        text = message if isinstance(message, str) else codes.error_message(code)
        return Answer(None, error=code, message=text, raw=body)
    if code is None and error_key_required:
        return Answer(None, message="Malformed Zalo answer", raw=body)
    try:
        return Answer(parse(body), error=0, message=message if isinstance(message, str) else None, raw=body)
    except errors.InvalidInput as exc:
        return Answer(None, message=f"Malformed Zalo answer ({exc})", raw=body)


def journey_token_answer(raw: bytes) -> Answer[JourneyToken]:
    """Parse `/journey/get-token`'s answer."""
    return answer(raw, _journey_token)


def journey_info_answer(raw: bytes) -> Answer[JourneyTokenInfo]:
    """Parse `/journey/check-token`'s answer."""
    return answer(raw, _journey_info)


def message_status_answer(raw: bytes) -> Answer[MessageStatus]:
    """Parse `/message/status`'s answer."""
    return answer(raw, _message_status)


def quota_answer(raw: bytes) -> Answer[Quota]:
    """Parse the quota answer."""
    return answer(raw, _quota_answer)


def token_grant_answer(raw: bytes) -> Answer[TokenGrant]:
    """Parse the OAuth v4 answer (a grant carries no `error` key)."""
    return answer(raw, _token_grant, error_key_required=False)
