"""The collector settings of dlrhub's server processes (`adapters.collector`)."""

from __future__ import annotations

import gc

from dlrhub.adapters import collector


def test_tune_freezes_start_up_and_sets_the_thresholds():
    before = gc.get_threshold()
    try:
        collector.tune()
        assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert collector.THRESHOLDS[0] > before[0]  # the young generation less often than CPython's default
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
