"""Zalo's error codes and messages, and the dlrhub codes and texts of send outcomes (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from dlrhub.core import models

#: dlrhub codes for send outcomes (NXCloud's table, seed 000).
CODE_SENT = 0
CODE_DELIVERED = 17003
CODE_SEND_ERROR = 17004
CODE_TIMEOUT = 17005
CODE_JOURNEY_ACKNOWLEDGED = 17006
CODE_JOURNEY_TIME_OUT = 17007

TEXT_SENT = "Successfully sent."
TEXT_DELIVERED = "Zalo message has delivered"
TEXT_TIMEOUT = "Zalo engine api timeout"
TEXT_JOURNEY_ACKNOWLEDGED = "The journey begins to be charged"
TEXT_JOURNEY_TIME_OUT = "Journey expires and has never been used"

ERROR_TOKEN_INVALID = -124

#: Zalo error codes and their messages (PROTOCOLS §3.7). -114, -118 and -124 are verbatim from the seeds;
#: the others are worded after the Doc/Sec meanings.
ERROR_MESSAGES: Mapping[int, str] = {
    0: "Success",
    -100: "Unknown error",
    -101: "Application is invalid",
    -102: "Application is not existed",
    -103: "Application has not been activated",
    -104: "Application secret key is invalid",
    -105: "Application is not linked with an OA",
    -106: "Method is not supported",
    -107: "Message id is invalid",
    -108: "Phone number is invalid",
    -109: "Template id is invalid",
    -110: "Zalo version is not supported to receive this message",
    -111: "Template data is empty",
    -112: "Template data is invalid",
    -113: "Button is invalid",
    -114: (
        "User is inactive, or reject the message, or using an outdated Zalo version, or other internal errors"
    ),
    -115: "Out of quota",
    -116: "Content is invalid",
    -117: "OA or application has no permission to use this template",
    -118: "Zalo account not existed",
    -119: "Account cannot receive this message",
    -120: "OA has no permission to use this feature",
    -121: "Body data is empty",
    -122: "Body format is not valid JSON",
    -123: "Unable to decrypt the data",
    -124: "Access token is invalid",
    -125: "OA id is invalid",
    -126: "Quota of development mode is exceeded",
    -127: "Test template can only be sent to OA admins",
    -130: "Content exceeds the length limit",
    -131: "Template has not been approved",
    -132: "Parameter is invalid",
    -133: "Sending is not allowed between 22:00 and 06:00",
    -135: "OA is not allowed to send ZNS",
    -136: "ZCA must be connected",
    -137: "ZCA charge failed",
    -138: "Application has no permission to send ZNS",
    -139: "User refused to receive this type of message",
    -140: "OA is not eligible to send this message to the user",
    -141: "User refused to receive messages from this OA",
    -144: "OA has exceeded its daily limit",
    -145: "OA is not allowed to send this message type",
    -146: "Template is disabled for low quality",
    -147: "Template has exceeded its daily limit",
    -148: "Journey token not found",
    -149: "Journey token is invalid",
    -150: "Journey token has expired",
    -161: "Sending mode is not allowed",
    -162: "Sending mode 3 is not allowed for templates of tag 1 or 2",
}

#: `zaloRes` of a 17005 (DECISIONS › NXCloud › `zaloRes` on 17005): Zalo never answered.
TIMEOUT_ZALO_RES: models.JSON = {
    "sysMsg": TEXT_TIMEOUT,
    "cusMsg": TEXT_TIMEOUT,
    "error": None,
    "message": None,
    "data": None,
}


def error_message(code: int) -> str:
    """Zalo's message for `code`, or a generic one for a code not in the table."""
    return ERROR_MESSAGES.get(code, f"Zalo error {code}")


def send_error_text(zalo_message: str) -> str:
    """The dlrhub text of a 17004, as in NXCloud's `failed` example: `Zalo send error(<Zalo message>)`."""
    return f"Zalo send error({zalo_message})"
