"""The dialect registry: every dialect has an entry, and the doors and settings each names exist."""

from __future__ import annotations

import dataclasses
import importlib.util

from dlrhub import settings
from dlrhub.core import models, retry
from dlrhub.dialects import registry

SETTINGS = {f.name for f in dataclasses.fields(settings.Settings)}


def test_every_dialect_has_one_entry():
    assert set(registry.ENTRIES) == set(models.Dialect)
    for dialect, entry in registry.ENTRIES.items():
        assert entry.dialect is dialect


def test_the_doors_and_settings_named_exist():
    for entry in registry.ENTRIES.values():
        assert entry.doors, entry.dialect
        for door in entry.doors:
            assert importlib.util.find_spec(f"dlrhub.api.{door}") is not None, door
        assert set(entry.settings) <= SETTINGS, entry.dialect


def test_every_policy_in_use_has_a_schedule_setting():
    used = {e.retry.name for e in registry.ENTRIES.values()}
    assert used == set(registry.SCHEDULE_SETTINGS)
    assert set(registry.SCHEDULE_SETTINGS.values()) <= SETTINGS


def test_policies_follow_the_entries():
    made = registry.retry_policies({retry.ESMS.name: (1.0,)})
    assert made[models.Dialect.ESMS].delays == retry.scheduled(retry.ESMS, (1.0,)).delays
    assert made[models.Dialect.NXCLOUD] is retry.STANDARD_WEBHOOKS
    assert made[models.Dialect.NATIVE] is retry.STANDARD_WEBHOOKS


def test_journey_events_use_the_journey_dialect():
    assert registry.dialect_of(None) is registry.JOURNEY_DIALECT is models.Dialect.NXCLOUD
