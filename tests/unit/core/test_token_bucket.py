"""The token bucket behind per-destination rate limits: pure arithmetic on a state the store keeps."""

from __future__ import annotations

import pytest

from dlrhub.core import token_bucket


def test_starts_full_and_refills_at_its_rate_up_to_its_burst() -> None:
    first = token_bucket.take(None, None, rate=5.0, burst=2, want=5, now=100.0)
    assert (first.granted, first.tokens, first.at) == (2, 0.0, 100.0)
    assert first.wait_s == pytest.approx(0.2)
    early = token_bucket.take(first.tokens, first.at, 5.0, 2, 5, now=100.1)
    assert early.granted == 0 and early.wait_s == pytest.approx(0.1)
    due = token_bucket.take(early.tokens, early.at, 5.0, 2, 5, now=100.2)
    assert due.granted == 1
    rested = token_bucket.take(due.tokens, due.at, 5.0, 2, 5, now=1000.0)
    assert rested.granted == 2  # never more than the burst, however long it rested


def test_over_any_window_it_grants_at_most_rate_times_length_plus_burst() -> None:
    tokens: float | None = None
    at: float | None = None
    starts = []
    t = 0.0
    while t < 10.0:
        taken = token_bucket.take(tokens, at, 5.0, 1, 100, t)
        tokens, at = taken.tokens, taken.at
        starts += [t] * taken.granted
        t = round(t + 0.013, 6)
    assert 48 <= len(starts) <= 51
    for first in starts:
        assert sum(1 for s in starts if first <= s < first + 1.0) <= 5 + 1


def test_takes_only_what_is_wanted_and_a_fractional_rate_waits_seconds() -> None:
    taken = token_bucket.take(None, None, 0.5, 3, 1, 0.0)
    assert (taken.granted, taken.tokens, taken.wait_s) == (1, 2.0, 0.0)
    slow = token_bucket.take(0.0, 0.0, 0.5, 1, 1, 0.0)
    assert slow.granted == 0 and slow.wait_s == pytest.approx(2.0)
    assert token_bucket.take(0.0, 0.0, 0.5, 1, 1, 1.9).granted == 0
    assert token_bucket.take(0.0, 0.0, 0.5, 1, 1, 2.0).granted == 1


def test_a_clock_behind_the_bucket_refills_nothing() -> None:
    # Another dispatcher, its clock a little ahead, took the last token at 10.0.
    behind = token_bucket.take(0.0, 10.0, 5.0, 1, 1, 9.5)
    assert (behind.granted, behind.at) == (0, 10.0)
    assert token_bucket.take(behind.tokens, behind.at, 5.0, 1, 1, 10.2).granted == 1


def test_a_lowered_burst_caps_what_was_left() -> None:
    assert token_bucket.take(8.0, 0.0, 5.0, 2, 10, 0.0).granted == 2


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_refuses_a_rate_or_burst_that_allows_nothing(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        token_bucket.take(None, None, rate, burst, 1, 0.0)
