"""The dispatcher's caches: endpoints' health (by health key) and accounts' signing secrets, each trusted a while.

An entry in use is read again ahead of time, in the background, once past half its age: one seen steadily never
goes stale, so the claim that meets it never waits for a read (on SQLite a read crosses to the reader's thread and
back, several turns of an event loop busy sending a backlog; docs/benchmarks.md "Fair claims"). The promise is
unchanged: nothing older than its age is used.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import typing
from collections.abc import Container

from dlrhub import store
from dlrhub.core import breaker, errors, ids, models
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import read_ahead

log = logging.getLogger("dlrhub.dispatch")


class CacheStore(store.Endpoints, store.Accounts, typing.Protocol):
    """What the caches read: endpoint health and accounts."""


class DispatchCache:
    """Health by health key and signing secrets by account, re-read once older than the configured ages."""

    def __init__(self, db: CacheStore, config: config_.DispatchConfig) -> None:
        self.store = db
        self.config = config
        self._endpoints: dict[str, tuple[models.Endpoint, float]] = {}
        #: How many judgements `put` has taken, and the count at each key's last one: a store read that was on
        #: its way while a key was judged predates that judgement and must not replace it.
        self._puts = 0
        self._put_at: dict[str, int] = {}
        self._secrets: dict[str, tuple[tuple[str, ...], float]] = {}
        self._ahead = read_ahead.ReadsAhead()

    def endpoint(self, endpoint: str, now: dt.datetime) -> models.Endpoint:
        """The cached health of `endpoint` (fresh when unknown), however old."""
        cached = self._endpoints.get(endpoint)
        return cached[0] if cached is not None else breaker.fresh(endpoint, now)

    def put(self, endpoint: models.Endpoint) -> None:
        """This process changed `endpoint`'s (a health key's) health. The entry keeps the age of its last read
        from the store, so an endpoint this process keeps judging is still re-read every `endpoint_cache_s`: that is how an
        operator's pause, resume or reset reaches a running dispatcher."""
        self._set(endpoint, self._endpoints.get(endpoint.endpoint, (None, -1.0))[1])

    def seen(self, endpoint: models.Endpoint) -> None:
        """The store's health of `endpoint`, just read back: it kept a pause this process had not seen. A read on
        its way meanwhile predates it, and does not replace it."""
        self._set(endpoint, time.monotonic())

    def _set(self, endpoint: models.Endpoint, read_at: float) -> None:
        self._endpoints[endpoint.endpoint] = (endpoint, read_at)
        self._puts += 1
        self._put_at[endpoint.endpoint] = self._puts

    def _stale(self, endpoint: str, fresh_after: float, now: dt.datetime) -> bool:
        cached = self._endpoints.get(endpoint)
        if cached is None or cached[1] < fresh_after:
            return True
        # Callbacks claimed for a paused endpoint would be held back to its pause's end: read it again first,
        # in case an operator resumed it (one read by key, only while it is paused).
        return breaker.admission(cached[0], now) is breaker.Admission.WAIT

    async def health(
        self, endpoints: set[str], now: dt.datetime, dirty: Container[str]
    ) -> dict[str, models.Endpoint]:
        """The health of `endpoints`, re-reading stale ones (and paused ones) unless `dirty` (changed here, not
        yet stored: the stored row is older than what this process judged).

        A key judged here while its read was on its way keeps that judgement: the row read may predate it."""
        fresh_after = time.monotonic() - self.config.endpoint_cache_s
        stale = [e for e in endpoints if e not in dirty and self._stale(e, fresh_after, now)]
        if stale:
            await self._read_endpoints(stale, now)
        ahead_after = time.monotonic() - self.config.endpoint_cache_s / 2
        ahead = [
            e for e in endpoints if e not in dirty and self._endpoints.get(e, (None, 0.0))[1] < ahead_after
        ]
        if ahead:
            self._ahead.start("health", lambda: self._read_endpoints(ahead, now))
        return {e: self.endpoint(e, now) for e in endpoints}

    async def _read_endpoints(self, keys: list[str], now: dt.datetime) -> None:
        puts = self._puts
        stored = await self.store.get_endpoints(keys)
        stamp = time.monotonic()
        for e in keys:
            if self._put_at.get(e, 0) > puts:
                continue  # judged while the read was on its way: the read predates the judgement
            self._endpoints[e] = (stored.get(e) or self.endpoint(e, now), stamp)
        if len(self._endpoints) > 50_000:
            fresh_after = stamp - self.config.endpoint_cache_s
            self._endpoints = {e: v for e, v in self._endpoints.items() if v[1] >= fresh_after}
            self._put_at = {e: n for e, n in self._put_at.items() if e in self._endpoints}

    def close(self) -> None:
        """Cancel the reads ahead in flight (shutting down)."""
        self._ahead.close()

    async def secrets(self, account_ids: set[str]) -> dict[str, tuple[str, ...]]:
        """Each account's signing secrets (none for an unknown account)."""
        fresh_after = time.monotonic() - self.config.account_cache_s
        stale = [a for a in account_ids if self._secrets.get(a, ((), -1.0))[1] < fresh_after]
        if stale:
            await self._read_secrets(stale)
        ahead_after = time.monotonic() - self.config.account_cache_s / 2
        ahead = [a for a in account_ids if self._secrets[a][1] < ahead_after]
        if ahead:
            self._ahead.start("secrets", lambda: self._read_secrets(ahead))
        return {a: self._secrets[a][0] for a in account_ids}

    async def _read_secrets(self, account_ids: list[str]) -> None:
        for account_id in account_ids:
            try:
                secrets = (await self.store.get_account(account_id)).signing_secrets
            except errors.UnknownAccount:
                # The operator's alerts have no stored account: `alert_secret` signs them.
                secrets = self.config.operator_secrets if account_id == ids.OPERATOR_ACCOUNT else ()
            self._secrets[account_id] = (tuple(secrets), time.monotonic())
        if len(self._secrets) > 50_000:
            fresh_after = time.monotonic() - self.config.account_cache_s
            self._secrets = {a: v for a, v in self._secrets.items() if v[1] >= fresh_after}
