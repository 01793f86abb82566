"""Identifiers: message ids in each dialect's shape, callback ids, and account credentials."""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import uuid

from dlrhub.core import models

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def message_id(dialect: models.Dialect, created_at: dt.datetime) -> str:
    """A new public message id: an eSMS `SMSID` (32 hex + a short numeric suffix), an NXCloud
    `zalomid.<32 hex>`, or a native `msg_<32 hex>`.

    The 32 hex are time-ordered, as in a UUIDv7: `created_at` in milliseconds, then 80 random bits. New
    ids then land at the end of every index keyed by message id, so a commit writes a few pages instead of one
    per index per message (docs/adr/0003-time-ordered-message-ids.md).
    """
    ms = (created_at - _EPOCH) // _MS
    hex32 = f"{ms & 0xFFFF_FFFF_FFFF:012x}{os.urandom(10).hex()}"
    if dialect is models.Dialect.ESMS:
        return f"{hex32}{secrets.randbelow(900) + 100}"
    if dialect is models.Dialect.NXCLOUD:
        return f"zalomid.{hex32}"
    return f"msg_{hex32}"


def callback_id(event_id: str, url: str) -> str:
    """The stable id of the callback rendering `event_id` for `url`: the same inputs give the same id."""
    return "cb_" + uuid.uuid5(uuid.NAMESPACE_URL, f"{event_id}\n{url}").hex


def account_id() -> str:
    """A new account id."""
    return "acc_" + uuid.uuid4().hex[:16]


def token(nbytes: int = 16) -> str:
    """A random credential (hex)."""
    return secrets.token_hex(nbytes)


def signing_secret() -> str:
    """A new Standard Webhooks secret (`whsec_` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
