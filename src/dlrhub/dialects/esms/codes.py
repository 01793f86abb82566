"""The eSMS result-code table (PROTOCOLS §1.7) as data, with the `ErrorMessage` text of each code."""

from __future__ import annotations

import enum

from dlrhub.core import errors


class Code(enum.IntEnum):
    """An eSMS result code. `100` only means accepted, never delivered."""

    #: The phone number is blocked on the platform.
    PHONE_BLOCKED = 99
    #: The request was accepted.
    ACCEPTED = 100
    #: Wrong ApiKey or SecretKey.
    AUTHORIZE_FAILED = 101
    #: The account has no price for this message type.
    NO_PRICE_LIST = 102
    #: The balance does not cover the message.
    INSUFFICIENT_BALANCE = 103
    #: The brandname (or call script) does not exist (SMS and voice only).
    BRANDNAME_UNKNOWN = 104
    #: The message id is unknown or too new; retry later (status APIs).
    MESSAGE_NOT_FOUND = 105
    #: The recording does not exist (voice only).
    RECORDING_MISSING = 106
    #: Fewer than 30 distinct numbers (advertising SMS only).
    TOO_FEW_NUMBERS = 107
    #: The phone number is not in a valid format.
    BAD_PHONE = 108
    #: The request data is malformed.
    BAD_REQUEST_DATA = 110
    #: The hash phone is not a SHA-256 hex digest.
    BAD_HASH_PHONE = 115
    #: The message type is not supported.
    TYPE_UNSUPPORTED = 118
    #: Too many phone numbers in one request (advertising SMS only).
    TOO_MANY_NUMBERS = 120
    #: The RequestId was already used within 24 hours.
    DUPLICATE_REQUEST = 124
    #: The caller's IP address is not whitelisted.
    IP_NOT_WHITELISTED = 140
    #: The account is inactive or locked.
    ACCOUNT_LOCKED = 143
    #: Wrong customer-care SMS template (SMS only).
    WRONG_CARE_TEMPLATE = 146
    #: Too many requests per second.
    TPS_EXCEEDED = 160
    #: One phone number per request (SMS only).
    ONE_NUMBER_ONLY = 163
    #: The check code was used, expired or does not apply (SMS only).
    CHECK_CODE_INVALID = 171
    #: The telco is not registered (SMS only).
    TELCO_NOT_REGISTERED = 177
    #: The same request is already being processed (registration APIs).
    REQUEST_IN_PROGRESS = 199
    #: A blocked keyword in the content (SMS only).
    BLOCKED_KEYWORD = 201
    #: The OAID does not exist on the platform.
    OA_UNKNOWN = 204
    #: The payload is not as specified (OA consulting and transaction messages).
    BAD_PAYLOAD = 210
    #: The message type is missing.
    TYPE_MISSING = 300
    #: The service type is not supported (registration APIs).
    SERVICE_UNSUPPORTED = 301
    #: More than 500 numbers in one personalised Zalo batch.
    OVER_500_NUMBERS = 687
    #: The template is not configured for this OAID.
    TEMPLATE_NOT_CONFIGURED = 789
    #: The ZNS template is wrong.
    WRONG_TEMPLATE = 790
    #: The OA id or the template id is missing.
    MISSING_OA_OR_TEMPLATE = 791
    #: The OAID is inactive, wrong, or not added to the account.
    OA_INVALID = 799
    #: SendingMode 3 (over quota) cannot be scheduled.
    MODE3_SCHEDULED = 801
    #: The OA may not send with SendingMode 3.
    MODE3_NOT_ALLOWED = 802
    #: The MessageId or SMSID is missing (Zalo status APIs).
    MISSING_MESSAGE_ID = 851
    #: The Zalo UID is invalid.
    ZALO_UID_INVALID = 852
    #: The Zalo UID is missing.
    MISSING_ZALO_UID = 853
    #: No data for this message (Zalo status APIs).
    NO_DATA = 854
    #: dlrhub's own: its database does not answer; try again later (HTTP 503 with `Retry-After`). eSMS's table
    #: has no system-error code (99 is a blocked number), so dlrhub adds one, as the NXCloud table's 9001.
    SYSTEM_ERROR = 500


