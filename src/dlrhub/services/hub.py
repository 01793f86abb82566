"""The Hub: what every service needs at hand (settings, store, metrics, clock), built once per process."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from dlrhub import settings as settings_
from dlrhub import store as store_
from dlrhub.adapters import metrics as metrics_
from dlrhub.core import clock as clock_


@dataclasses.dataclass(slots=True)
class Hub:
    """Shared state of one dlrhub process."""

    settings: settings_.Settings
    store: store_.Store
    metrics: metrics_.Metrics = dataclasses.field(default_factory=lambda: metrics_.Metrics())
    clock: Callable[[], dt.datetime] = clock_.utcnow

    @classmethod
    def open(cls, config: settings_.Settings) -> Hub:
        """A hub on the store the settings name (not yet migrated)."""
        return cls(settings=config, store=store_.from_url(config.database_url))

    async def close(self) -> None:
        await self.store.close()
