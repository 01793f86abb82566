"""Accepting a send at any front door: the accepted event, the charge, RequestId dedup, queueing for Zalo."""

from __future__ import annotations

import datetime as dt
import weakref
from decimal import Decimal
from typing import Any

from dlrhub import store
from dlrhub.adapters import metrics
from dlrhub.core import models
from dlrhub.planning import accepts
from dlrhub.planning import events as planning_events
from dlrhub.services import group_commit
from dlrhub.services import hub as hub_

#: How long a client's RequestId blocks a repeat (eSMS: 24 h).
REQUEST_ID_WINDOW = dt.timedelta(hours=24)


async def accept(
    hub: hub_.Hub,
    account: models.Account,
    message: models.Message,
    *,
    app: models.App | None = None,
    charge: Decimal = Decimal(0),
    via_zalo: bool = True,
    signature: accepts.Signature | None = None,
) -> store.IngestResult:
    """Store a new message (state `accepted`, seq 0 on input) with its accepted event, atomically.

    `via_zalo` queues it for the Zalo channel worker at `message.send_at` (or now). Raises
    errors.DuplicateRequest (the RequestId was used in the last 24 h), errors.InsufficientBalance and, with a
    request `signature` to take with the send, errors.Replayed when it was taken before; nothing is written then.
    """
    now = hub.clock()
    event = models.StatusEvent(
        id=f"{message.id}:{models.EventKind.ACCEPTED.value}",
        kind=models.EventKind.ACCEPTED,
        occurred_at=now,
        message_id=message.id,
    )
    item = accepts.Accept(
        message,
        event,
        planning_events.RenderInputs(account, app),
        charge=charge,
        dedup_since=now - REQUEST_ID_WINDOW if message.request_id else None,
        channel_due_at=(message.send_at or now) if via_zalo else None,
        signature=signature,
    )
    # Sends that arrive together share one transaction (group commit); each is still all or nothing.
    result = await group_commit.accept(hub.store, item, hub.clock, hub.metrics.group_commit_batch.observe)
    _accepted_counter(hub.metrics, message.dialect).inc()
    return result


_accepted_counters: weakref.WeakKeyDictionary[metrics.Metrics, dict[models.Dialect, Any]] = (
    weakref.WeakKeyDictionary()
)


def _accepted_counter(registry: metrics.Metrics, dialect: models.Dialect) -> Any:
    """The `events_ingested` child counting accepted sends in `dialect`, looked up once (sends are hot)."""
    children = _accepted_counters.setdefault(registry, {})
    child = children.get(dialect)
    if child is None:
        kind = models.EventKind.ACCEPTED.value
        child = children[dialect] = registry.events_ingested.labels(kind=kind, dialect=dialect.value)
    return child
