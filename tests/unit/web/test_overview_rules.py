"""The overview's pure parts: its window, the per-minute series, the success rate, the quota table, result words."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import models
from dlrhub.services import overview
from dlrhub.store import activity
from tests.unit.esms import factories

NOW = dt.datetime(2026, 6, 1, 12, 30, 30, 123000, tzinfo=dt.UTC)


def test_the_window_is_sixty_whole_minutes_ending_with_the_one_under_way():
    since, until = overview.window(NOW)
    assert since == dt.datetime(2026, 6, 1, 11, 31, tzinfo=dt.UTC)
    assert until == dt.datetime(2026, 6, 1, 12, 31, tzinfo=dt.UTC)
    local = NOW.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert overview.window(local) == (since, until)


def test_a_series_has_a_count_for_every_minute():
    since, _ = overview.window(NOW)
    found = overview.series(
        {since: 2, since + dt.timedelta(minutes=59): 5, since - dt.timedelta(minutes=1): 9}, since
    )
    assert len(found.counts) == overview.WINDOW_MINUTES
    assert (found.counts[0], found.counts[-1], found.total, found.peak) == (2, 5, 7, 5)


def test_the_success_rate_is_delivered_over_finished():
    assert overview.SuccessRate(3, 1, 0).rate == 0.75
    assert overview.SuccessRate(0, 0, 2).rate == 0
    assert overview.SuccessRate(0, 0, 0).rate is None


def test_quotas_list_the_least_left_first_and_no_limit_last():
    oas = [
        factories.oa(oa_id="1", daily_quota=100),
        factories.oa(oa_id="2", daily_quota=0),
        factories.oa(oa_id="3", daily_quota=10),
        factories.oa(oa_id="4", daily_quota=5),
    ]
    found = overview.quotas(oas, {"1": 99, "2": 7, "4": 9})
    assert [(q.oa_id, q.left) for q in found] == [("4", 0), ("1", 1), ("3", 10), ("2", None)]
    many = [factories.oa(oa_id=str(i)) for i in range(overview.MAX_OAS + 5)]
    assert len(overview.quotas(many, {})) == overview.MAX_OAS


def test_results_in_words():
    failed = models.MessageState.FAILED
    assert overview.result_label(store.ZaloResult(failed, 17004, -118, 2)) == (
        "refused by Zalo: -118 Zalo account not existed"
    )
    assert (
        overview.result_label(store.ZaloResult(models.MessageState.ACCEPTED, None, None, 1))
        == "waiting to be sent"
    )
    assert overview.result_label(store.ZaloResult(failed, 12345, None, 1)) == "code 12345"


def test_a_range_touches_the_minutes_it_overlaps():
    start = dt.datetime(2026, 6, 1, 11, 31, tzinfo=dt.UTC)
    assert activity.minutes(start, start + dt.timedelta(hours=1)) == (start, 60)
    assert activity.minutes(start + dt.timedelta(seconds=30), start + dt.timedelta(hours=1, seconds=1)) == (
        start,
        61,
    )
    assert activity.minutes(start, start) == (start, 0)
    assert activity.per_minute(start, [(0, 2), (1, 0), (59, 1)]) == {
        start: 2,
        start + dt.timedelta(minutes=59): 1,
    }
