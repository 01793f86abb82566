"""The dispatcher's configuration from settings: schedules, breaker, and the lease rule."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dlrhub import settings
from dlrhub.core import errors, models, retry
from dlrhub.workers import dispatch_config as config_


def test_defaults_follow_the_decisions():
    config = config_.DispatchConfig.from_settings(settings.Settings())
    assert config.policies[models.Dialect.ESMS].delays == retry.ESMS.delays
    assert config.policies[models.Dialect.NXCLOUD].delays == retry.STANDARD_WEBHOOKS.delays
    assert config.policies[models.Dialect.NATIVE].throttle_floor == dt.timedelta(seconds=60)
    assert config.breaker.failures == 20
    assert config.breaker.disable_after == dt.timedelta(days=1)
    assert config.max_backlog == 2 * config.concurrency


def test_settings_change_schedules_and_breaker():
    config = config_.DispatchConfig.from_settings(
        dataclasses.replace(
            settings.Settings(),
            esms_retry_schedule=(1.0, 2.0),
            standard_retry_schedule=(0.0, 3.0),
            breaker_failures=5,
            breaker_pause_s=7.0,
        )
    )
    assert config.policies[models.Dialect.ESMS].delays == (dt.timedelta(seconds=1), dt.timedelta(seconds=2))
    assert config.policies[models.Dialect.NXCLOUD].max_attempts == 2
    assert (config.breaker.failures, config.breaker.pause) == (5, dt.timedelta(seconds=7))


@pytest.mark.parametrize(
    "changes",
    [
        {"dispatch_lease_s": 20.0, "callback_timeout_s": 10.0},
        {"dispatch_concurrency": 0},
        {"endpoint_concurrency": 0},
        {"esms_retry_schedule": (-1.0,)},
        {"breaker_failures": 0},
    ],
)
def test_bad_settings_are_refused(changes):
    with pytest.raises(errors.ConfigError):
        config_.DispatchConfig.from_settings(dataclasses.replace(settings.Settings(), **changes))


def test_the_pool_is_sized_for_slow_receivers_and_the_sender_follows_it():
    defaults = settings.Settings()
    config = config_.DispatchConfig.from_settings(defaults)
    assert config.concurrency == 1024
    assert config_.sender_config(defaults).pool_size == config.concurrency
    # A claim waits for an eighth of the backlog, at most a batch; a tiny backlog claims whatever room it has.
    assert config.min_claim == 256
    assert dataclasses.replace(config, concurrency=4000).min_claim == config.batch_size
    assert dataclasses.replace(config, concurrency=2).min_claim == 1
    # Both batching windows are far inside the lease.
    assert config.flush_window_s + config.claim_wait_s < config.lease_s / 100


def test_the_open_file_limit_is_raised_to_fit_the_pool():
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(soft + 10, hard) if hard != resource.RLIM_INFINITY else soft + 10
    got = config_.ensure_file_limit(want - config_.SPARE_FDS)
    assert got >= want or got == hard
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == got
