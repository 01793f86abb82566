"""Retry policies and timing: whether a callback is retried (and when), succeeds, gives up, or disables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import enum
import re
from collections.abc import Callable, Sequence

from dlrhub.core import errors, models

#: The longest delay a schedule may hold, and the longest `Retry-After` parsed.
MAX_DELAY = dt.timedelta(days=2)
#: The most retries a schedule may hold.
MAX_RETRIES = 32


class DecisionKind(enum.StrEnum):
    """What to do with a callback after one attempt."""

    #: A 2xx answer: the callback is done.
    SUCCEEDED = "succeeded"
    #: Try again at `due_at`.
    RETRY = "retry"
    #: Final failure: the status is not retried, or the schedule is spent.
    GIVE_UP = "give_up"
    #: The endpoint answered 410 Gone: disable it and cancel its callbacks.
    DISABLE_ENDPOINT = "disable_endpoint"


#: The state a callback is left in by each decision.
STATE_AFTER = {
    DecisionKind.SUCCEEDED: models.CallbackState.SUCCEEDED,
    DecisionKind.RETRY: models.CallbackState.PENDING,
    DecisionKind.GIVE_UP: models.CallbackState.FAILED,
    DecisionKind.DISABLE_ENDPOINT: models.CallbackState.FAILED,
}


@dataclasses.dataclass(frozen=True, slots=True)
class RetryDecision:
    """The verdict on one attempt; `due_at` is set only for RETRY."""

    kind: DecisionKind
    due_at: dt.datetime | None = None
    #: A short word for logs and the API: why this verdict.
    reason: str = ""


#: The verdict on every 2xx (one object: it is frozen, and the dispatcher judges thousands a second).
SUCCEEDED = RetryDecision(DecisionKind.SUCCEEDED, reason="ok")


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one dialect retries: the first attempt is immediate, then `delays[n-1]` after failed attempt n."""

    name: str
    #: Delay before each retry; its length is the number of retries.
    delays: tuple[dt.timedelta, ...]
    #: Each delay is multiplied by a factor drawn from [1 - jitter, 1 + jitter].
    jitter: float = 0.2
    #: True: any non-2xx answer is retried. False: only 5xx and 429 are; other statuses are final.
    retry_any_status: bool = True
    #: Whether 410 Gone disables the endpoint.
    disable_on_gone: bool = True
    #: The least delay after a timeout or a 429.
    throttle_floor: dt.timedelta = dt.timedelta(0)
    #: `Retry-After` is clamped to [low, high] × the scheduled (jittered) delay.
    retry_after_clamp: tuple[float, float] = (1.0, 2.0)

    def __post_init__(self) -> None:
        if len(self.delays) > MAX_RETRIES:
            raise errors.ConfigError(f"retry schedule {self.name}: more than {MAX_RETRIES} retries")
        if any(d < dt.timedelta(0) or d > MAX_DELAY for d in self.delays):
            raise errors.ConfigError(f"retry schedule {self.name}: each delay must be within 0..{MAX_DELAY}")
        if not 0.0 <= self.jitter < 1.0:
            raise errors.ConfigError(f"retry schedule {self.name}: jitter must be within [0, 1)")
        low, high = self.retry_after_clamp
        if not 0.0 < low <= high:
            raise errors.ConfigError(f"retry schedule {self.name}: Retry-After clamp must be 0 < low <= high")

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first one plus every retry."""
        return len(self.delays) + 1


def _s(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


#: eSMS: "5 retries if the customer's URL times out" (DECISIONS.md › eSMS › Retries).
ESMS = RetryPolicy(
    name="esms",
    delays=(_s(10), _s(30), _s(120), _s(600), _s(1800)),
    retry_any_status=False,
    disable_on_gone=False,
)

#: The Standard Webhooks schedule (DECISIONS.md › NXCloud › Retries).
STANDARD_WEBHOOKS = RetryPolicy(
    name="standard-webhooks",
    delays=(_s(5), _s(300), _s(1800), _s(7200), _s(18000), _s(36000), _s(36000)),
    retry_any_status=True,
    disable_on_gone=True,
    throttle_floor=_s(60),
)


def scheduled(policy: RetryPolicy, seconds: Sequence[float]) -> RetryPolicy:
    """`policy` with its delays read from a schedule in seconds (a `*_retry_schedule` setting).

    A schedule lists the delay before each retry. A leading 0 stands for the immediate first attempt, as the
    Standard Webhooks table writes it, and is dropped. Raises errors.ConfigError on a bad schedule.
    """
    items = list(seconds)
    if items and items[0] == 0:
        items = items[1:]
    return dataclasses.replace(policy, delays=tuple(_s(s) for s in items))


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DELAY = re.compile(r"^\s*(\d{1,9}(?:\.\d{1,3})?)\s*(ms|s|m|h|d)?\s*$")


def parse_schedule(text: str) -> tuple[dt.timedelta, ...]:
    """Parse a comma-separated schedule such as `10s, 30s, 2m, 10m, 30m` (bare numbers are seconds).

    Raises errors.ConfigError when an item is malformed or the list is too long.
    """
    if len(text) > 1024:
        raise errors.ConfigError("retry schedule: longer than 1024 characters")
    items = [item for item in text.split(",") if item.strip()]
    if len(items) > MAX_RETRIES:
        raise errors.ConfigError(f"retry schedule: more than {MAX_RETRIES} delays")
    delays = []
    for item in items:
        match = _DELAY.match(item)
        if match is None:
            raise errors.ConfigError(f"retry schedule: cannot read {item.strip()!r}")
        delay = _s(float(match.group(1)) * _UNITS[match.group(2) or "s"])
        if delay > MAX_DELAY:
            raise errors.ConfigError(f"retry schedule: {item.strip()!r} is longer than {MAX_DELAY}")
        delays.append(delay)
    return tuple(delays)


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """Read a `Retry-After` header (delta seconds or an HTTP date) as a delay from `now`, capped at MAX_DELAY.

    Returns None when the header is absent or unreadable; a date in the past gives zero.
    """
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 64:
        return None
    if value.isascii() and value.isdigit():
        return min(_s(int(value[:12])), MAX_DELAY)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max(when - now, dt.timedelta(0)), MAX_DELAY)


def _retryable(policy: RetryPolicy, outcome: models.AttemptOutcome, status: int | None) -> bool:
    if outcome in (models.AttemptOutcome.TIMEOUT, models.AttemptOutcome.CONNECT, models.AttemptOutcome.DNS):
        return True
    if outcome is models.AttemptOutcome.HTTP_STATUS:
        if policy.retry_any_status:
            return True
        return status is not None and (status == 429 or 500 <= status <= 599)
    # BLOCKED_URL: the guard's verdict does not change by waiting.
    return False


def decide(
    policy: RetryPolicy,
    attempt_number: int,
    outcome: models.AttemptOutcome,
    status: int | None,
    retry_after: dt.timedelta | None,
    now: dt.datetime,
    rand: Callable[[], float],
) -> RetryDecision:
    """Judge attempt number `attempt_number` (1-based) of a callback.

    `outcome` and `status` classify the attempt; `retry_after` is the parsed header, if any; `rand` returns a
    float in [0, 1) and drives the jitter. A 2xx is success; 3xx is a failure like any other status.
    """
    if outcome is models.AttemptOutcome.OK:
        return SUCCEEDED
    if outcome is models.AttemptOutcome.HTTP_STATUS and status == 410 and policy.disable_on_gone:
        return RetryDecision(DecisionKind.DISABLE_ENDPOINT, reason="gone")
    if not _retryable(policy, outcome, status):
        return RetryDecision(
            DecisionKind.GIVE_UP, reason=f"final:{status if status is not None else outcome}"
        )
    if attempt_number < 1 or attempt_number > len(policy.delays):
        return RetryDecision(DecisionKind.GIVE_UP, reason="exhausted")
    scheduled = policy.delays[attempt_number - 1]
    factor = 1.0 + policy.jitter * (2.0 * min(max(rand(), 0.0), 1.0) - 1.0)
    delay = scheduled * factor
    if retry_after is not None:
        low, high = policy.retry_after_clamp
        delay = min(max(retry_after, delay * low), delay * high)
    throttled = outcome is models.AttemptOutcome.TIMEOUT or status == 429
    if throttled:
        delay = max(delay, policy.throttle_floor)
    return RetryDecision(DecisionKind.RETRY, due_at=now + delay, reason=str(status or outcome))
