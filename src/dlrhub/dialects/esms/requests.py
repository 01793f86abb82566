"""Parsing and validating the eSMS ZNS send requests (V4, V4 journey, V5, V6, V6 hash phone, V6 Zalo UID).

Every variant becomes one `SendRequest`. Anything wrong raises `errors.DialectError` with the eSMS code, and
nothing else, whatever JSON value comes in. Checks that need stored records (account, OA, template, balance,
duplicate RequestId) are in `checks`.

Choices made here (see also docs/reference/esms.md):

- V4 `Params` is a list in template order; it becomes `template_data` with keys "1", "2", ... in list order,
  since the template's variable names are not known at the door.
- TypeId is 25 (normal ZNS) for every variant, and 27 for a V4 request with `IsJourney` true.
- `SendDate` is Vietnam time; it becomes an aware UTC datetime.
- Ids may be sent as JSON numbers; they are kept as their decimal text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import urllib.parse
from typing import Any

from dlrhub.dialects.esms import codes, fields, vntime

#: TypeId of a normal ZNS message.
TYPE_ZNS = 25
#: TypeId of a ZNS journey message.
TYPE_JOURNEY = 27
#: TypeId that eSMS gives to Zalo UID sends' `telcoid` (the UID sample shows 9).
TELCO_ZALO_UID = 9

MAX_KEY_LEN = 128
MAX_ID_LEN = 64
MAX_REQUEST_ID = 50
MAX_CALLBACK_URL = 2048
MAX_CAMPAIGN = 254
MAX_ORDER_ID = 100
MAX_TEMPLATE_PARAMS = 100
MAX_PARAM_NAME = 100
MAX_PARAM_VALUE = 2000
MAX_ZALO_UID = 20

_PHONE = re.compile(r"(?:\+?84|0)[1-9][0-9]{8}")
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_UID = re.compile(r"[0-9]+")
_SEND_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")

#: Vietnamese mobile prefixes (0-form, three digits) -> eSMS telcoid.
_TELCO_PREFIXES: dict[int, tuple[str, ...]] = {
    1: ("032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"),
    2: ("070", "076", "077", "078", "079", "089", "090", "093"),
    3: ("081", "082", "083", "084", "085", "088", "091", "094"),
    4: ("052", "056", "058", "092"),
    5: ("059", "099"),
    6: ("087",),
    7: ("055",),
}
_TELCO_BY_PREFIX = {prefix: telco for telco, prefixes in _TELCO_PREFIXES.items() for prefix in prefixes}


class Variant(enum.StrEnum):
    """An eSMS ZNS send front door; the value is its path after `/MainService.svc/json/`."""

    #: `Params` list in template order; with `IsJourney` and `OrderId` it sends a journey ZNS.
    V4 = "SendZaloMessage_V4_post_json/"
    #: `TempData` as a list of `{"key", "value"}`.
    V5 = "SendZaloMessage_V5_post/"
    #: `TempData` as an object; the current API.
    V6 = "SendZaloMessage_V6/"
    #: As V6, with `HashPhone` (SHA-256 hex of the 84-form number) instead of `Phone`.
    V6_HASH_PHONE = "SendZaloMessage_V6/hash_phone/"
    #: As V6, with `ZaloUid` instead of `Phone`.
    V6_ZALO_UID = "SendZaloMessage_V6/zalo_uid/"


class RecipientKind(enum.StrEnum):
    """How `SendRequest.recipient` names the user (the values of `models.Message.recipient_kind`)."""

    #: A phone number, as the client wrote it.
    PHONE = "phone"
    #: The lowercase SHA-256 hex of the 84-form number.
    HASH_PHONE = "hash_phone"
    #: A Zalo user id.
    ZALO_UID = "zalo_uid"


@dataclasses.dataclass(frozen=True, slots=True)
class SendRequest:
    """One validated eSMS ZNS send request."""

    variant: Variant
    api_key: str
    secret_key: str = dataclasses.field(repr=False)
    recipient: str = ""
    recipient_kind: RecipientKind = RecipientKind.PHONE
    oa_id: str = ""
    template_id: str = ""
    #: Template variables in the client's order (V4: keys "1", "2", ...).
    template_data: dict[str, str] = dataclasses.field(default_factory=dict)
    type_id: int = TYPE_ZNS
    #: eSMS telcoid: from the phone prefix, 9 for a Zalo UID, None when unknown.
    telco_id: int | None = None
    request_id: str | None = None
    callback_url: str | None = None
    sandbox: bool = False
    #: When to send (aware, UTC); None sends now.
    send_at: dt.datetime | None = None
    #: "1" normal, "3" over quota.
    sending_mode: str = "1"
    campaign_id: str | None = None
    is_journey: bool = False
    #: The journey id of a V4 journey request.
    order_id: str | None = None


def credentials(body: dict[str, Any]) -> tuple[str, str]:
    """`(ApiKey, SecretKey)` of a body; raises 101 when either is missing or not text."""
    api_key = fields.text(body, "ApiKey", MAX_KEY_LEN, code=codes.Code.AUTHORIZE_FAILED, strip=False)
    secret = fields.text(body, "SecretKey", MAX_KEY_LEN, code=codes.Code.AUTHORIZE_FAILED, strip=False)
    if api_key is None or secret is None:
        raise codes.error(codes.Code.AUTHORIZE_FAILED)
    return api_key, secret


def telco_of(phone: str) -> int | None:
    """The eSMS telcoid of a Vietnamese mobile number (`0…`, `84…` or `+84…`), or None when unknown."""
    digits = phone.lstrip("+")
    local = "0" + digits[2:] if digits.startswith("84") else digits
    return _TELCO_BY_PREFIX.get(local[:3])


def parse_send(raw: object, variant: Variant) -> SendRequest:
    """Validate one send request body (bytes, str, or decoded JSON) of `variant`.

    Raises `errors.DialectError` only: 110 malformed, 101 credentials missing, 108 bad phone, 115 bad hash
    phone, 852/853 bad or missing Zalo UID, 791 OAID or TempID missing, 801 SendingMode 3 with SendDate.
    """
    body = fields.parse_body(raw)
    api_key, secret = credentials(body)
    recipient, kind, telco = _recipient(body, variant)
    oa_id = fields.text(body, "OAID", MAX_ID_LEN)
    template_id = fields.text(body, "TempID", MAX_ID_LEN)
    if oa_id is None or template_id is None:
        raise codes.error(codes.Code.MISSING_OA_OR_TEMPLATE)
    template_data = _template_data(body, variant)
    is_journey = variant is Variant.V4 and fields.flag(body, "IsJourney")
    order_id = fields.text(body, "OrderId", MAX_ORDER_ID) if is_journey else None
    if is_journey and order_id is None:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: OrderId is required for a journey")
    send_at = _send_date(body)
    mode = fields.text(body, "SendingMode", 8) or "1"
    if mode not in {"1", "3"}:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: SendingMode must be 1 or 3")
    if mode == "3" and send_at is not None:
        raise codes.error(codes.Code.MODE3_SCHEDULED)
    return SendRequest(
        variant=variant,
        api_key=api_key,
        secret_key=secret,
        recipient=recipient,
        recipient_kind=kind,
        oa_id=oa_id,
        template_id=template_id,
        template_data=template_data,
        type_id=TYPE_JOURNEY if is_journey else TYPE_ZNS,
        telco_id=telco,
        request_id=fields.text(body, "RequestId", MAX_REQUEST_ID),
        callback_url=_callback_url(body),
        sandbox=fields.flag(body, "Sandbox"),
        send_at=send_at,
        sending_mode=mode,
        campaign_id=fields.text(body, "campaignid", MAX_CAMPAIGN),
        is_journey=is_journey,
        order_id=order_id,
    )


def _recipient(body: dict[str, Any], variant: Variant) -> tuple[str, RecipientKind, int | None]:
    if variant is Variant.V6_HASH_PHONE:
        value = fields.text(body, "HashPhone", 64, code=codes.Code.BAD_HASH_PHONE)
        if value is None or not _HASH.fullmatch(value):
            raise codes.error(codes.Code.BAD_HASH_PHONE)
        return value.lower(), RecipientKind.HASH_PHONE, None
    if variant is Variant.V6_ZALO_UID:
        uid = fields.lookup(body, "ZaloUid")
        if uid is None or uid == "":
            raise codes.error(codes.Code.MISSING_ZALO_UID)
        value = fields.text(body, "ZaloUid", MAX_ZALO_UID, code=codes.Code.ZALO_UID_INVALID)
        if value is None:
            raise codes.error(codes.Code.MISSING_ZALO_UID)
        if not _UID.fullmatch(value):
            raise codes.error(codes.Code.ZALO_UID_INVALID)
        return value, RecipientKind.ZALO_UID, TELCO_ZALO_UID
    phone = fields.text(body, "Phone", 20, code=codes.Code.BAD_PHONE)
    if phone is None or not _PHONE.fullmatch(phone):
        raise codes.error(codes.Code.BAD_PHONE)
    return phone, RecipientKind.PHONE, telco_of(phone)


def _param(value: object, name: str) -> str:
    """One template value: text, or a number written as text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: {name} must be a string")
    if isinstance(value, int) and abs(value) >= 10**30:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: {name} is too large")
    return fields.clean(
        value if isinstance(value, str) else str(value), name, MAX_PARAM_VALUE, free_text=True
    )


