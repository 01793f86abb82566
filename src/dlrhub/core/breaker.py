"""The circuit breaker per callback destination: healthy, paused after repeated failures, then disabled."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from dlrhub.core import errors, models


@dataclasses.dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When a destination is paused and when it is disabled."""

    #: Consecutive failures that open the breaker (pause the destination).
    failures: int = 20
    #: First pause; each failed probe doubles it, up to `max_pause`.
    pause: dt.timedelta = dt.timedelta(seconds=30)
    max_pause: dt.timedelta = dt.timedelta(minutes=10)
    #: A destination failing without a success for this long is disabled.
    disable_after: dt.timedelta = dt.timedelta(days=1)

    def __post_init__(self) -> None:
        if self.failures < 1:
            raise errors.ConfigError("breaker failures must be at least 1")
        if self.pause <= dt.timedelta(0) or self.max_pause < self.pause:
            raise errors.ConfigError("breaker pause must be positive and at most max_pause")
        if self.disable_after <= dt.timedelta(0):
            raise errors.ConfigError("endpoint disable_after must be positive")


class Admission(enum.StrEnum):
    """Whether a destination may be sent to now."""

    #: Healthy: send as much as the concurrency cap allows.
    OPEN = "open"
    #: The pause is over: send one probe; its result closes or reopens the breaker.
    PROBE = "probe"
    #: Paused: leave its callbacks due until `paused_until`.
    WAIT = "wait"
    #: Disabled: cancel its callbacks.
    REFUSE = "refuse"


def fresh(endpoint: str, now: dt.datetime) -> models.Endpoint:
    """A destination never seen before: healthy."""
    return models.Endpoint(
        endpoint=endpoint,
        state=models.EndpointState.HEALTHY,
        consecutive_failures=0,
        failing_since=None,
        paused_until=None,
        updated_at=now,
    )


def admission(endpoint: models.Endpoint, now: dt.datetime) -> Admission:
    """Whether `endpoint` may be sent to at `now`."""
    if endpoint.state is models.EndpointState.DISABLED:
        return Admission.REFUSE
    if endpoint.state is models.EndpointState.PAUSED:
        if endpoint.paused_until is not None and now < endpoint.paused_until:
            return Admission.WAIT
        return Admission.PROBE
    return Admission.OPEN


def record(
    endpoint: models.Endpoint,
    outcome: models.AttemptOutcome,
    status: int | None,
    now: dt.datetime,
    config: BreakerConfig,
    *,
    gone_disables: bool = True,
) -> models.Endpoint:
    """The destination's health after one attempt to it.

    A 2xx heals it, unless it is paused and the pause is still running (an attempt sent before the pause
    began: the probe at the pause's end decides, so this process never ends a pause the store keeps). 410
    disables it when `gone_disables` (the dialect's retry policy says so). Any other
    answer, a timeout or a connection failure is a failure; an attempt the URL guard refused never reached
    it and changes nothing. A destination stays disabled until an operator resets it.
    """
    if endpoint.state is models.EndpointState.DISABLED:
        return endpoint
    if outcome is models.AttemptOutcome.BLOCKED_URL:
        return endpoint
    if outcome is models.AttemptOutcome.OK:
        if endpoint.state is models.EndpointState.HEALTHY and endpoint.consecutive_failures == 0:
            return endpoint
        if running(endpoint, now):
            # Sent before the pause began: the pause stands, as the store keeps it against any write but a
            # disable (`store.Endpoints.put_endpoints`); the probe at its end heals the destination.
            return endpoint
        return fresh(endpoint.endpoint, now)
    if outcome is models.AttemptOutcome.HTTP_STATUS and status == 410 and gone_disables:
        return disable(endpoint, now)
    failures = endpoint.consecutive_failures + 1
    since = endpoint.failing_since or now
    if now - since >= config.disable_after:
        return models.Endpoint(
            endpoint=endpoint.endpoint,
            state=models.EndpointState.DISABLED,
            consecutive_failures=failures,
            failing_since=since,
            paused_until=None,
            updated_at=now,
        )
    if endpoint.state is models.EndpointState.PAUSED and endpoint.paused_until is not None:
        if running(endpoint, now):
            # An attempt already in flight when the breaker opened: count it, keep the pause as it is.
            return dataclasses.replace(endpoint, consecutive_failures=failures)
        # The probe failed: pause again, twice as long as last time (`updated_at` marks the pause's start).
        last = max(endpoint.paused_until - endpoint.updated_at, config.pause)
        return dataclasses.replace(
            endpoint,
            consecutive_failures=failures,
            paused_until=now + min(last * 2, config.max_pause),
            updated_at=now,
        )
    if failures >= config.failures:
        return models.Endpoint(
            endpoint=endpoint.endpoint,
            state=models.EndpointState.PAUSED,
            consecutive_failures=failures,
            failing_since=since,
            paused_until=now + config.pause,
            updated_at=now,
        )
    return dataclasses.replace(endpoint, consecutive_failures=failures, failing_since=since, updated_at=now)


def running(endpoint: models.Endpoint, now: dt.datetime) -> bool:
    """Whether `endpoint` is paused at `now` (its pause not over yet)."""
    return (
        endpoint.state is models.EndpointState.PAUSED
        and endpoint.paused_until is not None
        and now < endpoint.paused_until
    )


def disable(endpoint: models.Endpoint, now: dt.datetime) -> models.Endpoint:
    """The destination, disabled (410 Gone, or failing too long)."""
    return dataclasses.replace(
        endpoint, state=models.EndpointState.DISABLED, paused_until=None, updated_at=now
    )


def reset(endpoint: models.Endpoint, now: dt.datetime) -> models.Endpoint:
    """An operator re-enables the destination: healthy, failure count cleared."""
    return fresh(endpoint.endpoint, now)
