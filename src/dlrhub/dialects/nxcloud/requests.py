"""Validation of NXCloud request bodies (`mt`, `initJourneyToken`, `checkJourneyToken`) from their raw bytes.

Every refusal is an `errors.DialectError`: 9000 (request parameter error) for a malformed body or text dlrhub
does not store (`core.chars`: a control character in an id, NUL or another C0 control in `ext` or
`templateData`), 9002 for a bad phone number. The field at fault travels as the error's `__cause__` (an `errors.InvalidInput`), for logs.

Phone rule (9002): the number is written with its country code, digits only, optionally after one `+`; it
does not start with 0 and has 8 to 15 digits (E.164). A Vietnamese number (`84…`) has 9 or 10 digits after the
84. `0901888484` (no country code) and `84 90 188 8484` are refused. The `+` is dropped: `+84…` is stored as
`84…`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from dlrhub.core import chars, errors, models
from dlrhub.dialects.nxcloud import codes

#: The largest body accepted. `ext` alone may take 65,535 UTF-8 bytes, which JSON escaping can grow sixfold.
MAX_BODY_BYTES = 512 * 1024
#: Limits from NXCloud's `mt` page.
MAX_EXT_BYTES = 65_535
MAX_DR_WEBHOOK_CHARS = 256
#: Limits dlrhub sets where NXCloud is silent.
MAX_APPKEY_CHARS = 128
MAX_TEMPLATE_ID_CHARS = 64
MAX_TEMPLATE_KEYS = 100
MAX_JOURNEY_TOKEN_CHARS = 4096
#: The token types `initJourneyToken` takes.
TOKEN_TYPES = frozenset(
    {"token_logistics_7", "token_logistics_30", "token_coach_bus_7", "token_coach_bus_30"},
)


@dataclasses.dataclass(frozen=True, slots=True)
class MtRequest:
    """A valid `POST /v1/zalo/mt` body."""

    appkey: str
    #: Digits only, with the country code (`84…`).
    phone: str
    template_id: str
    template_data: models.JSON
    journey_token: str | None = None
    dr_webhook: str | None = None
    ext: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class InitJourneyTokenRequest:
    """A valid `POST /v1/zalo/initJourneyToken` body."""

    appkey: str
    phone: str
    token_type: str


@dataclasses.dataclass(frozen=True, slots=True)
class CheckJourneyTokenRequest:
    """A valid `POST /v1/zalo/checkJourneyToken` body."""

    appkey: str
    journey_token: str


def _refuse(field: str, problem: str, code: codes.Code = codes.Code.PARAMETER_ERROR) -> errors.DialectError:
    err = codes.error(code)
    err.__cause__ = errors.InvalidInput(field, problem)
    return err


def _load(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise _refuse("body", f"larger than {MAX_BODY_BYTES} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _refuse("body", "not JSON") from None
    if not isinstance(body, dict):
        raise _refuse("body", "not a JSON object")
    return body


def _string(obj: dict[str, Any], field: str, max_chars: int, *, path: str = "") -> str:
    value = obj.get(field)
    name = path + field
    if value is None:
        raise _refuse(name, "missing")
    if not isinstance(value, str):
        raise _refuse(name, "not a string")
    if not value.strip():
        raise _refuse(name, "empty")
    if len(value) > max_chars:
        raise _refuse(name, f"longer than {max_chars} characters")
    _storable(value, name)
    return value


def _optional_string(
    obj: dict[str, Any], field: str, *, path: str = "", free_text: bool = False
) -> str | None:
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _refuse(path + field, "not a string")
    _storable(value, path + field, free_text=free_text)
    return value


def _storable(value: str, name: str, *, free_text: bool = False) -> None:
    """9000 unless `value` holds only characters dlrhub stores (`core.chars`)."""
    problem = chars.text_fault(value) if free_text else chars.id_fault(value)
    if problem is not None:
        raise _refuse(name, problem)


def phone(value: object) -> str:
    """The phone number in `value`, normalised to digits with the country code (see the module's rule).

    Raises `errors.DialectError` 9000 when it is missing or not a string, 9002 when it breaks the rule.
    """
    if value is None:
        raise _refuse("phone", "missing")
    if not isinstance(value, str):
        raise _refuse("phone", "not a string")
    digits = value[1:] if value.startswith("+") else value
    ok = (
        8 <= len(digits) <= 15
        and digits.isascii()
        and digits.isdigit()
        and digits[0] != "0"
        and (not digits.startswith("84") or 11 <= len(digits) <= 12)
    )
    if not ok:
        raise _refuse("phone", "not digits with a country code", codes.Code.PHONE_ERROR)
    return digits


def _dr_webhook(body: dict[str, Any]) -> str | None:
    url = _optional_string(body, "drWebhook")
    if not url:
        return None
    if len(url) > MAX_DR_WEBHOOK_CHARS:
        raise _refuse("drWebhook", f"longer than {MAX_DR_WEBHOOK_CHARS} characters")
    if not url.lower().startswith(("http://", "https://")):
        raise _refuse("drWebhook", "not an http or https URL")
    return url


def _ext(body: dict[str, Any]) -> str | None:
    ext = _optional_string(body, "ext", free_text=True)
    if ext is None:
        return None
    if len(ext.encode("utf-8")) > MAX_EXT_BYTES:
        raise _refuse("ext", f"longer than {MAX_EXT_BYTES} bytes")
    return ext


def parse_mt(raw: bytes) -> MtRequest:
    """Validate an `mt` body. Raises `errors.DialectError` (9000, 9002) and nothing else."""
    body = _load(raw)
    appkey = _string(body, "appkey", MAX_APPKEY_CHARS)
    number = phone(body.get("phone"))
    if body.get("functionType") != "template":
        raise _refuse("functionType", "must be 'template'")
    data = body.get("messageData")
    if not isinstance(data, dict):
        raise _refuse("messageData", "missing or not an object")
    template_id = _string(data, "templateId", MAX_TEMPLATE_ID_CHARS, path="messageData.")
    template_data = data.get("templateData")
    if not isinstance(template_data, dict):
        raise _refuse("messageData.templateData", "missing or not an object")
    if len(template_data) > MAX_TEMPLATE_KEYS:
        raise _refuse("messageData.templateData", f"more than {MAX_TEMPLATE_KEYS} keys")
    fault = chars.json_fault(template_data, "messageData.templateData")
    if fault is not None:
        raise _refuse(*fault)
    journey_token = _optional_string(data, "journeyToken", path="messageData.")
    if journey_token is not None and not 0 < len(journey_token) <= MAX_JOURNEY_TOKEN_CHARS:
        raise _refuse("messageData.journeyToken", "empty or too long")
    return MtRequest(
        appkey=appkey,
        phone=number,
        template_id=template_id,
        template_data=template_data,
        journey_token=journey_token,
        dr_webhook=_dr_webhook(body),
        ext=_ext(body),
    )


def parse_init_journey_token(raw: bytes) -> InitJourneyTokenRequest:
    """Validate an `initJourneyToken` body. Raises `errors.DialectError` (9000, 9002) and nothing else."""
    body = _load(raw)
    appkey = _string(body, "appkey", MAX_APPKEY_CHARS)
    number = phone(body.get("phone"))
    token_type = body.get("tokenType")
    if not isinstance(token_type, str) or token_type not in TOKEN_TYPES:
        raise _refuse("tokenType", f"not one of {sorted(TOKEN_TYPES)}")
    return InitJourneyTokenRequest(appkey=appkey, phone=number, token_type=token_type)


def parse_check_journey_token(raw: bytes) -> CheckJourneyTokenRequest:
    """Validate a `checkJourneyToken` body. Raises `errors.DialectError` (9000) and nothing else."""
    body = _load(raw)
    appkey = _string(body, "appkey", MAX_APPKEY_CHARS)
    token = _string(body, "journeyToken", MAX_JOURNEY_TOKEN_CHARS)
    return CheckJourneyTokenRequest(appkey=appkey, journey_token=token)
