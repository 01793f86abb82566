"""The channel worker's pure rules: the quota day, the events of a send's outcome; which Zalo is used."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dlrhub import settings
from dlrhub.core import errors, models
from dlrhub.dialects.zalo import wire
from dlrhub.services import zalo_wiring as wiring
from dlrhub.workers import zalo_channel as worker

NOW = dt.datetime(2026, 3, 1, 16, 59, 59, tzinfo=dt.UTC)  # 23:59:59 in Vietnam


def message() -> models.Message:
    return models.Message(
        id="zalomid.0123",
        account_id="a",
        dialect=models.Dialect.NXCLOUD,
        type_id=25,
        recipient="84900000300",
        state=models.MessageState.ACCEPTED,
        seq=1,
        created_at=NOW,
        updated_at=NOW,
    )


def test_quota_day_is_the_vietnam_day():
    assert worker.quota_day(NOW) == ("2026-03-01", dt.datetime(2026, 3, 1, 17, tzinfo=dt.UTC))
    later = NOW + dt.timedelta(seconds=1)
    assert worker.quota_day(later) == ("2026-03-02", dt.datetime(2026, 3, 2, 17, tzinfo=dt.UTC))


def test_outcome_events_have_deterministic_ids():
    ok = wire.send_outcome(
        b'{"error":0,"message":"Success","data":{"msg_id":"m","sent_time":"1772384399000"}}'
    )
    event = worker.outcome_event(message(), ok, NOW)
    assert (event.id, event.kind, event.code) == ("zalomid.0123:success", models.EventKind.SUCCESS, 0)
    assert event.occurred_at == dt.datetime(2026, 3, 1, 16, 59, 59, tzinfo=dt.UTC)
    timeout = worker.outcome_event(message(), wire.timeout_outcome(), NOW)
    assert (timeout.id, timeout.code, timeout.occurred_at) == ("zalomid.0123:failed", 17005, NOW)
    refused = worker.refused_event(message(), worker.CODE_NO_ROUTE, worker.TEXT_NO_ROUTE, NOW)
    assert (refused.code, refused.zalo_res) == (9005, None)


@pytest.mark.parametrize(
    ("mode", "url", "simulated"),
    [
        ("auto", wire.DEFAULT_API_BASE, True),
        ("auto", "http://zalo.internal:9000", False),
        ("simulator", "http://zalo.internal:9000", True),
        ("zalo", wire.DEFAULT_API_BASE, False),
        ("ZALO", wire.DEFAULT_API_BASE, False),
    ],
)
def test_which_zalo(mode, url, simulated):
    config = dataclasses.replace(
        settings.Settings(), zalo_mode=mode, zalo_api_url=url, host="0.0.0.0", port=9
    )
    assert wiring.uses_simulator(config) is simulated
    api, oauth = wiring.api_urls(config)
    if simulated:
        assert api == oauth == "http://127.0.0.1:9/simulator/zalo"
    else:
        assert (api, oauth) == (url, config.zalo_oauth_url)


def test_unknown_zalo_mode_is_a_config_error():
    with pytest.raises(errors.ConfigError, match="zalo_mode"):
        wiring.uses_simulator(dataclasses.replace(settings.Settings(), zalo_mode="maybe"))
