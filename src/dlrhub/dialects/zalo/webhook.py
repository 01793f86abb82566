"""Zalo webhook events: `X-ZEvent-Signature` checking and parsing into frozen dataclasses (pure).

Hostile input only ever raises `errors.InvalidInput`. The caller parses first (to learn the OA and its
secret), then verifies the signature over the exact bytes received, and stores nothing unless it holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import orjson

from dlrhub.core import chars, clock, errors

SIGNATURE_HEADER = "X-ZEvent-Signature"
SERVER_HEADER = "X-ZEvent-Server"
#: The `X-ZEvent-Server` value that marks a ZNS receipt (PROTOCOLS §3.4).
SERVER_ZNS = "ZNS"

USER_RECEIVED_MESSAGE = "user_received_message"
JOURNEY_ACKNOWLEDGED = "event_journey_acknowledged"
JOURNEY_TIME_OUT = "event_journey_time_out"

#: Larger bodies are refused before parsing.
MAX_BODY_BYTES = 64 * 1024

_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
_RECIPIENT = re.compile(r"\+?[0-9A-Za-z]{1,64}")
_MSG_ID = re.compile(r"[0-9A-Za-z]{1,64}")
_TRACKING_ID = re.compile(r"[\x21-\x7e]{1,128}")
_EVENT_NAME = re.compile(r"[a-z_]{1,64}")
_EPOCH_MS = re.compile(r"[0-9]{1,15}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret: str) -> str:
    """The expected header: `mac=` + sha256(app_id + raw_body + timestamp + OA secret), lowercase hex."""
    digest = hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret.encode()).hexdigest()
    return f"mac={digest}"


def verify(header: str | None, raw_body: bytes, app_id: str, timestamp: str, oa_secret: str) -> bool:
    """Whether `header` signs `raw_body` (`mac=<hex>` or bare hex; constant-time). Never raises."""
    if header is None or len(header) > 128 or not oa_secret:
        return False
    given = header.strip()
    if given.startswith("mac="):
        given = given[4:]
    if not _HEX64.fullmatch(given):
        return False
    expected = signature(app_id, raw_body, timestamp, oa_secret)[4:]
    return hmac.compare_digest(given, expected)


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """A ZNS `user_received_message`: the message reached the user's phone at `delivered_at`."""

    app_id: str
    #: `sender.id`.
    oa_id: str
    #: The body's `timestamp` as received (it is signed as text).
    timestamp: str
    #: `recipient.id`: the phone, or its SHA-256 hex when sent by hash phone.
    recipient: str
    msg_id: str
    tracking_id: str | None
    delivered_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class JourneyAcknowledged:
    """`event_journey_acknowledged`: the journey's first message reached the user; billing starts."""

    app_id: str
    oa_id: str
    timestamp: str
    journey_id: str
    msg_id: str | None
    tracking_id: str | None
    acknowledged_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class JourneyTimedOut:
    """`event_journey_time_out`: the journey token expired unused."""

    app_id: str
    oa_id: str
    timestamp: str
    journey_id: str
    timed_out_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Ignored:
    """An event dlrhub does not act on (another event name, or an OA-chat receipt without the ZNS header)."""

    app_id: str
    #: None when the body names no OA.
    oa_id: str | None
    timestamp: str
    event_name: str


Event = DeliveryReceipt | JourneyAcknowledged | JourneyTimedOut | Ignored


def _field(obj: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise errors.InvalidInput(where, "missing or malformed")
    return value


def _optional(obj: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str) -> str | None:
    if obj.get(key) in (None, ""):
        return None
    return _field(obj, key, pattern, where)


def _object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise errors.InvalidInput(key, "expected an object")
    return value


def _epoch(value: str, where: str) -> dt.datetime:
    try:
        at = dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise errors.InvalidInput(where, "time out of range") from exc
    # A time stored here is written later in the account's zone (NXCloud's `sendTime`): every zone must hold it.
    if clock.writable(at) is None:
        raise errors.InvalidInput(where, "time out of range")
    return at


def _oa_id(body: Mapping[str, Any]) -> str | None:
    """`sender.id` on receipts; top-level `oa_id` on journey events (Inf: payloads not published)."""
    sender = body.get("sender")
    if isinstance(sender, dict) and sender.get("id") is not None:
        return _field(sender, "id", _ID, "sender.id")
    return _optional(body, "oa_id", _ID, "oa_id")


def _journey_fields(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """Journey ids may sit at the top or under `data` (Inf): accept both."""
    data = body.get("data")
    return data if isinstance(data, dict) and "journey_id" in data else body


def parse(raw_body: bytes, server_header: str | None) -> Event:
    """Parse one webhook body. `server_header` is `X-ZEvent-Server`. Raises InvalidInput only."""
    if len(raw_body) > MAX_BODY_BYTES:
        raise errors.InvalidInput("body", f"larger than {MAX_BODY_BYTES} bytes")
    try:
        body = orjson.loads(raw_body)
    except (orjson.JSONDecodeError, ValueError, RecursionError) as exc:
        raise errors.InvalidInput("body", "not JSON") from exc
    if not isinstance(body, dict):
        raise errors.InvalidInput("body", "expected an object")
    # The body is stored as received (`raw`, orphan receipts): it may hold only what both backends store.
    fault = chars.json_fault(body)
    if fault is not None:
        raise errors.InvalidInput(*fault)
    event_name = _field(body, "event_name", _EVENT_NAME, "event_name")
    app_id = _field(body, "app_id", _ID, "app_id")
    timestamp = _field(body, "timestamp", _EPOCH_MS, "timestamp")
    sent_at = _epoch(timestamp, "timestamp")
    oa_id = _oa_id(body)
    is_zns = server_header is not None and server_header.strip().upper() == SERVER_ZNS
    if event_name == USER_RECEIVED_MESSAGE and is_zns:
        if oa_id is None:
            raise errors.InvalidInput("sender.id", "missing")
        message = _object(body, "message")
        recipient = _field(_object(body, "recipient"), "id", _RECIPIENT, "recipient.id")
        delivery = _optional(message, "delivery_time", _EPOCH_MS, "message.delivery_time")
        return DeliveryReceipt(
            app_id=app_id,
            oa_id=oa_id,
            timestamp=timestamp,
            recipient=recipient,
            msg_id=_field(message, "msg_id", _MSG_ID, "message.msg_id"),
            tracking_id=_optional(message, "tracking_id", _TRACKING_ID, "message.tracking_id"),
            delivered_at=sent_at if delivery is None else _epoch(delivery, "message.delivery_time"),
        )
    if event_name in (JOURNEY_ACKNOWLEDGED, JOURNEY_TIME_OUT):
        if oa_id is None:
            raise errors.InvalidInput("oa_id", "missing")
        fields = _journey_fields(body)
        journey_id = _field(fields, "journey_id", _ID, "journey_id")
        if event_name == JOURNEY_TIME_OUT:
            return JourneyTimedOut(app_id, oa_id, timestamp, journey_id, sent_at)
        return JourneyAcknowledged(
            app_id=app_id,
            oa_id=oa_id,
            timestamp=timestamp,
            journey_id=journey_id,
            msg_id=_optional(fields, "msg_id", _MSG_ID, "msg_id"),
            tracking_id=_optional(fields, "tracking_id", _TRACKING_ID, "tracking_id"),
            acknowledged_at=sent_at,
        )
    return Ignored(app_id, oa_id, timestamp, event_name)


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact JSON bytes of an event body (for the simulator and tests)."""
    return orjson.dumps(body)
