"""What an alert writes: one callback in the native Standard Webhooks envelope `{type, timestamp, data}` (pure).

Alerts go through the outbox like any callback, so the dispatcher retries, orders, signs and guards them. Their id
comes from what the alert is about (`key`): the same alert about the same thing is one callback, however often
and by however many processes it is raised (the store's insert leaves a stored id alone).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import orjson

from dlrhub.core import ids, models, urls
from dlrhub.dialects.native import render as native


class Kind(enum.StrEnum):
    """The alerts dlrhub sends: `alert.*` to the operator, `alert.destination.*` to a customer."""

    #: A callback endpoint's breaker opened: its callbacks wait until a probe succeeds.
    ENDPOINT_PAUSED = "alert.endpoint.paused"
    #: A callback endpoint was disabled (410 Gone, or failing too long): its callbacks are cancelled.
    ENDPOINT_DISABLED = "alert.endpoint.disabled"
    #: The oldest due callback has waited longer than `alert_backlog_age_s`.
    BACKLOG_AGE = "alert.backlog.age"
    #: ... and no longer does.
    BACKLOG_AGE_RESOLVED = "alert.backlog.age.resolved"
    #: An OA's refresh token expires within `zalo_refresh_warn_days`.
    OA_TOKEN_EXPIRING = "alert.oa.token_expiring"  # noqa: S105 (an event type, not a secret)
    #: An OA's remaining Zalo quota fell below `alert_quota_low_percent` of its daily quota.
    OA_QUOTA_LOW = "alert.oa.quota_low"
    #: To the customer's `notify_url`: one of its own callback endpoints was disabled (as Outpost names it).
    DESTINATION_DISABLED = "alert.destination.disabled"


#: The event id prefix of alert callbacks (no status event has it).
EVENT_PREFIX = "alert:"


def envelope(kind: Kind, now: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of one alert: the native dialect's envelope."""
    return {"type": kind.value, "timestamp": native.timestamp(now), "data": data}


def callback(
    kind: Kind, key: str, data: dict[str, Any], url: str, account_id: str, now: dt.datetime
) -> models.Callback:
    """The pending callback that posts alert `kind` about `key` to `url`, for `account_id` (whose secrets sign
    it: ids.OPERATOR_ACCOUNT for the operator's `alert_secret`).

    Alerts to one receiver go out in the order they were raised (to the second): they share an order key, and
    `seq` is the time.
    """
    event_id = f"{EVENT_PREFIX}{kind.value}:{key}"
    body = orjson.dumps(envelope(kind, now, data))
    request = models.CallbackRequest(method="POST", url=url, body=body, content_type=native.CONTENT_TYPE)
    return models.Callback(
        id=ids.callback_id(event_id, url),
        event_id=event_id,
        account_id=account_id,
        dialect=models.Dialect.NATIVE,
        order_key=f"alerts:{account_id}",
        seq=int(now.timestamp()),
        request=request,
        state=models.CallbackState.PENDING,
        due_at=now,
        attempts=0,
        created_at=now,
        endpoint=urls.endpoint_key(url),
        health_key=urls.health_key(account_id, url),
    )


def is_alert(cb: models.Callback) -> bool:
    """Whether `cb` carries an alert rather than a status event."""
    return cb.event_id.startswith(EVENT_PREFIX)
