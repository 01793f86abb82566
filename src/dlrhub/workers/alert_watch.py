"""The alert watch: looks at the age of the oldest due callback every CHECK_EVERY_S and raises the backlog alert."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dlrhub.core import errors
from dlrhub.services import alerts
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)

#: How often the backlog is looked at (one index read).
CHECK_EVERY_S = 15.0


async def run(hub: hub_.Hub, stop: asyncio.Event) -> None:
    """Check the backlog's age until `stop` is set (doing nothing while `alert_url` is empty)."""
    watch = alerts.BacklogWatch(hub)
    while not stop.is_set():
        if hub.settings.alert_url:
            try:
                await watch.check(hub.clock())
            except errors.StoreUnavailable:
                pass  # the store logs the outage once
            except Exception:
                log.exception("alert watch: checking the backlog failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), CHECK_EVERY_S)
