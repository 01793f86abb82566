"""The circuit breaker: pause after repeated failures, half-open probe, doubling pauses, disable, reset."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import breaker, errors, models

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
OUT = models.AttemptOutcome
S = models.EndpointState
A = breaker.Admission
CONFIG = breaker.BreakerConfig(
    failures=3,
    pause=dt.timedelta(seconds=30),
    max_pause=dt.timedelta(minutes=2),
    disable_after=dt.timedelta(hours=1),
)


def fail(ep, at, outcome=OUT.TIMEOUT, status=None):
    return breaker.record(ep, outcome, status, at, CONFIG)


def test_consecutive_failures_pause_then_probe_then_heal():
    ep = breaker.fresh("http://a:80", T0)
    for i in range(2):
        ep = fail(ep, T0 + dt.timedelta(seconds=i))
        assert ep.state is S.HEALTHY
        assert breaker.admission(ep, T0) is A.OPEN
    ep = fail(ep, T0 + dt.timedelta(seconds=2))
    assert ep.state is S.PAUSED
    assert ep.paused_until == T0 + dt.timedelta(seconds=32)
    assert breaker.admission(ep, T0 + dt.timedelta(seconds=10)) is A.WAIT
    assert breaker.admission(ep, T0 + dt.timedelta(seconds=32)) is A.PROBE
    healed = breaker.record(ep, OUT.OK, 200, T0 + dt.timedelta(seconds=33), CONFIG)
    assert healed.state is S.HEALTHY
    assert healed.consecutive_failures == 0
    assert healed.failing_since is None


def test_a_success_resets_the_count():
    ep = fail(fail(breaker.fresh("e", T0), T0), T0)
    ep = breaker.record(ep, OUT.OK, 204, T0, CONFIG)
    ep = fail(fail(ep, T0), T0)
    assert ep.state is S.HEALTHY


def test_failed_probes_double_the_pause_up_to_the_cap():
    ep = breaker.fresh("e", T0)
    now = T0
    for _ in range(3):
        ep = fail(ep, now)
    pauses = []
    for _ in range(5):
        assert ep.paused_until is not None
        pauses.append((ep.paused_until - now).total_seconds())
        now = ep.paused_until
        ep = fail(ep, now)
    assert pauses == [30, 60, 120, 120, 120]


def test_failures_in_flight_during_a_pause_do_not_extend_it():
    ep = breaker.fresh("e", T0)
    for _ in range(3):
        ep = fail(ep, T0)
    until = ep.paused_until
    for i in range(50):
        ep = fail(ep, T0 + dt.timedelta(seconds=1 + i * 0.1))
    assert ep.paused_until == until
    assert ep.consecutive_failures == 53


def test_a_success_sent_before_the_pause_began_leaves_the_pause_to_its_probe():
    ep = breaker.fresh("e", T0)
    for _ in range(3):
        ep = fail(ep, T0)
    # An attempt in flight when the breaker opened answers 200 during the pause: the pause stands, as the store
    # keeps a running pause against the dispatcher's writes (a heal judged now would never be stored).
    assert breaker.record(ep, OUT.OK, 200, T0 + dt.timedelta(seconds=1), CONFIG) is ep
    assert ep.paused_until is not None
    healed = breaker.record(ep, OUT.OK, 200, ep.paused_until, CONFIG)
    assert healed.state is S.HEALTHY


def test_failing_for_too_long_disables():
    ep = fail(breaker.fresh("e", T0), T0)
    ep = fail(ep, T0 + dt.timedelta(hours=1))
    assert ep.state is S.DISABLED
    assert breaker.admission(ep, T0 + dt.timedelta(days=9)) is A.REFUSE
    # Disabled stays disabled, even after a success, until an operator resets it.
    assert breaker.record(ep, OUT.OK, 200, T0 + dt.timedelta(hours=2), CONFIG).state is S.DISABLED
    assert breaker.reset(ep, T0 + dt.timedelta(hours=2)).state is S.HEALTHY


def test_410_disables_at_once_and_blocked_changes_nothing():
    ep = breaker.fresh("e", T0)
    assert breaker.record(ep, OUT.HTTP_STATUS, 410, T0, CONFIG).state is S.DISABLED
    assert breaker.record(ep, OUT.BLOCKED_URL, None, T0, CONFIG) == ep
    # eSMS does not treat 410 specially: it is one more failure.
    counted = breaker.record(ep, OUT.HTTP_STATUS, 410, T0, CONFIG, gone_disables=False)
    assert counted.state is S.HEALTHY
    assert counted.consecutive_failures == 1


def test_config_is_checked():
    with pytest.raises(errors.ConfigError):
        breaker.BreakerConfig(failures=0)
    with pytest.raises(errors.ConfigError):
        breaker.BreakerConfig(pause=dt.timedelta(minutes=5), max_pause=dt.timedelta(minutes=1))


events = st.lists(
    st.tuples(
        st.sampled_from([OUT.OK, OUT.TIMEOUT, OUT.CONNECT, OUT.HTTP_STATUS]),
        st.sampled_from([200, 500, 429, 302]),
        st.integers(0, 600),
    ),
    max_size=60,
)


@given(events)
def test_any_sequence_keeps_the_invariants(seq):
    ep = breaker.fresh("e", T0)
    now = T0
    for outcome, status, step in seq:
        now += dt.timedelta(seconds=step)
        before = ep
        ep = breaker.record(ep, outcome, status, now, CONFIG)
        if before.state is S.DISABLED:
            assert ep == before
        if ep.state is S.PAUSED:
            assert ep.paused_until is not None
            assert ep.paused_until - ep.updated_at <= CONFIG.max_pause
        if ep.state is S.HEALTHY:
            assert ep.consecutive_failures < CONFIG.failures
        if ep.consecutive_failures == 0:
            assert ep.failing_since is None
        if ep.state is not S.DISABLED and outcome is OUT.OK and not breaker.running(before, now):
            assert ep.state is S.HEALTHY
        if outcome is OUT.OK and breaker.running(before, now):
            assert ep == before
