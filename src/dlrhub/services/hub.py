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
class Health:
    """The background workers of this process that are down now (the runtime's supervisor keeps it)."""

    #: Worker name -> the type of the exception it last died of (no message: `/readyz` shows it to anyone).
    down: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(slots=True)
class Hub:
    """Shared state of one dlrhub process."""

    settings: settings_.Settings
    store: store_.Store
    metrics: metrics_.Metrics = dataclasses.field(default_factory=lambda: metrics_.Metrics())
    clock: Callable[[], dt.datetime] = clock_.utcnow
    health: Health = dataclasses.field(default_factory=Health)

    @classmethod
    def open(cls, config: settings_.Settings, *, create: bool = True) -> Hub:
        """A hub on the store the settings name (not yet migrated); `create=False` leaves a missing SQLite file
        missing (see `store.from_url`)."""
        return cls(settings=config, store=store_.from_url(config.database_url, create=create))

    async def close(self) -> None:
        await self.store.close()
