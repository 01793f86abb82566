"""The dialect registry: one entry per dialect naming its renderer, retry policy, message-id shape and doors.

Every per-dialect fact outside a dialect's own folder is read from here, so adding a dialect is:

1. A member of `models.Dialect` (its stored name).
2. One folder, `dialects/<name>/`: its wire formats, code tables and a `render` (a `rendering.Renderer`). It
   imports only `dlrhub.core`, never another dialect; add it to the independence contract in `pyproject.toml`.
3. One `Entry` in `ENTRIES` below: its renderer, its retry policy (one of `core.retry`'s, or a new one there),
   its message-id shape (one of `core.ids`'s, or a new `ids.IdShape`), its doors and its settings.
4. Its doors: a router module in `dlrhub.api` (named in the entry's `doors`), included in `api/app.ROUTERS`
   (and in `api/app.FAST_ENDPOINTS` when its send door is hot), its answer while the database is down in
   `api/outage.py`, and the use cases it calls in `dlrhub.services`.
5. Its settings in `dlrhub.settings` (named in the entry's `settings`), with a retry schedule when its policy
   takes one (`SCHEDULE_SETTINGS`), documented in the example config.

Pure: nothing here does I/O. `tests/unit/core/test_registry.py` checks that every dialect has an entry and
that the doors and settings it names exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from dlrhub.core import ids, models, rendering, retry
from dlrhub.dialects.esms import callback as esms_callback
from dlrhub.dialects.native import render as native_render
from dlrhub.dialects.nxcloud import dr as nxcloud_dr


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """What the rest of dlrhub needs to know about one dialect."""

    dialect: models.Dialect
    #: Renders an event on one of its messages into callback requests.
    renderer: rendering.Renderer
    #: How its callbacks are retried (before the settings replace the schedule).
    retry: retry.RetryPolicy
    #: How the ids of messages accepted at its doors look.
    id_shape: ids.IdShape
    #: Its front doors: modules of `dlrhub.api`.
    doors: tuple[str, ...]
    #: The `settings.Settings` fields that belong to it alone.
    settings: tuple[str, ...] = ()
    #: True when its sends name a journey the customer does not hold (eSMS's `OrderId`): the channel worker
    #: then asks Zalo for the journey token itself.
    own_journeys: bool = False


ENTRIES: Mapping[models.Dialect, Entry] = {
    e.dialect: e
    for e in (
        Entry(
            models.Dialect.ESMS,
            renderer=esms_callback.render,
            retry=retry.ESMS,
            id_shape=ids.SMSID,
            doors=("esms",),
            settings=(
                "esms_retry_schedule",
                "esms_getcallback_tps",
                "esms_zns_status_tps",
                "esms_zalo_status_tps",
                "esms_send_status_tps",
                "esms_balance_tps",
            ),
            own_journeys=True,
        ),
        Entry(
            models.Dialect.NXCLOUD,
            renderer=nxcloud_dr.render,
            retry=retry.STANDARD_WEBHOOKS,
            id_shape=ids.ZALOMID,
            doors=("nxcloud",),
        ),
        Entry(
            models.Dialect.NATIVE,
            renderer=native_render.render,
            retry=retry.STANDARD_WEBHOOKS,
            id_shape=ids.NATIVE,
            doors=("native",),
        ),
    )
}

#: The dialect of events that concern a journey and no message (a journey's time-out): NXCloud's, the only
#: dialect whose customers hold journeys of their own.
JOURNEY_DIALECT = models.Dialect.NXCLOUD

#: The setting that holds each retry policy's schedule, by policy name.
SCHEDULE_SETTINGS: Mapping[str, str] = {
    retry.ESMS.name: "esms_retry_schedule",
    retry.STANDARD_WEBHOOKS.name: "standard_retry_schedule",
}


def of(dialect: models.Dialect) -> Entry:
    """The entry of `dialect`."""
    return ENTRIES[dialect]


def dialect_of(message: models.Message | None) -> models.Dialect:
    """The dialect an event's callbacks are rendered in: its message's, else the journey dialect."""
    return message.dialect if message is not None else JOURNEY_DIALECT


def new_message_id(dialect: models.Dialect, created_at: dt.datetime) -> str:
    """A new public message id in `dialect`'s shape."""
    return ids.message_id(ENTRIES[dialect].id_shape, created_at)


def retry_policies(
    schedules: Mapping[str, Sequence[float]] | None = None,
) -> dict[models.Dialect, retry.RetryPolicy]:
    """Each dialect's retry policy, its delays replaced by the schedule in seconds given for its policy's name
    (see `retry.scheduled` and SCHEDULE_SETTINGS). Raises errors.ConfigError on a bad schedule."""
    given = schedules or {}
    made = {name: retry.scheduled(p, given[name]) for name, p in _policies().items() if name in given}
    return {d: made.get(e.retry.name, e.retry) for d, e in ENTRIES.items()}


def _policies() -> dict[str, retry.RetryPolicy]:
    return {e.retry.name: e.retry for e in ENTRIES.values()}
