"""Retry timing: the eSMS and Standard Webhooks policies, Retry-After, and properties over any attempt."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import errors, models, retry
from dlrhub.dialects import registry

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
OUT = models.AttemptOutcome
K = retry.DecisionKind


def mid() -> float:
    return 0.5


def decide(policy, number, outcome, status=None, retry_after=None, rand=mid):
    return retry.decide(policy, number, outcome, status, retry_after, NOW, rand)


def delay_of(decision: retry.RetryDecision) -> float:
    assert decision.kind is K.RETRY
    assert decision.due_at is not None
    return (decision.due_at - NOW).total_seconds()


def test_esms_schedule_without_jitter_is_the_documented_one():
    delays = [delay_of(decide(retry.ESMS, n, OUT.TIMEOUT)) for n in range(1, 6)]
    assert delays == [10, 30, 120, 600, 1800]
    assert decide(retry.ESMS, 6, OUT.TIMEOUT).kind is K.GIVE_UP
    assert retry.ESMS.max_attempts == 6


def test_standard_webhooks_schedule_and_exhaustion():
    delays = [delay_of(decide(retry.STANDARD_WEBHOOKS, n, OUT.CONNECT)) for n in range(1, 8)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert decide(retry.STANDARD_WEBHOOKS, 8, OUT.CONNECT).kind is K.GIVE_UP
    assert retry.STANDARD_WEBHOOKS.max_attempts == 8


@pytest.mark.parametrize("status", [500, 502, 503, 599, 429])
def test_esms_retries_5xx_and_429(status):
    assert decide(retry.ESMS, 1, OUT.HTTP_STATUS, status).kind is K.RETRY


@pytest.mark.parametrize("status", [301, 302, 400, 404, 410, 418])
def test_esms_other_statuses_are_final(status):
    decision = decide(retry.ESMS, 1, OUT.HTTP_STATUS, status)
    assert decision.kind is K.GIVE_UP
    assert decision.due_at is None


@pytest.mark.parametrize("status", [301, 302, 307, 400, 404, 500])
def test_standard_webhooks_retries_every_non_2xx_including_3xx(status):
    assert decide(retry.STANDARD_WEBHOOKS, 1, OUT.HTTP_STATUS, status).kind is K.RETRY


def test_410_disables_the_endpoint_on_standard_webhooks():
    assert decide(retry.STANDARD_WEBHOOKS, 3, OUT.HTTP_STATUS, 410).kind is K.DISABLE_ENDPOINT


def test_ok_succeeds_and_blocked_gives_up():
    assert decide(retry.ESMS, 1, OUT.OK, 200).kind is K.SUCCEEDED
    assert decide(retry.STANDARD_WEBHOOKS, 1, OUT.BLOCKED_URL).kind is K.GIVE_UP


@pytest.mark.parametrize(("outcome", "status"), [(OUT.TIMEOUT, None), (OUT.HTTP_STATUS, 429)])
def test_timeout_or_429_waits_at_least_60s_on_standard_webhooks(outcome, status):
    assert delay_of(decide(retry.STANDARD_WEBHOOKS, 1, outcome, status)) == 60
    # A 500 is not throttling: the 5 s schedule stands.
    assert delay_of(decide(retry.STANDARD_WEBHOOKS, 1, OUT.HTTP_STATUS, 500)) == 5


def test_retry_after_is_clamped_to_one_to_two_times_the_schedule():
    policy = retry.STANDARD_WEBHOOKS
    assert delay_of(decide(policy, 2, OUT.HTTP_STATUS, 503, dt.timedelta(seconds=1))) == 300
    assert delay_of(decide(policy, 2, OUT.HTTP_STATUS, 503, dt.timedelta(seconds=450))) == 450
    assert delay_of(decide(policy, 2, OUT.HTTP_STATUS, 503, dt.timedelta(days=1))) == 600


def test_jitter_bounds_at_extremes():
    low = delay_of(decide(retry.ESMS, 2, OUT.TIMEOUT, rand=lambda: 0.0))
    high = delay_of(decide(retry.ESMS, 2, OUT.TIMEOUT, rand=lambda: 0.999999))
    assert low == pytest.approx(24.0)
    assert high == pytest.approx(36.0, rel=1e-4)


def test_schedules_are_configurable():
    seconds = [d.total_seconds() for d in retry.parse_schedule("1s, 2m")]
    policy = registry.retry_policies({retry.ESMS.name: seconds})[models.Dialect.ESMS]
    assert [delay_of(decide(policy, n, OUT.TIMEOUT)) for n in (1, 2)] == [1, 120]
    assert decide(policy, 3, OUT.TIMEOUT).kind is K.GIVE_UP
    assert registry.retry_policies()[models.Dialect.NXCLOUD] is retry.STANDARD_WEBHOOKS
    assert registry.retry_policies()[models.Dialect.NATIVE] is retry.STANDARD_WEBHOOKS


def test_parse_schedule_units_and_errors():
    assert retry.parse_schedule("500ms,10,1h,1d") == (
        dt.timedelta(milliseconds=500),
        dt.timedelta(seconds=10),
        dt.timedelta(hours=1),
        dt.timedelta(days=1),
    )
    for bad in ("ten", "5x", "-1s", "3d", ",".join(["1s"] * 40)):
        with pytest.raises(errors.ConfigError):
            retry.parse_schedule(bad)


def test_parse_retry_after():
    assert retry.parse_retry_after("120", NOW) == dt.timedelta(seconds=120)
    assert retry.parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", NOW) == dt.timedelta(seconds=90)
    assert retry.parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", NOW) == dt.timedelta(0)
    assert retry.parse_retry_after("99999999999", NOW) == retry.MAX_DELAY
    for bad in (None, "", "soon", "-5", "1.5", "x" * 100):
        assert retry.parse_retry_after(bad, NOW) is None


def test_policy_rejects_bad_configuration():
    with pytest.raises(errors.ConfigError):
        retry.RetryPolicy(name="x", delays=(dt.timedelta(seconds=-1),))
    with pytest.raises(errors.ConfigError):
        retry.RetryPolicy(name="x", delays=(), jitter=1.5)
    with pytest.raises(errors.ConfigError):
        retry.RetryPolicy(name="x", delays=(), retry_after_clamp=(2.0, 1.0))


policies = st.sampled_from([retry.ESMS, retry.STANDARD_WEBHOOKS])
outcomes = st.sampled_from(list(OUT))
statuses = st.one_of(st.none(), st.integers(100, 599))
retry_afters = st.one_of(st.none(), st.timedeltas(dt.timedelta(0), retry.MAX_DELAY))
rands = st.floats(0.0, 1.0, exclude_max=True)


@given(policies, st.integers(-3, 12), outcomes, statuses, retry_afters, rands)
def test_any_decision_is_consistent(policy, number, outcome, status, retry_after, r):
    decision = retry.decide(policy, number, outcome, status, retry_after, NOW, lambda: r)
    if outcome is OUT.OK:
        assert decision.kind is K.SUCCEEDED
    if decision.kind is K.RETRY:
        assert 1 <= number <= len(policy.delays)
        assert decision.due_at is not None
        delay = decision.due_at - NOW
        scheduled = policy.delays[number - 1]
        low = scheduled * (1 - policy.jitter)
        high = max(scheduled * (1 + policy.jitter) * policy.retry_after_clamp[1], policy.throttle_floor)
        assert low - dt.timedelta(milliseconds=1) <= delay <= high + dt.timedelta(milliseconds=1)
        if outcome is OUT.TIMEOUT or status == 429:
            assert delay >= policy.throttle_floor
    else:
        assert decision.due_at is None
    if number > len(policy.delays):
        assert decision.kind is not K.RETRY


@given(policies, outcomes, statuses, rands)
def test_due_times_never_go_backwards_along_the_schedule(policy, outcome, status, r):
    due = [
        retry.decide(policy, n, outcome, status, None, NOW, lambda: r).due_at
        for n in range(1, len(policy.delays) + 1)
    ]
    if all(d is not None for d in due):
        assert due == sorted(due)  # type: ignore[type-var]


def test_policies_from_settings_drop_the_leading_immediate_attempt():
    made = registry.retry_policies(
        {
            retry.ESMS.name: (10, 30, 120, 600, 1800),
            retry.STANDARD_WEBHOOKS.name: (0, 5, 300, 1800, 7200, 18000, 36000, 36000),
        }
    )
    assert made[models.Dialect.ESMS].delays == retry.ESMS.delays
    assert made[models.Dialect.NXCLOUD].delays == retry.STANDARD_WEBHOOKS.delays
    assert made[models.Dialect.NATIVE] is made[models.Dialect.NXCLOUD]
    assert made[models.Dialect.ESMS].retry_any_status is False
    with pytest.raises(errors.ConfigError):
        retry.scheduled(retry.ESMS, (-1,))