#: The `ErrorMessage` of each code. Texts documented by eSMS are verbatim (101, 124, 789, 852, 853, and 160
#: from DECISIONS.md); the rest are plain English written for dlrhub (eSMS documents only Vietnamese).
TEXT: dict[Code, str] = {
    Code.PHONE_BLOCKED: "Phone number is blocked",
    Code.ACCEPTED: "Success",
    Code.AUTHORIZE_FAILED: "Authorize Failed",
    Code.NO_PRICE_LIST: "No price list for this message type",
    Code.INSUFFICIENT_BALANCE: "Insufficient balance",
    Code.BRANDNAME_UNKNOWN: "Brandname does not exist",
    Code.MESSAGE_NOT_FOUND: "Message not found, check the SMSID or try again later",
    Code.RECORDING_MISSING: "Recording does not exist",
    Code.TOO_FEW_NUMBERS: "At least 30 distinct phone numbers are required",
    Code.BAD_PHONE: "Phone number is invalid",
    Code.BAD_REQUEST_DATA: "Invalid request",
    Code.BAD_HASH_PHONE: "Hash phone is invalid",
    Code.TYPE_UNSUPPORTED: "Message type is not supported",
    Code.TOO_MANY_NUMBERS: "Too many phone numbers",
    Code.DUPLICATE_REQUEST: "Request exist 1",
    Code.IP_NOT_WHITELISTED: "IP is not whitelisted",
    Code.ACCOUNT_LOCKED: "Account is inactive or locked",
    Code.WRONG_CARE_TEMPLATE: "Wrong customer care template",
    Code.TPS_EXCEEDED: "TPS exceeded",
    Code.ONE_NUMBER_ONLY: "Only one phone number per request",
    Code.CHECK_CODE_INVALID: "Code is used, expired or not valid for this phone number",
    Code.TELCO_NOT_REGISTERED: "Telco is not registered",
    Code.REQUEST_IN_PROGRESS: "Request already exists and is being processed",
    Code.BLOCKED_KEYWORD: "Content contains a blocked keyword",
    Code.OA_UNKNOWN: "OAID does not exist",
    Code.BAD_PAYLOAD: "Payload is not as specified",
    Code.TYPE_MISSING: "Message type is missing",
    Code.SERVICE_UNSUPPORTED: "Service type is not supported",
    Code.OVER_500_NUMBERS: "More than 500 phone numbers",
    Code.TEMPLATE_NOT_CONFIGURED: "TemplateId is not config",
    Code.WRONG_TEMPLATE: "Wrong ZNS template",
    Code.MISSING_OA_OR_TEMPLATE: "Missing OAID or TempID",
    Code.OA_INVALID: "OAID is inactive, wrong or not added to the account",
    Code.MODE3_SCHEDULED: "SendingMode 3 cannot be scheduled",
    Code.MODE3_NOT_ALLOWED: "OA is not allowed SendingMode 3",
    Code.MISSING_MESSAGE_ID: "Missing MessageId or SMSID",
    Code.ZALO_UID_INVALID: "Zalo UID Invalid",
    Code.MISSING_ZALO_UID: "Missing ZaloUid",
    Code.NO_DATA: "No data",
    Code.SYSTEM_ERROR: "System error, try again later",
}


#: dlrhub's channel worker refuses a message it cannot send with the NXCloud table's codes (seed 000); an eSMS
#: message shows the nearest eSMS code instead.
FROM_ENGINE: dict[int, Code] = {
    1100: Code.ACCOUNT_LOCKED,
    1102: Code.INSUFFICIENT_BALANCE,
    9000: Code.BAD_REQUEST_DATA,
    9002: Code.BAD_PHONE,
    9003: Code.OA_INVALID,
    9004: Code.NO_PRICE_LIST,
    9005: Code.OA_INVALID,
}


def text(code: int) -> str:
    """The `ErrorMessage` of `code`; a generic text for a code outside the table."""
    try:
        return TEXT[Code(code)]
    except ValueError:
        return f"Error {code}"


def error(code: Code, detail: str | None = None) -> errors.DialectError:
    """A DialectError carrying `code` and its table text, or `detail` (a more precise text) where it helps."""
    return errors.DialectError(int(code), detail if detail is not None else TEXT[code])
