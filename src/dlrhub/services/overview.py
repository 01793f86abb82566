"""The dashboard's overview: the last hour's traffic per minute, the delivery success rate, the backlog, endpoints
by state, Zalo sends by result and quota left per OA.

Everything is read from the store, never from this process's own counters: with `dlrhub api` and `dlrhub worker`
as separate processes, the one showing the page is not the one that sends. Each read is an indexed range over the
last hour or a few rows (docs/howto/dashboard-overview.md says what each number means).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import typing

from dlrhub import store
from dlrhub.core import models
from dlrhub.dialects.zalo import codes, quota
from dlrhub.services import hub as hub_

#: The charts' and the rates' window, in minutes (the last one is the minute under way).
WINDOW_MINUTES = 60
#: How long a snapshot is shown again instead of read anew (seconds): however many pages are open, a process reads
#: the store for the overview at most this often.
MAX_AGE_S = 4.0
#: Most OAs the quota table lists (those with the least quota left first).
MAX_OAS = 100
#: What a Zalo-channel message's code says, as the page words it (the codes are NXCloud's table, seed 000).
RESULTS = {
    None: "waiting to be sent",
    codes.CODE_SENT: "sent",
    codes.CODE_DELIVERED: "sent, then delivered",
    codes.CODE_SEND_ERROR: "refused by Zalo",
    codes.CODE_TIMEOUT: "no answer from Zalo",
    9000: "refused by dlrhub: malformed",
    9005: "refused by dlrhub: no usable OA",
}


class OverviewStore(store.Activity, store.Callbacks, store.Endpoints, store.Accounts, typing.Protocol):
    """What the overview reads."""


@dataclasses.dataclass(frozen=True, slots=True)
class Series:
    """A count per minute of the window, oldest first, starting at the UTC minute `start`."""

    start: dt.datetime
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)


@dataclasses.dataclass(frozen=True, slots=True)
class SuccessRate:
    """Callbacks that finished in the window: delivered (an attempt answered 2xx), gave up, or were cancelled."""

    delivered: int
    failed: int
    cancelled: int

    @property
    def finished(self) -> int:
        return self.delivered + self.failed + self.cancelled

    @property
    def rate(self) -> float | None:
        """delivered / finished, from 0 to 1; None when none finished."""
        return self.delivered / self.finished if self.finished else None


@dataclasses.dataclass(frozen=True, slots=True)
class OAQuota:
    """An OA's daily quota on Zalo's day, as dlrhub counts it: one unit per send it claimed."""

    oa_id: str
    account_id: str
    active: bool
    #: 0: no limit (the channel worker sends without counting against one).
    daily_quota: int
    used: int

    @property
    def left(self) -> int | None:
        """Units left today (never below 0); None when the OA has no limit."""
        return max(0, self.daily_quota - self.used) if self.daily_quota > 0 else None


@dataclasses.dataclass(frozen=True, slots=True)
class Overview:
    """The overview as of `at`."""

    at: dt.datetime
    accepted: Series
    delivered: Series
    success: SuccessRate
    #: Pending callbacks, in all and by dialect.
    backlog: int
    backlog_by_dialect: dict[models.Dialect, int]
    #: The earliest due time of a pending callback (None: none pending); its age is 0 while it is not yet due.
    oldest_due_at: dt.datetime | None
    oldest_due_age_s: float
    endpoints: dict[models.EndpointState, int]
    zalo: list[store.ZaloResult]
    #: Zalo's quota day (Vietnam time) the quota counts are of.
    quota_day: str
    quotas: list[OAQuota]
    #: How many OAs there are (the table lists at most MAX_OAS of them).
    oa_count: int


def result_label(result: store.ZaloResult) -> str:
    """What a group of Zalo-channel messages came to, in words (with Zalo's error and its meaning, if refused)."""
    label = RESULTS.get(result.code, f"code {result.code}")
    if result.zalo_error is not None:
        label += f": {result.zalo_error} {codes.error_message(result.zalo_error)}"
    return label


def window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """`[since, until)` of the window at `now`: WINDOW_MINUTES whole UTC minutes, the last the one under way."""
    current = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    return current - dt.timedelta(minutes=WINDOW_MINUTES - 1), current + dt.timedelta(minutes=1)


def series(per_minute: dict[dt.datetime, int], since: dt.datetime) -> Series:
    """The counts of `per_minute` laid on the window's minutes from `since` (0 where a minute has none)."""
    minutes = (since + dt.timedelta(minutes=i) for i in range(WINDOW_MINUTES))
    return Series(since, tuple(per_minute.get(m, 0) for m in minutes))


def quotas(oas: list[models.OA], used: dict[str, int]) -> list[OAQuota]:
    """The OAs' quota rows, those with the least left first (no limit last), at most MAX_OAS."""
    found = [OAQuota(oa.oa_id, oa.account_id, oa.active, oa.daily_quota, used.get(oa.oa_id, 0)) for oa in oas]
    found.sort(key=lambda q: (q.left is None, q.left or 0, q.oa_id))
    return found[:MAX_OAS]


async def snapshot(hub: hub_.Hub) -> Overview:
    """Read the overview from the store, as of the hub's clock."""
    db: OverviewStore = hub.store
    now = hub.clock()
    since, until = window(now)
    day, _ = quota.quota_day(now)
    accepted, delivered, badly, zalo = await asyncio.gather(
        db.accepted_per_minute(since, until),
        db.delivered_per_minute(since, until),
        db.finished_badly(since, until),
        db.zalo_results(since, until),
    )
    counts, oldest, endpoints, oas, used = await asyncio.gather(
        db.callback_counts(),
        db.oldest_pending_due_at(),
        db.count_endpoints(),
        db.list_oas(),
        db.quota_used(day),
    )
    by_dialect = dict.fromkeys(models.Dialect, 0)
    for (dialect, state), n in counts.items():
        if state is models.CallbackState.PENDING:
            by_dialect[dialect] += n
    delivered_series = series(delivered, since)
    return Overview(
        at=now,
        accepted=series(accepted, since),
        delivered=delivered_series,
        success=SuccessRate(
            delivered_series.total, badly[models.CallbackState.FAILED], badly[models.CallbackState.CANCELLED]
        ),
        backlog=sum(by_dialect.values()),
        backlog_by_dialect=by_dialect,
        oldest_due_at=oldest,
        oldest_due_age_s=0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()),
        endpoints=endpoints,
        zalo=zalo,
        quota_day=day,
        quotas=quotas(oas, used),
        oa_count=len(oas),
    )


class Cache:
    """The last snapshot, shown again while it is under `max_age_s` old (by the hub's clock): a process reads the
    store once per `max_age_s` at most, however many pages poll it."""

    def __init__(self, max_age_s: float = MAX_AGE_S) -> None:
        self.max_age_s = max_age_s
        self._last: Overview | None = None
        self._lock = asyncio.Lock()

    async def get(self, hub: hub_.Hub) -> Overview:
        """The cached snapshot, or a new one (pages asking meanwhile wait for it rather than read again)."""
        async with self._lock:
            last = self._last
            if last is None or not 0 <= (hub.clock() - last.at).total_seconds() < self.max_age_s:
                last = self._last = await snapshot(hub)
            return last
