"""NXCloud's result codes and their exact texts (seed 000's code table plus the 1001–1005 auth codes)."""

from __future__ import annotations

import enum

from dlrhub.core import errors


class Code(enum.IntEnum):
    """A result code of the NXCloud dialect, in `mt` responses and in DR webhooks."""

    #: The journey-token APIs' generic refusal (Zalo refused, or the token is unknown).
    FAILURE = -1
    #: The request was accepted; in a DR, Zalo accepted the send.
    SUCCESS = 0
    #: A required header (`accessKey`, `ts`, `bizType`, `action`, `sign`) is missing or empty.
    MISSING_HEADERS = 1001
    #: `bizType`, `action` or `algorithm` is not one this API takes.
    BAD_HEADER_PARAMETER = 1002
    #: The `sign` header does not match the request.
    INVALID_SIGNATURE = 1003
    #: `ts` is more than 60 s away from the server's clock, or not a number.
    TIMESTAMP_EXPIRED = 1004
    #: The `accessKey` is unknown.
    NO_PERMISSION = 1005
    #: The account does not exist or is locked.
    CUSTOMER_UNAVAILABLE = 1100
    #: The account's balance cannot pay for the message.
    INSUFFICIENT_BALANCE = 1102
    #: The body is malformed: not JSON, a wrong type, a missing field, a value out of bounds.
    PARAMETER_ERROR = 9000
    #: A business rule failed inside the platform.
    SYSTEM_BUSINESS_ERROR = 9001
    #: The phone number is not a number with its country code.
    PHONE_ERROR = 9002
    #: The app does not exist, belongs to another account, or is disabled.
    APP_UNAVAILABLE = 9003
    #: The app has no quotation (price).
    APP_NO_QUOTATION = 9004
    #: The app has no route to Zalo.
    APP_NO_ROUTE = 9005
    #: Anything else.
    UNKNOWN = 9999
    #: DR: the message reached the user's phone.
    DELIVERED = 17003
    #: DR: Zalo refused the send.
    ZALO_SEND_ERROR = 17004
    #: DR: Zalo did not answer within the engine timeout.
    ZALO_TIMEOUT = 17005
    #: DR: the journey's first message reached the user; billing starts.
    JOURNEY_CHARGED = 17006
    #: DR: the journey token expired unused.
    JOURNEY_TIME_OUT = 17007


#: The exact text of each code. 0 and 1100–17007 are seed 000's; 1001–1005 are NXCloud's published
#: `PNS-API-Error-Code` texts; -1 is the journey-token pages' failure. 17004's DR text adds Zalo's message in
#: parentheses (see `dr`).
TEXTS: dict[Code, str] = {
    Code.FAILURE: "Failure",
    Code.SUCCESS: "Successfully sent.",
    Code.MISSING_HEADERS: "Missing public parameters",
    Code.BAD_HEADER_PARAMETER: "Parameter error",
    Code.INVALID_SIGNATURE: "Invalid signature",
    Code.TIMESTAMP_EXPIRED: "Timestamp expired",
    Code.NO_PERMISSION: "Insufficient permissions",
    Code.CUSTOMER_UNAVAILABLE: "Customer does not exist / Status is unavailable",
    Code.INSUFFICIENT_BALANCE: "Insufficient balance",
    Code.PARAMETER_ERROR: "Request parameter error",
    Code.SYSTEM_BUSINESS_ERROR: "System business error",
    Code.PHONE_ERROR: "Phone number error",
    Code.APP_UNAVAILABLE: "Customer APP does not exist / Status is unavailable",
    Code.APP_NO_QUOTATION: "Customer APP does not have quotation",
    Code.APP_NO_ROUTE: "Missing customer APP routes",
    Code.UNKNOWN: "Unknown error",
    Code.DELIVERED: "Zalo message has delivered",
    Code.ZALO_SEND_ERROR: "Zalo send error",
    Code.ZALO_TIMEOUT: "Zalo engine api timeout",
    Code.JOURNEY_CHARGED: "The journey begins to be charged",
    Code.JOURNEY_TIME_OUT: "Journey expires and has never been used",
}


def text(code: int) -> str:
    """The text of `code`; "Unknown error" for a code outside the table."""
    try:
        return TEXTS[Code(code)]
    except ValueError:
        return TEXTS[Code.UNKNOWN]


def error(code: Code) -> errors.DialectError:
    """A `DialectError` carrying `code` and its exact text, ready to raise."""
    return errors.DialectError(int(code), TEXTS[code])
