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
