"""The token bucket behind per-destination rate limits, on an injected clock."""

from __future__ import annotations

import pytest

from dlrhub.core.token_bucket import TokenBucket


def test_starts_full_and_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=5.0, burst=2, now=100.0)
    assert bucket.available(100.0) == 2
    bucket.take(100.0, 2)
    assert bucket.available(100.0) == 0
    assert bucket.wait(100.0) == pytest.approx(0.2)
    assert bucket.available(100.1) == 0
    assert bucket.available(100.2) == 1
    assert bucket.available(1000.0) == 2  # never more than the burst, however long it rested
    assert bucket.wait(1000.0) == 0.0


def test_over_any_window_it_allows_at_most_rate_times_length_plus_burst() -> None:
    bucket = TokenBucket(rate=5.0, burst=1, now=0.0)
    starts = []
    t = 0.0
    while t < 10.0:
        n = bucket.available(t)
        bucket.take(t, n)
        starts += [t] * n
        t = round(t + 0.013, 6)
    assert 48 <= len(starts) <= 51
    for first in starts:
        assert sum(1 for s in starts if first <= s < first + 1.0) <= 5 + 1


def test_a_fractional_rate_waits_seconds_between_tokens() -> None:
    bucket = TokenBucket(rate=0.5, burst=1, now=0.0)
    bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(2.0)
    assert bucket.available(1.9) == 0 and bucket.available(2.0) == 1


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_refuses_a_rate_or_burst_that_allows_nothing(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate, burst, 0.0)
