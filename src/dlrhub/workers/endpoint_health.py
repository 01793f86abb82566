"""The dispatcher's endpoint judgements: the breaker applied to each attempt by its account's endpoint (health key),
and the changes that still have to be stored (health rows, and the callbacks a pause defers or a disable cancels).

Every decision here is keyed by `models.Callback.health_key` (`urls.health_key`: account, origin and path), never
by the destination host, so one account's failures pause, disable or cancel only that account's endpoint.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing

from dlrhub import store
from dlrhub.core import breaker, models, urls
from dlrhub.workers import dispatch_cache as cache_
from dlrhub.workers import dispatch_log


def keyed(cb: models.Callback) -> models.Callback:
    """`cb` with its health key: one written without (by a process older than migration 0021, during an upgrade)
    gets the key derived from its account and URL, so it is judged as its own account's endpoint all the same."""
    if cb.health_key:
        return cb
    return dataclasses.replace(cb, health_key=urls.health_key(cb.account_id, cb.request.url))


class HealthStore(store.Outbox, store.Endpoints, typing.Protocol):
    """What storing judgements writes: endpoint health and their callbacks."""


@dataclasses.dataclass(frozen=True, slots=True)
class Changes:
    """Judgements not yet stored, by health key."""

    dirty: dict[str, models.Endpoint]
    #: Keys just disabled: their pending callbacks are cancelled.
    disable: frozenset[str]
    #: Keys just paused, and until when: their pending callbacks are deferred.
    pause: dict[str, dt.datetime]

    def __bool__(self) -> bool:
        return bool(self.dirty or self.disable or self.pause)


class Judgements:
    """The health changes one dispatcher made and has not stored yet."""

    def __init__(self, caches: cache_.DispatchCache) -> None:
        self.caches = caches
        self.dirty: dict[str, models.Endpoint] = {}
        self._disable: set[str] = set()
        self._pause: dict[str, dt.datetime] = {}
        #: The keys of the changes taken and not yet stored (`take` until `stored` or `give_back`).
        self._storing: frozenset[str] = frozenset()
        #: The store's rows whose pause kept the last write out (`write`), taken as this process's view at `stored`.
        self._kept: list[models.Endpoint] = []

    @property
    def unstored(self) -> frozenset[str]:
        """The keys whose stored health is older than this dispatcher's: changed and not yet stored, or being
        stored now. Their cached health must not be replaced by a read of the store meanwhile (an endpoint
        healed here but re-read as paused is never healed in the store: see `store.Endpoints.put_endpoints`)."""
        return self._storing.union(self.dirty)

    async def health(self, keys: set[str], now: dt.datetime) -> dict[str, models.Endpoint]:
        """The health of `keys` as this dispatcher knows it (`DispatchCache.health`): a stale key is read from
        the store again, unless a judgement of it here is not stored yet."""
        return await self.caches.health(keys, now, self.unstored)

    def judge(
        self,
        cb: models.Callback,
        attempt: models.Attempt,
        now: dt.datetime,
        config: breaker.BreakerConfig,
        *,
        gone_disables: bool,
    ) -> tuple[models.Endpoint, models.Endpoint]:
        """`cb`'s endpoint health before `attempt` and after it (the same object when unchanged)."""
        key = cb.health_key
        before = self.caches.endpoint(key, now)
        after = breaker.record(
            before, attempt.outcome, attempt.status_code, now, config, gone_disables=gone_disables
        )
        if after is before:
            return before, after
        self.caches.put(after)
        self.dirty[key] = after
        if after.state is models.EndpointState.DISABLED and before.state is not models.EndpointState.DISABLED:
            dispatch_log.endpoint_disabled(key, attempt.outcome, cb.account_id)
            self._disable.add(key)
        elif after.state is models.EndpointState.PAUSED and after.paused_until != before.paused_until:
            assert after.paused_until is not None
            dispatch_log.endpoint_paused(after, after.paused_until, cb.account_id)
            self._pause[key] = after.paused_until
        return before, after

    def take(self) -> Changes:
        """The changes to store now (forgotten here until `give_back`; their keys stay `unstored` until `stored`)."""
        taken = Changes(self.dirty, frozenset(self._disable), self._pause)
        self.dirty, self._disable, self._pause = {}, set(), {}
        self._storing = frozenset(taken.dirty)
        return taken

    async def write(self, db: HealthStore, changes: Changes, now: dt.datetime) -> None:
        """Store `changes` (the module's `write`). A row the store kept instead, a running pause this process had
        not seen (another dispatcher's or an operator's), becomes its view at `stored`: it then holds that
        endpoint's callbacks to the pause's end, as the others do, rather than send on until its next read."""
        self._kept = await write(db, changes, now)

    def stored(self) -> None:
        """The changes last taken are stored: the store's rows of their keys are as new as this process's."""
        self._storing = frozenset()
        for row in self._kept:
            if row.endpoint not in self.dirty:  # judged again since: its own write is answered the same way
                self.caches.seen(row)
        self._kept = []

    def give_back(self, changes: Changes) -> None:
        """Storing `changes` failed: keep them for the next flush (later judgements win)."""
        self._storing = frozenset()
        self._kept = []
        self.dirty = {**changes.dirty, **self.dirty}
        self._disable |= changes.disable
        self._pause = {**changes.pause, **self._pause}


async def write(db: HealthStore, changes: Changes, now: dt.datetime) -> list[models.Endpoint]:
    """Store `changes`: the health rows, then each disabled key's callbacks cancelled and each paused key's
    deferred (its whole backlog at once, rather than claiming and giving it back a batch at a time). Returns the
    stored rows a running pause kept as they were (`store.Endpoints.put_endpoints`)."""
    kept = await db.put_endpoints(list(changes.dirty.values())) if changes.dirty else []
    for key in sorted(changes.disable):
        await db.cancel_endpoint_callbacks(key, now)
    for key, until in changes.pause.items():
        await db.defer_endpoint_callbacks(key, until, now)
    return kept
