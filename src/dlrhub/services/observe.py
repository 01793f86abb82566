"""What a scrape reads from the store: callback counts and the backlog's age, endpoint health, failing endpoints.

Every query here is cheap at any table size (the scrape cost is in docs/benchmarks.md): counts come from the
`callback_counts` rows kept by triggers, the backlog's age from the first entry of the `callbacks_due` index, and
endpoint health from the `endpoints` table (one row per account's endpoint that was ever unhealthy).
"""

from __future__ import annotations

import logging
import typing

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.services import hub as hub_

log = logging.getLogger("dlrhub.metrics")


class ObservedStore(store.Callbacks, store.Endpoints, typing.Protocol):
    """What a scrape reads."""


async def refresh(hub: hub_.Hub) -> bool:
    """Set the store gauges of `hub.metrics` from the store; False (the gauges keep their last values, and the
    process's own counters still render) when the store fails."""
    try:
        await _refresh(hub)
    except Exception as exc:  # a scrape still shows this process's counters while the store is away
        if not isinstance(exc, errors.StoreUnavailable):  # the store logs an outage once
            log.warning("metrics: reading the store failed (%s)", type(exc).__name__)
        return False
    return True


async def _refresh(hub: hub_.Hub) -> None:
    db: ObservedStore = hub.store
    meter = hub.metrics
    meter.failing.top = hub.settings.metrics_top_endpoints
    counts = await db.callback_counts()
    by_state = dict.fromkeys(models.CallbackState, 0)
    for (dialect, state), n in counts.items():
        by_state[state] += n
        if state is models.CallbackState.PENDING:
            meter.backlog.labels(dialect=dialect.value).set(n)
    for state, n in by_state.items():
        meter.callbacks.labels(state=state.value).set(n)
    oldest = await db.oldest_pending_due_at()
    age = 0.0 if oldest is None else (hub.clock() - oldest).total_seconds()
    meter.oldest_due_age.set(max(0.0, age))
    for ep_state, ep_count in (await db.count_endpoints()).items():
        meter.endpoints.labels(state=ep_state.value).set(ep_count)
    failing = meter.failing.endpoints()
    if failing:
        meter.failing.refresh(await db.get_endpoints(failing))
