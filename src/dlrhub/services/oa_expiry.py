"""Warn ahead of an OA's refresh token expiring: a gauge per active OA, and a log line once a day per OA inside
the warning window (`zalo_refresh_warn_days`).

A refresh token lives about 3 months and each refresh brings a new one, so an OA that sends at least daily never
comes near expiry; one that stays idle does, and then only a new token from Zalo's console brings it back.
"""

from __future__ import annotations

import datetime as dt
import logging

from dlrhub import store
from dlrhub.services import alerts
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)

#: How often the channel worker looks (the store read is one small query).
CHECK_EVERY = dt.timedelta(minutes=1)


class ExpiryWatch:
    """Looks at every active OA's refresh-token expiry when `due`; one per process running the channel worker."""

    def __init__(self, hub: hub_.Hub) -> None:
        self.hub = hub
        self._next = dt.datetime.min.replace(tzinfo=dt.UTC)
        #: OA id -> the day it was last warned about (one line per OA per day, not per loop).
        self._warned: dict[str, dt.date] = {}
        self._exported: set[str] = set()
        #: Warnings logged so far (for tests).
        self.warnings = 0

    async def maybe_check(self) -> None:
        """`check` when CHECK_EVERY has passed since the last one."""
        now = self.hub.clock()
        if now >= self._next:
            self._next = now + CHECK_EVERY
            await self.check(now)

    async def check(self, now: dt.datetime) -> None:
        """Set the gauge of each active OA; log the ones expiring within the warning window (once per day)."""
        db: store.Accounts = self.hub.store
        window = dt.timedelta(days=self.hub.settings.zalo_refresh_warn_days)
        gauge = self.hub.metrics.zalo_refresh_expiry
        seen: set[str] = set()
        for oa in await db.list_oas():
            if not oa.active or oa.refresh_expires_at is None:
                continue
            left = oa.refresh_expires_at - now
            seen.add(oa.oa_id)
            gauge.labels(oa_id=oa.oa_id).set(left.total_seconds())
            if left <= window and self._warned.get(oa.oa_id) != now.date():
                self._warned[oa.oa_id] = now.date()
                self.warnings += 1
                log.warning(
                    "the refresh token of OA %s %s on %s: if the OA does not send before then, give it a new"
                    " one from Zalo's console (`dlrhub oas update-secrets %s --refresh-token …`)",
                    oa.oa_id,
                    "expired" if left.total_seconds() <= 0 else "expires",
                    oa.refresh_expires_at.isoformat(timespec="minutes"),
                    oa.oa_id,
                )
                await alerts.token_expiring(self.hub, oa, now)
        for gone in self._exported - seen:
            gauge.remove(gone)
        self._exported = seen
