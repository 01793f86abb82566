"""The dispatcher's lines for whoever is on call: a callback given up for good, an endpoint paused or disabled.

Each line names what happened in its message and again as `extra` fields (an `event` name, ids), which the JSON
log format writes as fields and which the log limiter never drops. A line names the endpoint
(`scheme://host:port`), never the callback's URL (its path and query may hold a customer's token), its body,
the answer's body or a signing secret.
"""

from __future__ import annotations

import datetime as dt
import logging

from dlrhub.core import models, retry, urls

log = logging.getLogger("dlrhub.dispatch")

#: Why a callback is given up for good, by the retry decision that gave it up.
REASONS = {
    retry.DecisionKind.GIVE_UP: "retries_exhausted",
    retry.DecisionKind.DISABLE_ENDPOINT: "endpoint_gone",
}


def decided(cb: models.Callback, attempt: models.Attempt, kind: retry.DecisionKind) -> None:
    """Log, at WARNING, `cb` given up for good after `attempt` when `kind` says so (GIVE_UP or
    DISABLE_ENDPOINT); any other decision logs nothing."""
    reason = REASONS.get(kind)
    if reason is None:
        return
    status = "" if attempt.status_code is None else f" {attempt.status_code}"
    log.warning(
        "callback %s given up after %d attempts (%s): account %s, endpoint %s, last outcome %s%s",
        *(cb.id, attempt.number, reason, cb.account_id, cb.endpoint, attempt.outcome.value, status),
        extra={
            "event": "callback.gave_up",
            "callback_id": cb.id,
            "message_id": cb.message_id,
            "account_id": cb.account_id,
            "dialect": cb.dialect.value,
            "endpoint": cb.endpoint,
            "attempts": attempt.number,
            "outcome": attempt.outcome.value,
            "status_code": attempt.status_code,
            "reason": reason,
        },
    )


def endpoint_disabled(health_key: str, outcome: models.AttemptOutcome, account_id: str) -> None:
    """Log, at WARNING, that the circuit breaker disabled `account_id`'s endpoint `health_key` after an attempt
    (named by its `urls.health_label`: never a path)."""
    endpoint = urls.health_label(health_key)
    log.warning(
        "endpoint %s disabled after %s (account %s); its callbacks are cancelled",
        *(endpoint, outcome.value, account_id),
        extra={
            "event": "endpoint.disabled",
            "endpoint": endpoint,
            "outcome": outcome.value,
            "account_id": account_id,
        },
    )


def endpoint_paused(endpoint: models.Endpoint, until: dt.datetime, account_id: str) -> None:
    """Log, at INFO, that the circuit breaker paused `account_id`'s `endpoint` until `until` after an attempt
    (named by its `urls.health_label`: never a path)."""
    label = urls.health_label(endpoint.endpoint)
    log.info(
        "endpoint %s paused until %s after %d failures in a row (account %s)",
        *(label, until.isoformat(), endpoint.consecutive_failures, account_id),
        extra={
            "event": "endpoint.paused",
            "endpoint": label,
            "paused_until": until.isoformat(),
            "failures": endpoint.consecutive_failures,
            "account_id": account_id,
        },
    )