def _template_data(body: dict[str, Any], variant: Variant) -> dict[str, str]:
    name = "Params" if variant is Variant.V4 else "TempData"
    value = fields.lookup(body, name)
    if value is None:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: {name} is required")
    size = len(value) if isinstance(value, list | dict) else 0
    if size > MAX_TEMPLATE_PARAMS:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: {name} has too many values")
    data: dict[str, str] = {}
    if variant is Variant.V4:
        if not isinstance(value, list):
            raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: Params must be a list")
        for index, item in enumerate(value, start=1):
            data[str(index)] = _param(item, "Params")
        return data
    if variant is Variant.V5:
        if not isinstance(value, list):
            raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: TempData must be a list")
        for item in value:
            if not isinstance(item, dict):
                raise codes.error(
                    codes.Code.BAD_REQUEST_DATA, "Invalid request: TempData items must be {key, value}"
                )
            key = fields.text(item, "key", MAX_PARAM_NAME)
            if key is None or key in data:
                raise codes.error(
                    codes.Code.BAD_REQUEST_DATA, "Invalid request: TempData keys must be present and unique"
                )
            item_value = fields.lookup(item, "value")
            data[key] = _param("" if item_value is None else item_value, "TempData")
        return data
    if not isinstance(value, dict):
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: TempData must be an object")
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: TempData keys must be text")
        data[fields.clean(key, "TempData", MAX_PARAM_NAME)] = _param(item, "TempData")
    return data


def _send_date(body: dict[str, Any]) -> dt.datetime | None:
    value = fields.text(body, "SendDate", 32)
    if value is None:
        return None
    if not _SEND_DATE.fullmatch(value):
        raise codes.error(
            codes.Code.BAD_REQUEST_DATA, "Invalid request: SendDate must be yyyy-mm-dd hh:MM:ss"
        )
    try:
        local = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=vntime.VN)
        return local.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise codes.error(
            codes.Code.BAD_REQUEST_DATA, "Invalid request: SendDate is not a valid time"
        ) from None


def _callback_url(body: dict[str, Any]) -> str | None:
    value = fields.text(body, "CallbackUrl", MAX_CALLBACK_URL)
    if value is None:
        return None
    bad = codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: CallbackUrl must be an http(s) URL")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise bad
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise bad from None
    if parts.scheme.lower() not in {"http", "https"} or not host:
        raise bad
    return value
