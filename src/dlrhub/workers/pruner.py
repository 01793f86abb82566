"""The pruner: every `prune_interval_s`, one retention round (`services.retention`), logged in one line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from dlrhub.core import errors
from dlrhub.services import hub as hub_
from dlrhub.services import retention

log = logging.getLogger("dlrhub.prune")


async def round_once(
    hub: hub_.Hub, stop: asyncio.Event, *, pause: retention.Pause = retention.pause_briefly
) -> None:
    """One round, logged: the rows deleted by table, or why it failed (a failed round waits for the next)."""
    started = time.monotonic()
    try:
        counts = await retention.prune(hub, pause=pause, stop=stop)
    except errors.StoreUnavailable:
        return  # the store logs the outage once
    except Exception:
        log.exception("prune: the round failed; trying again in %g s", hub.settings.prune_interval_s)
        return
    shown = " ".join(f"{table}={n}" for table, n in counts.items())
    log.info("prune: deleted %s in %.2f s", shown, time.monotonic() - started)


async def run(hub: hub_.Hub, stop: asyncio.Event) -> None:
    """The worker `dlrhub serve` and `dlrhub worker` start: a round now, then one every `prune_interval_s`."""
    while not stop.is_set():
        await round_once(hub, stop)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), hub.settings.prune_interval_s)
