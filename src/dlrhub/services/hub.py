"""The Hub: what every service needs at hand (settings, store, metrics, clock), built once per process."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from dlrhub import settings as settings_
from dlrhub import store as store_
from dlrhub.adapters import metrics as metrics_
from dlrhub.core import clock as clock_
from dlrhub.core import ids, urls


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
    #: Callback addresses open to the demo account's callbacks alone, besides `settings.callback_allow`:
    #: `dlrhub serve` on a store holding only its demo account opens loopback this way. Another account's
    #: callbacks never reach them, even one made while the process runs.
    demo_allow: tuple[str, ...] = ()

    def allow(self, account_id: str | None = None) -> urls.Allowlist:
        """The URL guard's allow-list for `account_id`'s callbacks; None: the widest any account has (a door's
        early check of an address, before it knows the account; the sender checks each account's)."""
        demo = self.demo_allow if account_id is None or is_demo(account_id) else ()
        return urls.allowlist(self.settings.callback_allow + demo)

    @classmethod
    def open(cls, config: settings_.Settings, *, create: bool = True) -> Hub:
        """A hub on the store the settings name (not yet migrated); `create=False` leaves a missing SQLite file
        missing (see `store.from_url`)."""
        return cls(settings=config, store=store_.from_url(config.database_url, create=create))

    async def close(self) -> None:
        await self.store.close()


def is_demo(account_id: str) -> bool:
    """Whether `account_id` is the demo account's (`accounts.ensure_demo`; no other id has its prefix)."""
    return account_id.startswith(ids.DEMO_ACCOUNT_PREFIX)
