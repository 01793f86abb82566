"""Refresh-token expiry: a gauge per active OA, and one warning per OA per day inside the window."""

from __future__ import annotations

import datetime as dt
import logging

from dlrhub import settings, store
from dlrhub.services import accounts, oa_expiry
from dlrhub.services import hub as hub_

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


async def test_warns_once_a_day_within_the_window_and_exports_the_gauge(db: store.Store, caplog) -> None:
    clock = [NOW]
    hub = hub_.Hub(settings=settings.Settings(zalo_refresh_warn_days=14), store=db, clock=lambda: clock[0])
    soon = (await accounts.create(hub, "soon")).oa
    later = (await accounts.create(hub, "later")).oa
    off = (await accounts.create(hub, "off")).oa
    await db.change_oa(soon.oa_id, store.OAChanges(refresh_expires_at=NOW + dt.timedelta(days=3)))
    await db.change_oa(later.oa_id, store.OAChanges(refresh_expires_at=NOW + dt.timedelta(days=60)))
    await db.change_oa(
        off.oa_id, store.OAChanges(refresh_expires_at=NOW + dt.timedelta(days=1), active=False)
    )
    watch = oa_expiry.ExpiryWatch(hub)
    with caplog.at_level(logging.WARNING, logger="dlrhub.services.oa_expiry"):
        for minutes in range(0, 600, 7):  # the worker loop, for ten hours of one day
            clock[0] = NOW + dt.timedelta(minutes=minutes)
            await watch.maybe_check()
        assert watch.warnings == 1
        clock[0] = NOW + dt.timedelta(days=1)
        await watch.maybe_check()
    assert watch.warnings == 2
    assert [r.getMessage().split()[5] for r in caplog.records] == [soon.oa_id, soon.oa_id]
    rendered = hub.metrics.render().decode()
    assert f'dlrhub_zalo_refresh_token_expiry_seconds{{oa_id="{soon.oa_id}"}} 172800.0' in rendered
    assert f'oa_id="{later.oa_id}"' in rendered and f'oa_id="{off.oa_id}"' not in rendered
    # Refreshed (89 days left a day later): out of the window, no more warnings.
    await db.change_oa(soon.oa_id, store.OAChanges(refresh_expires_at=clock[0] + dt.timedelta(days=90)))
    clock[0] += dt.timedelta(days=1)
    await watch.maybe_check()
    assert watch.warnings == 2
    assert f'{{oa_id="{soon.oa_id}"}} 7.6896e+06' in hub.metrics.render().decode()
