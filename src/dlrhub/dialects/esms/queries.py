"""Parsing the eSMS pull requests: GetCallback, GetSendStatus, QueryZnsStatus, GetZaloMessageStatus and
GetBalance.

Like `requests`, each raises only `errors.DialectError` with the eSMS code, whatever comes in. Credentials are
read first, so a caller without them learns nothing else about its request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from dlrhub.dialects.esms import codes, fields, requests

#: GetCallback answers for at most this many ids: the first ones, in order (DECISIONS).
MAX_REFIDS = 200
#: GetCallback bodies may list many more ids than are read (about 50,000 fit); larger ones get 110.
MAX_GET_CALLBACK_BYTES = 2 * 1024 * 1024
#: The longest SMSID worth looking up (dlrhub's are 35 characters; eSMS's up to 40).
MAX_SMSID = 64


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackQuery:
    """A GetCallback request."""

    api_key: str
    secret_key: str = dataclasses.field(repr=False)
    #: Only messages of this OA are returned; None returns the account's messages of any OA.
    oa_id: str | None = None
    #: The first `MAX_REFIDS` ids, in the request's order, duplicates kept.
    sms_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class StatusQuery:
    """A request about one message: GetSendStatus (`RefId`), QueryZnsStatus (`SmsId`) or GetZaloMessageStatus
    (`MessageId`, a Zalo msg id, with its `OAID`)."""

    api_key: str
    secret_key: str = dataclasses.field(repr=False)
    message_id: str = ""
    oa_id: str | None = None
    #: QueryZnsStatus `SmsType` ("24" or "25"), when given.
    sms_type: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class BalanceQuery:
    """A GetBalance request."""

    api_key: str
    secret_key: str = dataclasses.field(repr=False)


def _sms_id(value: object) -> str:
    if type(value) is str and len(value) <= MAX_SMSID and value.isascii() and value.isprintable():
        return value.strip()  # the common case, checked at C speed
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: ListRefid must hold strings")
    text = str(value).strip() if isinstance(value, str) or abs(value) < 10**30 else ""
    return fields.clean(text, "ListRefid", MAX_SMSID)


def parse_get_callback(raw: object) -> CallbackQuery:
    """Validate a GetCallback body. `ListRefid` is an array of SMSIDs (a comma-separated string is accepted
    too, since the table types it "string"); only the first 200 are read. Raises 110 or 101."""
    body = fields.parse_body(raw, MAX_GET_CALLBACK_BYTES)
    api_key, secret = requests.credentials(body)
    oa_id = fields.text(body, "OAId", requests.MAX_ID_LEN)
    listed = fields.lookup(body, "ListRefid")
    items: list[Any]
    if listed is None:
        items = []
    elif isinstance(listed, list):
        items = listed[:MAX_REFIDS]
    elif isinstance(listed, str):
        items = listed.split(",", MAX_REFIDS)[:MAX_REFIDS]
    else:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: ListRefid must be an array")
    ids = tuple(sms_id for sms_id in (_sms_id(item) for item in items) if sms_id)
    return CallbackQuery(api_key=api_key, secret_key=secret, oa_id=oa_id, sms_ids=ids)


def parse_send_status(params: Mapping[str, Any]) -> StatusQuery:
    """Validate GetSendStatus query parameters (`RefId`, `ApiKey`, `SecretKey`); 105 without `RefId`."""
    body = fields.parse_body(dict(params))
    api_key, secret = requests.credentials(body)
    ref = fields.text(body, "RefId", MAX_SMSID, code=codes.Code.MESSAGE_NOT_FOUND)
    if ref is None:
        raise codes.error(codes.Code.MESSAGE_NOT_FOUND)
    return StatusQuery(api_key=api_key, secret_key=secret, message_id=ref)


def parse_zns_status(raw: object) -> StatusQuery:
    """Validate a QueryZnsStatus body (`SmsId`, `SmsType` "24"/"25"); 851 when `SmsId` is missing."""
    body = fields.parse_body(raw)
    api_key, secret = requests.credentials(body)
    sms_id = fields.text(body, "SmsId", MAX_SMSID, code=codes.Code.MISSING_MESSAGE_ID)
    if sms_id is None:
        raise codes.error(codes.Code.MISSING_MESSAGE_ID)
    sms_type = fields.text(body, "SmsType", 8)
    if sms_type is not None and sms_type not in {"24", "25"}:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: SmsType must be 24 or 25")
    return StatusQuery(api_key=api_key, secret_key=secret, message_id=sms_id, sms_type=sms_type)


def parse_zalo_message_status(raw: object) -> StatusQuery:
    """Validate a GetZaloMessageStatus body (`OAID`, `MessageId` = the Zalo msg id); 851 when `MessageId` is
    missing, 791 when `OAID` is."""
    body = fields.parse_body(raw)
    api_key, secret = requests.credentials(body)
    message_id = fields.text(body, "MessageId", MAX_SMSID, code=codes.Code.MISSING_MESSAGE_ID)
    if message_id is None:
        raise codes.error(codes.Code.MISSING_MESSAGE_ID)
    oa_id = fields.text(body, "OAID", requests.MAX_ID_LEN)
    if oa_id is None:
        raise codes.error(codes.Code.MISSING_OA_OR_TEMPLATE)
    return StatusQuery(api_key=api_key, secret_key=secret, message_id=message_id, oa_id=oa_id)


def parse_balance(raw: object) -> BalanceQuery:
    """Validate a GetBalance body; 101 when the credentials are missing."""
    body = fields.parse_body(raw)
    api_key, secret = requests.credentials(body)
    return BalanceQuery(api_key=api_key, secret_key=secret)
