"""Identifiers: message ids in the shapes dialects use, callback ids, and account credentials."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
import secrets
import uuid

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


@dataclasses.dataclass(frozen=True, slots=True)
class IdShape:
    """How a public message id looks around its 32 time-ordered hex digits."""

    #: Written before the hex digits.
    prefix: str = ""
    #: Random decimal digits written after them (the first is never 0).
    suffix_digits: int = 0


#: An eSMS `SMSID`: 32 hex and a 3-digit numeric suffix.
SMSID = IdShape(suffix_digits=3)
#: An NXCloud `requestId`: `zalomid.<32 hex>`.
ZALOMID = IdShape(prefix="zalomid.")
#: A native id: `msg_<32 hex>`.
NATIVE = IdShape(prefix="msg_")


def message_id(shape: IdShape, created_at: dt.datetime) -> str:
    """A new public message id in `shape` (the dialect registry names each dialect's).

    The 32 hex are time-ordered, as in a UUIDv7: `created_at` in milliseconds, then 80 random bits. New
    ids then land at the end of every index keyed by message id, so a commit writes a few pages instead of one
    per index per message (docs/adr/0003-time-ordered-message-ids.md).
    """
    ms = (created_at - _EPOCH) // _MS
    hex32 = f"{ms & 0xFFFF_FFFF_FFFF:012x}{os.urandom(10).hex()}"
    suffix = ""
    if shape.suffix_digits:
        low = 10 ** (shape.suffix_digits - 1)
        suffix = str(secrets.randbelow(9 * low) + low)
    return f"{shape.prefix}{hex32}{suffix}"


def callback_id(event_id: str, url: str) -> str:
    """The stable id of the callback rendering `event_id` for `url`: the same inputs give the same id."""
    return "cb_" + uuid.uuid5(uuid.NAMESPACE_URL, f"{event_id}\n{url}").hex


def account_id() -> str:
    """A new account id."""
    return "acc_" + uuid.uuid4().hex[:16]


#: The id prefix of the demo account `dlrhub serve` makes on a new store: `account_id` cannot make it ("m" and
#: "o" are no hex digits), so it marks that account for good, whatever it is renamed to.
DEMO_ACCOUNT_PREFIX = "acc_demo"


#: The account id of the operator's alerts in the outbox (`services/alerts.py`): no stored account has it, since
#: `account_id` cannot make it ("o", "p" and "r" are no hex digits), and the dispatcher signs its callbacks with
#: the `alert_secret` setting instead of an account's secrets.
OPERATOR_ACCOUNT = "acc_operator"


def demo_account_id() -> str:
    """A new id for the demo account (see DEMO_ACCOUNT_PREFIX)."""
    return DEMO_ACCOUNT_PREFIX + uuid.uuid4().hex[:12]


def token(nbytes: int = 16) -> str:
    """A random credential (hex)."""
    return secrets.token_hex(nbytes)


def signing_secret() -> str:
    """A new Standard Webhooks secret (`whsec_` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def audit_id(at: dt.datetime) -> str:
    """A new audit entry id: `aud_`, then `at` in microseconds (16 hex) and 32 random bits, so ids sort by time."""
    us = (at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"aud_{us:016x}{os.urandom(4).hex()}"
