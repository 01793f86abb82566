"""Pure parts of replay: where a redirected callback goes, and how the CLI reads times."""

from __future__ import annotations

import datetime as dt

import pytest

from dlrhub.commands import replay as replay_cli
from dlrhub.core import errors, models
from dlrhub.services import replay

NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)


def test_post_goes_to_the_new_url_as_is():
    req = models.CallbackRequest("POST", "https://a.example/hook?x=1", b"{}", "application/json")
    assert replay.redirected(req, "https://b.example/new") == "https://b.example/new"


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("https://b.example/cb", "https://b.example/cb?SMSID=1&error_info=%257B"),
        ("https://b.example/cb?k=v", "https://b.example/cb?k=v&SMSID=1&error_info=%257B"),
        ("https://b.example/cb?", "https://b.example/cb?SMSID=1&error_info=%257B"),
    ],
)
def test_get_keeps_its_exact_query(new, expected):
    req = models.CallbackRequest("GET", "https://a.example/cb?SMSID=1&error_info=%257B")
    assert replay.redirected(req, new) == expected


def test_parse_time():
    assert replay_cli.parse_time("90m", NOW) == NOW - dt.timedelta(minutes=90)
    assert replay_cli.parse_time("2d", NOW) == NOW - dt.timedelta(days=2)
    assert replay_cli.parse_time("2026-01-01T10:00:00+07:00", NOW) == dt.datetime(
        2026, 1, 1, 3, tzinfo=dt.UTC
    )
    for bad in ("yesterday", "2026-01-01T10:00:00", "5w"):
        with pytest.raises(errors.InvalidInput):
            replay_cli.parse_time(bad, NOW)
